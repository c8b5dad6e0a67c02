"""NumPy .npz archives of samples (and labels), read without unpickling anything."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from gankit.data.base import TensorData
from gankit.data.files.common import check_split, existing_file, one_line, os_message, pixels_to_unit
from gankit.errors import GankitError

# Keys looked up in an .npz, in order: (samples, labels) per split. ``samples`` is what
# ``gankit sample ... FILE.npz`` writes; ``x_train``/``y_train`` is the Keras mnist.npz layout.
NPZ_KEYS = {
    "train": (("x", "images", "x_train", "train_x", "samples"), ("y", "labels", "y_train", "train_y")),
    "test": (("x_test", "test_x"), ("y_test", "test_y")),
}
FLOAT_RANGE_SLACK = 1e-6  # float images may stray this far outside [-1, 1] (rounding), then are clipped


def _npz_member(file: Path, archive: Any, key: str) -> np.ndarray:
    try:
        return archive[key]
    except Exception as err:  # noqa: BLE001 - zipfile and numpy raise many types on a corrupt archive
        raise GankitError(f"{file}: cannot read array {key!r} ({one_line(err)})") from None


def _npz_samples(file: Path, key: str, x: np.ndarray) -> torch.Tensor:
    """An .npz array as float32 samples: uint8 scaled to [-1, 1], images made NCHW."""
    where = f"{file}: array {key!r}"
    if x.dtype != np.uint8 and x.dtype.kind != "f":
        raise GankitError(f"{where} has dtype {x.dtype}; expected uint8 pixels (0..255) or floats")
    if x.ndim == 0:
        raise GankitError(f"{where} is a single number; expected one sample per row")
    if x.size == 0:
        raise GankitError(f"{where} is empty (shape {x.shape})")
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        raise GankitError(f"{where} contains NaN or Inf values")
    if x.ndim == 1:  # N scalars: 1D toy data
        x = x[:, None]
    elif x.ndim == 3:  # (N, H, W) grey images
        x = x[:, None]
    elif x.ndim == 4:
        if x.shape[1] in (1, 3) and x.shape[3] not in (1, 3):
            pass  # already NCHW
        elif x.shape[3] in (1, 3):
            x = x.transpose(0, 3, 1, 2)  # NHWC -> NCHW
        else:
            raise GankitError(
                f"{where} has shape {x.shape}: expected (N, C, H, W) or (N, H, W, C) with C 1 or 3"
            )
    elif x.ndim > 4:
        raise GankitError(f"{where} has {x.ndim} dimensions; expected (N, d), (N, H, W) or 4D images")
    if x.dtype == np.uint8:
        return pixels_to_unit(np.ascontiguousarray(x))
    if x.ndim == 4:
        lo, hi = float(x.min()), float(x.max())
        if lo < -1 - FLOAT_RANGE_SLACK or hi > 1 + FLOAT_RANGE_SLACK:
            raise GankitError(
                f"{where} holds values in [{lo:.6g}, {hi:.6g}]; float images must lie in [-1, 1] "
                "(or save uint8 pixels 0..255)"
            )
        x = np.clip(x, -1.0, 1.0)
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))  # vectors: taken as they are


def npz(path: str, split: str = "train") -> TensorData:
    """Samples (and optionally labels) from a NumPy .npz archive.

    Samples are the array ``x`` (or ``images``, ``x_train``, ``train_x``, ``samples``), labels
    the array ``y`` (or ``labels``, ``y_train``, ``train_y``); the test split reads ``x_test``
    (or ``test_x``) and ``y_test`` (or ``test_y``). Shapes: (N, H, W) and (N, H, W, C) /
    (N, C, H, W) with C in {1, 3} are images, made NCHW; (N, d) and (N,) are vectors. uint8
    values are pixels, scaled to [-1, 1]; float images must already lie in [-1, 1]; float
    vectors (toy data) are taken as they are. Nothing is unpickled (``allow_pickle=False``).

    Args:
        path: the .npz file.
        split: ``"train"`` or ``"test"`` (only if the file has ``x_test`` or ``test_x``).

    Returns:
        TensorData with x of shape (N, C, H, W) or (N, d) float32, y of shape (N,) int64 or
        None; num_classes is one more than the largest label in the file (all splits).

    Raises:
        GankitError: a missing or unreadable file, missing arrays, empty arrays, wrong dtypes
            or shapes, NaN or Inf, float images outside [-1, 1], bad labels, no test split.
    """
    check_split("npz", split, tuple(NPZ_KEYS))
    file = existing_file(path)
    try:
        stream = open(file, "rb")
    except OSError as err:
        raise GankitError(os_message(file, err)) from None
    # np.load is given the open file, not the path: on a corrupt archive it would leak its own.
    with stream:
        signature = stream.read(6)
        if signature.startswith(b"\x93NUMPY"):
            raise GankitError(f"{file}: is a single .npy array, not an .npz archive (save with np.savez(path, x=...))")
        if not signature.startswith(b"PK"):
            raise GankitError(f"{file}: not an .npz archive (no zip signature)")
        stream.seek(0)
        try:
            archive = np.load(stream, allow_pickle=False)
        except Exception as err:  # noqa: BLE001 - zipfile and numpy raise many types on a corrupt archive
            raise GankitError(f"{file}: not a readable .npz archive ({one_line(err)})") from None
        with archive:
            keys = set(archive.files)
            listing = ", ".join(sorted(keys)) or "none"
            x_keys, y_keys = NPZ_KEYS[split]
            x_key = next((k for k in x_keys if k in keys), None)
            if x_key is None:
                if split == "test":
                    raise GankitError(f"{file}: no test split (arrays: {listing}; expected x_test or test_x)")
                raise GankitError(f"{file}: no samples (arrays: {listing}; expected {' or '.join(x_keys)})")
            x = _npz_samples(file, x_key, _npz_member(file, archive, x_key))
            y_key = next((k for k in y_keys if k in keys), None)
            if y_key is None:
                return TensorData(x, None, name=f"npz/{split}")
            label_keys = sorted(keys & set(NPZ_KEYS["train"][1] + NPZ_KEYS["test"][1]))
            all_labels = {k: _npz_member(file, archive, k) for k in label_keys}
    for key, labels in all_labels.items():
        if labels.dtype.kind not in "iu" or labels.ndim != 1:
            raise GankitError(
                f"{file}: labels {key!r} must be a 1D integer array, found {labels.dtype} of shape {labels.shape}"
            )
        if labels.size and labels.min() < 0:
            raise GankitError(f"{file}: labels {key!r} hold a negative value ({int(labels.min())})")
    y = all_labels[y_key]
    if len(y) != len(x):
        raise GankitError(f"{file}: {len(x)} samples in {x_key!r} but {len(y)} labels in {y_key!r}")
    num_classes = 1 + max(int(labels.max()) for labels in all_labels.values() if labels.size)
    return TensorData(x, torch.from_numpy(y.astype(np.int64)), num_classes=num_classes, name=f"npz/{split}")

