"""MNIST-style IDX files (LeCun et al., http://yann.lecun.com/exdb/mnist/): MNIST and Fashion-MNIST.

A big-endian header, magic ``0x00000803`` (unsigned bytes, 3 dimensions) for images and
``0x00000801`` for labels, one int32 per dimension, then the raw bytes. Plain or gzip-compressed.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch

from gankit.data.base import TensorData
from gankit.data.files.common import (
    check_labels, check_split, existing_folder, is_file, one_line, os_message, pixels_to_unit,
)
from gankit.errors import GankitError

IDX_IMAGES_MAGIC = 0x00000803  # type 0x08 (unsigned byte), 3 dimensions (N, rows, columns)
IDX_LABELS_MAGIC = 0x00000801  # type 0x08 (unsigned byte), 1 dimension (N,)
IDX_FILES = {"train": ("train-images", "train-labels"), "test": ("t10k-images", "t10k-labels")}
# The 2014 paper's protocol (goodfeli/adversarial, mnist.yaml): train on the first 50,000 training
# images, choose the Parzen window on the last 10,000; these splits slice the train files.
IDX_VALID_START = 50_000
IDX_PAPER_SPLITS = ("train-minus-valid", "valid")
# Sub-folders also searched for IDX files: torchvision's download layout, so existing copies work.
IDX_SUBFOLDERS = {"mnist": ("", "raw", "MNIST/raw"), "fashion-mnist": ("", "raw", "FashionMNIST/raw")}
_READ_CHUNK = 1 << 20


def _read_at_most(stream: BinaryIO, n: int) -> bytes:
    """Up to n bytes, read in chunks so a header that lies about the size allocates nothing."""
    chunks, got = [], 0
    while got < n:
        chunk = stream.read(min(n - got, _READ_CHUNK))
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _read_idx(file: Path, magic: int) -> np.ndarray:
    """One IDX file (plain or gzip, told apart by content) as a uint8 array of the header's shape."""
    kind = "image" if magic == IDX_IMAGES_MAGIC else "label"
    ndim = magic & 0xFF
    try:
        with open(file, "rb") as raw:
            is_gzip = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            with gzip.GzipFile(fileobj=raw) if is_gzip else raw as stream:
                header = _read_at_most(stream, 4 + 4 * ndim)
                if len(header) < 4:
                    raise GankitError(f"{file}: {len(header)} bytes is too short for an IDX {kind} file")
                (found,) = struct.unpack(">I", header[:4])
                if found != magic:
                    raise GankitError(
                        f"{file}: wrong magic number 0x{found:08x} "
                        f"(expected 0x{magic:08x} for an IDX {kind} file)"
                    )
                if len(header) < 4 + 4 * ndim:
                    raise GankitError(f"{file}: truncated IDX header ({len(header)} bytes)")
                dims = struct.unpack(f">{ndim}I", header[4:])
                # The header's size is checked against the bytes really there before anything
                # of that size is allocated: a corrupt count must fail fast, not exhaust memory.
                declared = math.prod(dims)  # Python ints: three 32-bit dimensions can overflow int64
                shape = "x".join(map(str, dims[1:]))
                what = f"{dims[0]} {kind}s" + (f" of {shape}" if shape else "")
                if not is_gzip:
                    available = os.fstat(raw.fileno()).st_size - len(header)
                    if available < declared:
                        raise GankitError(
                            f"{file}: truncated: the header declares {what} ({declared} bytes) "
                            f"but the file holds {available}"
                        )
                data = _read_at_most(stream, declared)
                if len(data) < declared:
                    raise GankitError(
                        f"{file}: truncated: the header declares {what} ({declared} bytes) "
                        f"but the file holds {len(data)}"
                    )
                # Reading on to the end also makes gzip verify its CRC and length trailer.
                extra = len(_read_at_most(stream, _READ_CHUNK))
                if extra:
                    raise GankitError(f"{file}: more bytes than the {what} its header declares")
    except (OSError, EOFError, zlib.error) as err:
        if isinstance(err, OSError) and not isinstance(err, gzip.BadGzipFile) and err.errno is not None:
            raise GankitError(os_message(file, err)) from None
        raise GankitError(f"{file}: corrupt or truncated gzip data ({one_line(err)})") from None
    if declared == 0:
        raise GankitError(f"{file}: the header declares {what}: the file holds no data")
    return np.frombuffer(data, dtype=np.uint8).reshape(dims)


def _find_idx(folder: Path, name: str, stem: str, suffix: str) -> Path:
    """``stem-suffix`` or ``stem.suffix``, optionally ``.gz``, in the folder or its usual sub-folders."""
    for sub in IDX_SUBFOLDERS.get(name, ("",)):
        for base in (f"{stem}-{suffix}", f"{stem}.{suffix}"):
            for gz in ("", ".gz"):
                candidate = folder / sub / (base + gz)
                if is_file(candidate):
                    return candidate
    raise GankitError(
        f"missing file: {folder / f'{stem}-{suffix}'}(.gz) ({name} expects train-images-idx3-ubyte, "
        "train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, optionally .gz)"
    )


def idx(path: str, split: str = "train", name: str = "mnist") -> TensorData:
    """MNIST or Fashion-MNIST from the four IDX files in a folder.

    The folder holds ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each optionally gzipped
    (``.gz``); the dotted names (``train-images.idx3-ubyte``) and torchvision's
    ``MNIST/raw`` / ``FashionMNIST/raw`` sub-folders are found too.

    Args:
        path: the folder.
        split: ``"train"`` (60,000 images for MNIST), ``"test"`` (the 10,000 ``t10k`` ones),
            or the 2014 paper's ``"train-minus-valid"`` (the first 50,000 training images) and
            ``"valid"`` (the other 10,000).
        name: ``"mnist"`` or ``"fashion-mnist"``, for messages and the data set's name.

    Returns:
        TensorData with x of shape (N, 1, rows, columns) (28x28 for MNIST) float32 in
        [-1, 1], y of shape (N,) int64 in 0..9, num_classes 10.

    Raises:
        GankitError: a missing folder or file, a wrong magic number, a truncated or corrupt
            file, a count that differs between images and labels, a label outside 0..9.
    """
    check_split(name, split, (*IDX_FILES, *IDX_PAPER_SPLITS))
    folder = existing_folder(path, f"{name} expects the folder that holds its IDX files")
    rows = {"train-minus-valid": slice(0, IDX_VALID_START), "valid": slice(IDX_VALID_START, None)}.get(split)
    images_stem, labels_stem = IDX_FILES["train" if rows else split]
    images_file = _find_idx(folder, name, images_stem, "idx3-ubyte")
    labels_file = _find_idx(folder, name, labels_stem, "idx1-ubyte")
    images = _read_idx(images_file, IDX_IMAGES_MAGIC)
    labels = _read_idx(labels_file, IDX_LABELS_MAGIC).astype(np.int64)
    if len(labels) != len(images):
        raise GankitError(f"{labels_file}: {len(labels)} labels but {images_file} holds {len(images)} images")
    check_labels(str(labels_file), labels, len(images), 10)
    total = len(images)
    if rows:
        images, labels = images[rows], labels[rows]
    if len(images) == 0:
        raise GankitError(f"{images_file}: holds {total:,} images, too few for the {split!r} split "
                          f"(the paper's validation images start at {IDX_VALID_START:,})")
    x = pixels_to_unit(images[:, None])
    return TensorData(x, torch.from_numpy(labels), num_classes=10, name=f"{name}/{split}")
