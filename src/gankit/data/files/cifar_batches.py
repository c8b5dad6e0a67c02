"""CIFAR-10's python batches (Krizhevsky 2009, https://www.cs.toronto.edu/~kriz/cifar.html).

Pickled dicts with ``data`` (N, 3072) uint8, rows holding the 1024 red, 1024 green, then 1024
blue pixels of a 32x32 image in row-major order, and ``labels``, N ints in 0..9. Nothing in a
file is executed: the pickles go through an unpickler that resolves only the four numpy globals
an array needs.
"""

from __future__ import annotations

import io
import pickle
import pickletools
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gankit.data.base import TensorData
from gankit.data.files.common import (
    check_labels, check_split, existing_folder, is_file, one_line, os_message, pixels_to_unit,
)
from gankit.errors import GankitError

CIFAR10_FILES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}
CIFAR10_SUBFOLDER = "cifar-10-batches-py"  # what cifar-10-python.tar.gz extracts to


_NUMPY_FROMBUFFER = np.zeros(0, np.uint8).__reduce_ex__(5)[0]  # numpy's pickle-protocol-5 reader
_NUMPY_RECONSTRUCT = np.zeros(0).__reduce__()[0]  # numpy's _reconstruct (a builtin)


class _NdarrayType:
    """Stands for ``numpy.ndarray`` in a pickle: usable only as ``_reconstruct``'s argument.

    Handing out the real class would let a pickle call ``ndarray((10**9,), object)``, which
    fills gigabytes with None: a hang, from a few bytes of file.
    """


_NDARRAY = _NdarrayType()


def _reconstruct(subtype: Any, shape: Any, typecode: Any) -> np.ndarray:
    # numpy pickles an array as _reconstruct(ndarray, (0,), b"b") and then fills it from the
    # state (BUILD -> ndarray.__setstate__, which checks the data's length): accept only that.
    if subtype is not _NDARRAY or shape != (0,) or typecode not in (b"b", "b"):
        raise pickle.UnpicklingError("numpy _reconstruct called with unexpected arguments")
    return _NUMPY_RECONSTRUCT(np.ndarray, (0,), b"b")


def _frombuffer(buf: Any, dtype: Any, shape: Any, order: Any, *rest: Any) -> np.ndarray:
    # The array is a view of bytes the file really holds (protocol 5); a wrapper rather than
    # numpy's function, since a pickle may set attributes on the objects it gets (BUILD).
    return _NUMPY_FROMBUFFER(buf, dtype, shape, order, *rest)


# The only globals a pickled numpy array refers to, under the module names numpy 1.x
# (``numpy.core``, as in the CIFAR-10 files) and numpy 2.x (``numpy._core``) write.
_PICKLE_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): np.dtype,
}
_MEMO_PUTS = frozenset({"PUT", "BINPUT", "LONG_BINPUT"})


class _RefusedGlobal(pickle.UnpicklingError):
    """A pickle named a global that is not one of numpy's array constructors."""


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists, strings, numbers and numpy arrays; refuses every other global.

    A pickle can only run code through the globals it names (``find_class``, which is asked
    before anything is called), so refusing all but numpy's array constructors means a
    malicious file cannot execute anything.
    """

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _PICKLE_GLOBALS[(module, name)]
        except KeyError:
            raise _RefusedGlobal(f"{module}.{name}") from None

    def persistent_load(self, pid: Any) -> Any:
        raise _RefusedGlobal("a persistent id")


def _check_memo_indices(blob: bytes) -> None:
    """Refuse memo indices larger than the file: CPython's unpickler sizes its memo table to
    the largest index, so a 5-byte ``LONG_BINPUT 2**32-1`` would allocate 32 GB."""
    for opcode, arg, pos in pickletools.genops(blob):
        if opcode.name in _MEMO_PUTS and arg > pos:
            raise pickle.UnpicklingError(f"memo index {arg} at byte {pos} is larger than the file")


def _unpickle_arrays(file: Path) -> Any:
    """The object in a pickle file, built without executing any code from it."""
    try:
        with open(file, "rb") as f:
            blob = f.read()
    except OSError as err:
        raise GankitError(os_message(file, err)) from None
    try:
        _check_memo_indices(blob)
        # encoding="bytes": the CIFAR files were written by Python 2; their str keys
        # ("data", "labels") come back as bytes, and arrays' raw data stays bytes.
        return _ArrayOnlyUnpickler(io.BytesIO(blob), encoding="bytes").load()
    except _RefusedGlobal as err:
        raise GankitError(
            f"{file}: refused to load the global {err} (a CIFAR-10 batch needs only numpy arrays); "
            "nothing from the file was run"
        ) from None
    except Exception as err:  # noqa: BLE001 - the pickle machine raises many types on corrupt input
        raise GankitError(f"{file}: corrupt pickle ({one_line(err)})") from None


def _cifar_entry(batch: dict, key: str) -> Any:
    for k in (key.encode(), key):
        if k in batch:
            return batch[k]
    return None


def _read_cifar_batch(file: Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 batch: images (N, 3, 32, 32) uint8 and labels (N,) int64."""
    batch = _unpickle_arrays(file)
    if not isinstance(batch, dict):
        raise GankitError(f"{file}: not a CIFAR-10 batch (a dict expected, found {type(batch).__name__})")
    data, labels = _cifar_entry(batch, "data"), _cifar_entry(batch, "labels")
    if data is None or labels is None:
        keys = ", ".join(sorted(repr(k) for k in batch))[:200]
        raise GankitError(f"{file}: not a CIFAR-10 batch (needs 'data' and 'labels'; has {keys})")
    if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2 and data.shape[1] == 3072):
        found = f"{data.dtype} array of shape {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise GankitError(f"{file}: 'data' must be a uint8 array of shape (N, 3072), found {found}")
    if len(data) == 0:
        raise GankitError(f"{file}: the batch holds no images")
    try:
        labels = np.asarray(labels)
    except Exception as err:  # noqa: BLE001 - ragged or odd objects from a corrupt file
        raise GankitError(f"{file}: 'labels' is not a list of integers ({one_line(err)})") from None
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise GankitError(f"{file}: 'labels' must be a list of integers, found {labels.dtype} of shape {labels.shape}")
    labels = labels.astype(np.int64)
    check_labels(str(file), labels, len(data), 10)
    # Each row is 1024 red, 1024 green, 1024 blue values, each plane 32x32 row-major: NCHW.
    return data.reshape(-1, 3, 32, 32), labels


def cifar10(path: str, split: str = "train") -> TensorData:
    """CIFAR-10 from the python batches of ``cifar-10-python.tar.gz``, extracted.

    Args:
        path: the folder holding ``data_batch_1`` .. ``data_batch_5`` and ``test_batch``, or
            the folder that holds ``cifar-10-batches-py``.
        split: ``"train"`` (the five data batches, 50,000 images) or ``"test"`` (10,000).

    Returns:
        TensorData with x of shape (N, 3, 32, 32) float32 in [-1, 1], y of shape (N,) int64
        in 0..9, num_classes 10.

    Raises:
        GankitError: a missing folder or file, a pickle that is corrupt, is not a CIFAR-10
            batch, or names anything but numpy's array constructors (such a file is refused
            before any of it runs).
    """
    check_split("cifar10", split, tuple(CIFAR10_FILES))
    expects = (
        "cifar10 expects data_batch_1..5 and test_batch, from cifar-10-python.tar.gz, "
        f"in it or in {CIFAR10_SUBFOLDER}"
    )
    folder = existing_folder(path, expects)
    if (folder / CIFAR10_SUBFOLDER).is_dir():
        folder = folder / CIFAR10_SUBFOLDER
    files = [folder / name for name in CIFAR10_FILES[split]]
    for file in files:
        if not is_file(file):
            raise GankitError(f"missing file: {file} ({expects})")
    batches = [_read_cifar_batch(file) for file in files]
    images = np.concatenate([b[0] for b in batches])
    labels = np.concatenate([b[1] for b in batches])
    return TensorData(pixels_to_unit(images), torch.from_numpy(labels), num_classes=10, name=f"cifar10/{split}")
