"""Real colour photographs, offline: random crops of the two photos scikit-learn ships.

``sklearn.datasets.load_sample_images()`` holds ``china.jpg`` (a temple) and ``flower.jpg``
(a flower), 640x427 RGB JPEGs inside the scikit-learn wheel, so nothing is downloaded.
``write_photo_crops`` cuts seeded random squares out of them (side uniform in
[``min_crop``, ``max_crop``] px, position uniform, a horizontal flip with probability 1/2),
resizes each to ``size`` x ``size`` with Pillow's Lanczos filter and writes them as PNG files
into ``OUT/china/`` and ``OUT/flower/``: a small folder of real photographs in two classes for
``gankit prep``, the tests and a CPU demonstration of the whole path. The same seed writes the
same files, byte for byte.

From a shell::

    python -m gankit.photos OUT [--num 200] [--size 64] [--seed 0]
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from gankit.errors import GankitError

PHOTOS = ("china.jpg", "flower.jpg")


def sample_photos() -> dict[str, np.ndarray]:
    """name (without .jpg) -> (H, W, 3) uint8, the photographs inside scikit-learn's wheel."""
    from sklearn.datasets import load_sample_image

    return {name.removesuffix(".jpg"): load_sample_image(name) for name in PHOTOS}


def write_photo_crops(out: str | os.PathLike, num: int = 200, size: int = 64, seed: int = 0,
                      min_crop: int = 96, max_crop: int = 256) -> list[Path]:
    """Write ``num`` crops of each photo as ``OUT/<photo>/<index>.png``; returns the files.

    Args:
        out: the folder to fill (created; existing files of the same names are replaced).
        num: crops per photo.
        size: the side of each written image.
        seed: seeds the crops' sides, positions and flips (numpy's PCG64).
        min_crop, max_crop: the range of the crop's side in the photo's pixels (<= 427).
    """
    from PIL import Image

    if num < 1 or size < 4:
        raise GankitError(f"photo crops: need num >= 1 and size >= 4, got {num} and {size}")
    if not 1 <= min_crop <= max_crop <= 427:
        raise GankitError(f"photo crops: need 1 <= min_crop <= max_crop <= 427, got {min_crop}, {max_crop}")
    rng = np.random.default_rng(seed)
    written = []
    for name, photo in sample_photos().items():
        folder = Path(out) / name
        folder.mkdir(parents=True, exist_ok=True)
        h, w, _ = photo.shape
        for i in range(num):
            side = int(rng.integers(min_crop, max_crop + 1))
            top, left = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
            crop = Image.fromarray(photo[top : top + side, left : left + side])
            if rng.random() < 0.5:
                crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            path = folder / f"{i:05d}.png"
            crop.resize((size, size), Image.Resampling.LANCZOS).save(path)
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m gankit.photos",
                                     description="Random crops of scikit-learn's two sample photos, as PNG files.")
    parser.add_argument("out", metavar="OUT", help="folder to write OUT/china/*.png and OUT/flower/*.png into")
    parser.add_argument("--num", type=int, default=200, help="crops per photo (default 200)")
    parser.add_argument("--size", type=int, default=64, help="side of each image in pixels (default 64)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        files = write_photo_crops(args.out, args.num, args.size, args.seed)
    except GankitError as exc:
        import sys

        print(f"gankit.photos: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(files)} crops of {', '.join(PHOTOS)} to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
