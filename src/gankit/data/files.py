"""Readers for the user's own data files: MNIST-style IDX, CIFAR-10 batches, image folders, .npz.

Every reader returns a ``TensorData`` with images as NCHW float32 in [-1, 1] (uint8 pixels p
map to ``p / 127.5 - 1``, so 0 -> -1 and 255 -> 1 exactly) and labels as int64. Every problem
with the user's files raises ``GankitError`` with one line naming the file and the fault; no
other exception type escapes for bad input. Nothing here downloads anything, and nothing here
executes code found in a file: CIFAR-10's pickles go through an unpickler that resolves only
the four numpy globals an array needs.

Formats:
    - IDX (LeCun et al., http://yann.lecun.com/exdb/mnist/): a big-endian header, magic
      ``0x00000803`` (unsigned bytes, 3 dimensions) for images and ``0x00000801`` for labels,
      one int32 per dimension, then the raw bytes. Plain or gzip-compressed.
    - CIFAR-10 (Krizhevsky 2009, https://www.cs.toronto.edu/~kriz/cifar.html): pickled dicts
      with ``data`` (N, 3072) uint8, rows holding the 1024 red, 1024 green, then 1024 blue
      pixels of a 32x32 image in row-major order, and ``labels``, N ints in 0..9.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import pickle
import pickletools
import struct
import zlib
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch

from gankit.data.base import TensorData
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

CIFAR10_FILES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}
CIFAR10_SUBFOLDER = "cifar-10-batches-py"  # what cifar-10-python.tar.gz extracts to

IMAGE_EXTENSIONS = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm", ".pnm"}
)
# Pillow modes whose pixels are one grey level; "I" and "I;16*" are read as 16-bit grey.
GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "F", "I;16", "I;16L", "I;16B", "I;16N"})

# Keys looked up in an .npz, in order: (samples, labels) per split. ``samples`` is what
# ``gankit sample ... FILE.npz`` writes; ``x_train``/``y_train`` is the Keras mnist.npz layout.
NPZ_KEYS = {
    "train": (("x", "images", "x_train", "train_x", "samples"), ("y", "labels", "y_train", "train_y")),
    "test": (("x_test", "test_x"), ("y_test", "test_y")),
}
FLOAT_RANGE_SLACK = 1e-6  # float images may stray this far outside [-1, 1] (rounding), then are clipped

_READ_CHUNK = 1 << 20


# --------------------------------------------------------------------------------------------
# shared helpers


def _one_line(err: BaseException) -> str:
    """An exception's text on one line, with its type when the text alone says little."""
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _os_message(path: Path, err: OSError) -> str:
    if isinstance(err, FileNotFoundError):
        return f"no such file: {path}"
    if isinstance(err, IsADirectoryError):
        return f"{path}: is a folder, expected a file"
    if isinstance(err, PermissionError):
        return f"{path}: permission denied"
    return f"{path}: cannot read ({err.strerror or _one_line(err)})"


def _check_split(dataset: str, split: str, valid: tuple[str, ...]) -> None:
    if split not in valid:
        raise GankitError(f"{dataset}: unknown split {split!r}; valid: {', '.join(valid)}")


def _folder(path: str | os.PathLike, expects: str) -> Path:
    """``path`` as an existing, readable folder, or a GankitError saying what is there instead."""
    if not os.fspath(path):  # Path("") would silently mean the current folder
        raise GankitError(f"no folder given ({expects})")
    folder = Path(path).expanduser()
    try:
        if folder.is_dir():
            os.listdir(folder)  # raises PermissionError now rather than a confusing "missing" later
            return folder
        if folder.exists():
            if folder.name.endswith((".tar.gz", ".tgz", ".zip")):
                raise GankitError(f"{folder}: is an archive; extract it and give the folder ({expects})")
            raise GankitError(f"{folder}: is a file; expected a folder ({expects})")
    except OSError as err:
        raise GankitError(_os_message(folder, err)) from None
    raise GankitError(f"no such folder: {folder} ({expects})")


def _file(path: str | os.PathLike) -> Path:
    """``path`` as an existing regular file, or a GankitError."""
    if not os.fspath(path):
        raise GankitError("no file given")
    file = Path(path).expanduser()
    try:
        if file.is_dir():
            raise GankitError(f"{file}: is a folder, expected a file")
        if not file.exists():
            raise GankitError(f"no such file: {file}")
    except OSError as err:
        raise GankitError(_os_message(file, err)) from None
    return file


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # e.g. a sub-folder we may not enter: report the file as missing
        return False


def _pixels_to_unit(pixels: np.ndarray) -> torch.Tensor:
    """uint8 pixels p in 0..255 -> float32 p / 127.5 - 1 in [-1, 1] (0 -> -1, 255 -> 1 exactly)."""
    x = torch.from_numpy(pixels.astype(np.float32))
    return x.div_(127.5).sub_(1.0)  # in place: CIFAR-10's train split is 600 MB as float32


def _check_labels(where: str, labels: np.ndarray, n: int, num_classes: int) -> None:
    if len(labels) != n:
        raise GankitError(f"{where}: {n} images but {len(labels)} labels")
    if n and (labels.min() < 0 or labels.max() >= num_classes):
        bad = int(np.flatnonzero((labels < 0) | (labels >= num_classes))[0])
        raise GankitError(
            f"{where}: label {int(labels[bad])} at index {bad} is outside 0..{num_classes - 1}"
        )


# --------------------------------------------------------------------------------------------
# IDX (MNIST, Fashion-MNIST)


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
            raise GankitError(_os_message(file, err)) from None
        raise GankitError(f"{file}: corrupt or truncated gzip data ({_one_line(err)})") from None
    if declared == 0:
        raise GankitError(f"{file}: the header declares {what}: the file holds no data")
    return np.frombuffer(data, dtype=np.uint8).reshape(dims)


def _find_idx(folder: Path, name: str, stem: str, suffix: str) -> Path:
    """``stem-suffix`` or ``stem.suffix``, optionally ``.gz``, in the folder or its usual sub-folders."""
    for sub in IDX_SUBFOLDERS.get(name, ("",)):
        for base in (f"{stem}-{suffix}", f"{stem}.{suffix}"):
            for gz in ("", ".gz"):
                candidate = folder / sub / (base + gz)
                if _is_file(candidate):
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
    _check_split(name, split, (*IDX_FILES, *IDX_PAPER_SPLITS))
    folder = _folder(path, f"{name} expects the folder that holds its IDX files")
    rows = {"train-minus-valid": slice(0, IDX_VALID_START), "valid": slice(IDX_VALID_START, None)}.get(split)
    images_stem, labels_stem = IDX_FILES["train" if rows else split]
    images_file = _find_idx(folder, name, images_stem, "idx3-ubyte")
    labels_file = _find_idx(folder, name, labels_stem, "idx1-ubyte")
    images = _read_idx(images_file, IDX_IMAGES_MAGIC)
    labels = _read_idx(labels_file, IDX_LABELS_MAGIC).astype(np.int64)
    if len(labels) != len(images):
        raise GankitError(f"{labels_file}: {len(labels)} labels but {images_file} holds {len(images)} images")
    _check_labels(str(labels_file), labels, len(images), 10)
    total = len(images)
    if rows:
        images, labels = images[rows], labels[rows]
    if len(images) == 0:
        raise GankitError(f"{images_file}: holds {total:,} images, too few for the {split!r} split "
                          f"(the paper's validation images start at {IDX_VALID_START:,})")
    x = _pixels_to_unit(images[:, None])
    return TensorData(x, torch.from_numpy(labels), num_classes=10, name=f"{name}/{split}")


# --------------------------------------------------------------------------------------------
# CIFAR-10


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
        raise GankitError(_os_message(file, err)) from None
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
        raise GankitError(f"{file}: corrupt pickle ({_one_line(err)})") from None


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
        raise GankitError(f"{file}: 'labels' is not a list of integers ({_one_line(err)})") from None
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise GankitError(f"{file}: 'labels' must be a list of integers, found {labels.dtype} of shape {labels.shape}")
    labels = labels.astype(np.int64)
    _check_labels(str(file), labels, len(data), 10)
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
    _check_split("cifar10", split, tuple(CIFAR10_FILES))
    expects = (
        "cifar10 expects data_batch_1..5 and test_batch, from cifar-10-python.tar.gz, "
        f"in it or in {CIFAR10_SUBFOLDER}"
    )
    folder = _folder(path, expects)
    if (folder / CIFAR10_SUBFOLDER).is_dir():
        folder = folder / CIFAR10_SUBFOLDER
    files = [folder / name for name in CIFAR10_FILES[split]]
    for file in files:
        if not _is_file(file):
            raise GankitError(f"missing file: {file} ({expects})")
    batches = [_read_cifar_batch(file) for file in files]
    images = np.concatenate([b[0] for b in batches])
    labels = np.concatenate([b[1] for b in batches])
    return TensorData(_pixels_to_unit(images), torch.from_numpy(labels), num_classes=10, name=f"cifar10/{split}")


# --------------------------------------------------------------------------------------------
# image folders


def _image_files(folder: Path) -> list[Path]:
    """Image files under ``folder`` (recursively, sorted, hidden entries skipped)."""

    def fail(err: OSError) -> None:
        raise GankitError(_os_message(Path(err.filename or folder), err))

    found = []
    for dirpath, dirnames, filenames in os.walk(folder, onerror=fail):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith(".") and Path(name).suffix.lower() in IMAGE_EXTENSIONS:
                found.append(Path(dirpath) / name)
    return found


def _open_image(file: Path) -> Any:
    from PIL import Image

    try:
        return Image.open(file)
    except OSError as err:
        if err.errno is not None:
            raise GankitError(_os_message(file, err)) from None
        raise GankitError(f"{file}: not a readable image ({_one_line(err)})") from None
    except Exception as err:  # noqa: BLE001 - Pillow's format plugins raise many types on bad files
        raise GankitError(f"{file}: not a readable image ({_one_line(err)})") from None


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
        raise GankitError(f"{file}: not a readable image ({_one_line(err)})") from None
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
    folder = _folder(path, "imagefolder expects a folder of class sub-folders of images")
    try:
        entries = sorted(e for e in folder.iterdir() if not e.name.startswith("."))
        classes = [e for e in entries if e.is_dir()]
    except OSError as err:
        raise GankitError(_os_message(folder, err)) from None
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
    return TensorData(_pixels_to_unit(pixels), y, num_classes=len(classes), name=f"imagefolder/{split}")


# --------------------------------------------------------------------------------------------
# .npz


def _npz_member(file: Path, archive: Any, key: str) -> np.ndarray:
    try:
        return archive[key]
    except Exception as err:  # noqa: BLE001 - zipfile and numpy raise many types on a corrupt archive
        raise GankitError(f"{file}: cannot read array {key!r} ({_one_line(err)})") from None


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
        return _pixels_to_unit(np.ascontiguousarray(x))
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
    _check_split("npz", split, tuple(NPZ_KEYS))
    file = _file(path)
    try:
        stream = open(file, "rb")
    except OSError as err:
        raise GankitError(_os_message(file, err)) from None
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
            raise GankitError(f"{file}: not a readable .npz archive ({_one_line(err)})") from None
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
