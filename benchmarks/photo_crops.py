"""Random square crops of the two photographs scikit-learn ships (china.jpg, flower.jpg) as an .npz.

A small data set of real colour photographs that needs no download, for the images64 preset
on a CPU (docs/BENCHMARKS.md, "images64 on photo crops"):

    python benchmarks/photo_crops.py --out photos64.npz --size 64 --num 2048
    gankit train images64 --set data.path=photos64.npz ...

Each crop is taken from one of the photos scaled down by a factor drawn from [1, 3] (PIL's
Lanczos filter), at a random place, so the crops show the scenes at several scales. The
arrays ``x`` (N, size, size, 3) and ``x_test`` (N / 8, ...) are uint8; the two sets are drawn
independently from the same photos (so they overlap: a test split for the pixel-space
memorisation check, not an independent sample).
"""

from __future__ import annotations

import argparse

import numpy as np
from PIL import Image
from sklearn.datasets import load_sample_images


def crops(num: int, size: int, seed: int) -> np.ndarray:
    """``num`` random ``size`` x ``size`` RGB crops, uint8 (num, size, size, 3)."""
    rng = np.random.default_rng(seed)
    photos = [Image.fromarray(a) for a in load_sample_images().images]
    out = np.empty((num, size, size, 3), np.uint8)
    for i in range(num):
        photo = photos[rng.integers(len(photos))]
        scale = rng.uniform(1.0, 3.0)
        w, h = round(photo.width / scale), round(photo.height / scale)
        small = photo.resize((w, h), Image.LANCZOS)
        top, left = rng.integers(h - size + 1), rng.integers(w - size + 1)
        out[i] = np.asarray(small)[top : top + size, left : left + size]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--num", type=int, default=2048)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    np.savez(args.out, x=crops(args.num, args.size, args.seed), x_test=crops(args.num // 8, args.size, args.seed + 1))
    print(f"{args.out}: {args.num} training and {args.num // 8} test crops of {args.size}x{args.size}")


if __name__ == "__main__":
    main()
