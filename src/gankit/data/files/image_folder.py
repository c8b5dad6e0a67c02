"""Folders of image files (PNG, JPEG, ...), with class sub-folders or flat, read with Pillow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from gankit.data.base import TensorData
from gankit.data.files.common import existing_folder, one_line, os_message, pixels_to_unit, walk_files
from gankit.errors import GankitError

IMAGE_EXTENSIONS = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm", ".pnm"}
)
# Pillow modes whose pixels are one grey level; "I" and "I;16*" are read as 16-bit grey.
GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "F", "I;16", "I;16L", "I;16B", "I;16N"})


def _image_files(folder: Path) -> list[Path]:
    """Image files under ``folder`` (recursively, sorted, hidden entries skipped)."""
    return [file for file in walk_files(folder) if file.suffix.lower() in IMAGE_EXTENSIONS]


def _open_image(file: Path) -> Any:
    from PIL import Image

    try:
        return Image.open(file)
    except OSError as err:
        if err.errno is not None:
            raise GankitError(os_message(file, err)) from None
        raise GankitError(f"{file}: not a readable image ({one_line(err)})") from None
    except Exception as err:  # noqa: BLE001 - Pillow's format plugins raise many types on bad files
        raise GankitError(f"{file}: not a readable image ({one_line(err)})") from None


def _decode(file: Path, channels: int, image_size: int) -> np.ndarray:
    """One image as uint8 (channels, H, W): converted, and if image_size > 0 centre-cropped to
    a square and resized to image_size x image_size."""
    from PIL import Image

    try:
        with _open_image(file) as im:
            if im.mode == "I" or im.mode.startswith("I;16"):
                # Pillow's convert clips 16-bit grey to 255; scale 0..65535 -> 0..255 instead.
                grey = np.clip(np.asarray(im, dtype=np.float64) / 257.0, 0, 255)
                im = Image.fromarray(np.rint(grey).astype(np.uint8))
            im = im.convert("L" if channels == 1 else "RGB")
            if image_size:
                w, h = im.size
                side = min(w, h)
                left, top = (w - side) // 2, (h - side) // 2
                im = im.crop((left, top, left + side, top + side))
                if side != image_size:
                    im = im.resize((image_size, image_size), Image.Resampling.LANCZOS)
            pixels = np.asarray(im, dtype=np.uint8)
    except GankitError:
        raise
    except Exception as err:  # noqa: BLE001 - decoding a corrupt file raises many types in Pillow
        raise GankitError(f"{file}: not a readable image ({one_line(err)})") from None
    return pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)


def imagefolder(path: str, split: str = "train", image_size: int = 0, channels: int = 0) -> TensorData:
    """Images in class sub-folders (``path/cat/1.png``, ``path/dog/7.jpg``), or a flat folder.

    Each sub-folder is a class, numbered in sorted order of the names; images in deeper folders
    belong to their top sub-folder. A folder without sub-folders is one unlabelled set (y is
    None). Files whose extension is not an image's are skipped, as are hidden files and
    folders. Alpha channels are dropped; 16-bit grey images are scaled to 8 bits.

    Args:
        path: the folder.
        split: only ``"train"`` (all images): a folder has no test split.
        image_size: 0 keeps the native size (then all images must share it); S > 0
            centre-crops each image to a square and resizes it to S x S (Lanczos).
        channels: 1 (grey) or 3 (RGB) converts every image; 0 infers 1 if every image is
            grey, else 3.

    Returns:
        TensorData with x of shape (N, C, H, W) float32 in [-1, 1], and y of shape (N,)
        int64 with num_classes the number of sub-folders (or y None for a flat folder).

    Raises:
        GankitError: a missing or empty folder, an image that cannot be decoded, images of
            different sizes with image_size 0, images outside the class sub-folders, a class
            sub-folder without images, bad options.
    """
    if split != "train":
        raise GankitError(f"imagefolder: unknown split {split!r}; a folder of images has only 'train'")
    if isinstance(image_size, bool) or not isinstance(image_size, (int, np.integer)) or image_size < 0:
        raise GankitError(
            f"imagefolder: image_size must be an integer >= 0 (0 keeps the native size), got {image_size!r}"
        )
    if channels not in (0, 1, 3) or isinstance(channels, bool):
        raise GankitError(f"imagefolder: channels must be 0 (infer), 1 or 3, got {channels!r}")
    folder = existing_folder(path, "imagefolder expects a folder of class sub-folders of images")
    try:
        entries = sorted(e for e in folder.iterdir() if not e.name.startswith("."))
        classes = [e for e in entries if e.is_dir()]
    except OSError as err:
        raise GankitError(os_message(folder, err)) from None
    loose = [e for e in entries if e not in classes and e.suffix.lower() in IMAGE_EXTENSIONS]

    files: list[Path] = []
    labels: list[int] = []
    if classes:
        if loose:
            raise GankitError(
                f"{loose[0]}: image outside the class sub-folders of {folder}; move it into one (or remove it)"
            )
        for label, class_folder in enumerate(classes):
            in_class = _image_files(class_folder)
            if not in_class:
                raise GankitError(
                    f"{class_folder}: class folder holds no images ({', '.join(sorted(IMAGE_EXTENSIONS))})"
                )
            files += in_class
            labels += [label] * len(in_class)
    else:
        files = _image_files(folder)
    if not files:
        raise GankitError(f"{folder}: no images found ({', '.join(sorted(IMAGE_EXTENSIONS))})")

    # First pass reads only headers (size, mode): a size mismatch or an unreadable file is
    # reported before any decoding, and the output is allocated once.
    sizes, grey = [], True
    for file in files:
        with _open_image(file) as im:
            sizes.append(im.size)
            grey = grey and im.mode in GRAY_MODES
    if image_size == 0:
        for file, size in zip(files, sizes):
            if size != sizes[0]:
                raise GankitError(
                    f"images differ in size: {files[0]} is {sizes[0][0]}x{sizes[0][1]} but {file} is "
                    f"{size[0]}x{size[1]}; set image_size to crop and resize them"
                )
        width, height = sizes[0]
    else:
        width = height = image_size
    channels = channels or (1 if grey else 3)
    pixels = np.empty((len(files), channels, height, width), dtype=np.uint8)
    for i, file in enumerate(files):
        decoded = _decode(file, channels, image_size)
        if decoded.shape != pixels.shape[1:]:  # a header that lied about the size
            raise GankitError(
                f"{file}: decodes to {decoded.shape[2]}x{decoded.shape[1]}, its header says {sizes[i][0]}x{sizes[i][1]}"
            )
        pixels[i] = decoded
    y = torch.tensor(labels, dtype=torch.int64) if classes else None
    return TensorData(pixels_to_unit(pixels), y, num_classes=len(classes), name=f"imagefolder/{split}")
