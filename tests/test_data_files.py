"""Tests for the readers of the user's files: IDX, CIFAR-10 batches, image folders, .npz.

Every fixture file is written here from known pixel values, so each test checks a reader
against the format's definition, not against the reader's own output. The fuzz tests feed
random, truncated and bit-flipped files and require a TensorData or a GankitError, nothing else;
``GANKIT_FUZZ_EXAMPLES=5000`` runs more examples per fuzz test than the default 60.
"""

from __future__ import annotations

import gzip
import io
import os
import pathlib
import pickle
import re
import struct
import tempfile
import tracemalloc
from datetime import timedelta

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from torch.testing import assert_close

from gankit import GankitError
from gankit.data import files, load_dataset
from gankit.data.base import TensorData
from gankit.data.files import cifar_batches, idx_files, npz_files

IMAGES_MAGIC, LABELS_MAGIC = 0x803, 0x801


def deny_reading(path: pathlib.Path) -> None:
    """chmod 0, or skip where this user reads files whatever their permissions (root)."""
    path.chmod(0)
    try:
        path.open("rb").close()
    except PermissionError:
        return
    pytest.skip("this user reads files whatever their permissions")


def unit(pixels) -> torch.Tensor:
    """The definition of the pixel map, written independently of the reader: 0 -> -1, 255 -> 1."""
    return torch.as_tensor(np.asarray(pixels, dtype=np.float64) * (2.0 / 255.0) - 1.0, dtype=torch.float32)


# --------------------------------------------------------------------------------------------
# IDX


def idx_bytes(magic: int, array: np.ndarray) -> bytes:
    return struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape) + array.astype(np.uint8).tobytes()


def write(path: pathlib.Path, data: bytes, gz: bool = False) -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return path


def mnist_arrays(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    images[0, 0, 0], images[0, 0, 1] = 0, 255
    return images, rng.integers(0, 10, size=n).astype(np.uint8)


def write_mnist(folder: pathlib.Path, split: str = "train", n: int = 6, gz: bool = False, dotted: bool = False):
    images, labels = mnist_arrays(n, seed=0 if split == "train" else 1)
    prefix = "train" if split == "train" else "t10k"
    sep = "." if dotted else "-"
    suffix = ".gz" if gz else ""
    write(folder / f"{prefix}-images{sep}idx3-ubyte{suffix}", idx_bytes(IMAGES_MAGIC, images), gz)
    write(folder / f"{prefix}-labels{sep}idx1-ubyte{suffix}", idx_bytes(LABELS_MAGIC, labels), gz)
    return images, labels


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("split", ["train", "test"])
def test_idx_reads_images_and_labels_exactly(tmp_path, gz, split):
    images, labels = write_mnist(tmp_path, split, n=7, gz=gz)
    data = files.idx(str(tmp_path), split, "mnist")
    assert isinstance(data, TensorData)
    assert data.x.shape == (7, 1, 28, 28) and data.x.dtype == torch.float32
    assert data.x[0, 0, 0, 0].item() == -1.0 and data.x[0, 0, 0, 1].item() == 1.0
    assert_close(data.x, unit(images[:, None]), rtol=0, atol=1e-6)
    assert data.y.dtype == torch.int64
    assert torch.equal(data.y, torch.from_numpy(labels.astype(np.int64)))
    assert data.num_classes == 10 and data.name == f"mnist/{split}"


def test_idx_paper_splits_slice_the_training_files(tmp_path, monkeypatch):
    """train-minus-valid / valid: the 2014 paper's first 50,000 and last 10,000 training images."""
    monkeypatch.setattr(idx_files, "IDX_VALID_START", 4)  # as if 4 of the 7 images were the paper's 50,000
    images, labels = write_mnist(tmp_path, "train", n=7)
    head = files.idx(str(tmp_path), "train-minus-valid", "mnist")
    tail = files.idx(str(tmp_path), "valid", "mnist")
    assert_close(head.x, unit(images[:4, None]), rtol=0, atol=1e-6)
    assert_close(tail.x, unit(images[4:, None]), rtol=0, atol=1e-6)
    assert torch.equal(torch.cat([head.y, tail.y]), torch.from_numpy(labels.astype(np.int64)))
    assert head.name == "mnist/train-minus-valid" and tail.name == "mnist/valid"
    monkeypatch.setattr(idx_files, "IDX_VALID_START", 7)
    with pytest.raises(GankitError, match=r"holds 7 images, too few for the 'valid' split"):
        files.idx(str(tmp_path), "valid", "mnist")


def test_idx_finds_dotted_names_and_torchvision_layout(tmp_path):
    write_mnist(tmp_path / "a", dotted=True)
    images, _ = write_mnist(tmp_path / "b" / "FashionMNIST" / "raw", gz=True)
    assert files.idx(str(tmp_path / "a"), "train", "mnist").x.shape == (6, 1, 28, 28)
    data = load_dataset("fashion-mnist", "train", path=str(tmp_path / "b"))
    assert_close(data.x, unit(images[:, None]), rtol=0, atol=1e-6)
    assert data.name == "fashion-mnist/train"


def test_idx_accepts_gzip_content_under_a_plain_name(tmp_path):
    images, labels = mnist_arrays(3)
    write(tmp_path / "train-images-idx3-ubyte", idx_bytes(IMAGES_MAGIC, images), gz=True)
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(LABELS_MAGIC, labels))
    assert_close(files.idx(str(tmp_path), "train", "mnist").x, unit(images[:, None]), rtol=0, atol=1e-6)


def test_idx_missing_file_names_the_expected_files(tmp_path):
    write_mnist(tmp_path, "train")
    expected = f"missing file: {tmp_path / 't10k-images-idx3-ubyte'}(.gz) (mnist expects train-images-idx3-ubyte, "
    with pytest.raises(GankitError, match=r"^" + re.escape(expected)):
        files.idx(str(tmp_path), "test", "mnist")


def test_idx_path_problems(tmp_path):
    with pytest.raises(GankitError, match=r"^no such folder: .*nowhere"):
        files.idx(str(tmp_path / "nowhere"), "train", "mnist")
    images = write(tmp_path / "train-images-idx3-ubyte", idx_bytes(IMAGES_MAGIC, mnist_arrays(2)[0]))
    with pytest.raises(GankitError, match=r"train-images-idx3-ubyte: is a file; expected a folder"):
        files.idx(str(images), "train", "mnist")
    with pytest.raises(GankitError, match=r"mnist: unknown split 'validation'; valid: train, test, train-minus-valid, valid$"):
        files.idx(str(tmp_path), "validation", "mnist")
    with pytest.raises(GankitError, match=r"^no folder given \(mnist expects"):
        files.idx("", "train", "mnist")
    with pytest.raises(GankitError, match=r"^no file given$"):
        files.npz("", "train")


def test_idx_wrong_magic_number(tmp_path):
    write_mnist(tmp_path, gz=True)
    file = tmp_path / "train-images-idx3-ubyte.gz"
    write(file, b"\x00" * 16 + b"\x01" * 784, gz=True)
    expected = f"{file}: wrong magic number 0x00000000 (expected 0x00000803 for an IDX image file)"
    with pytest.raises(GankitError, match="^" + re.escape(expected) + "$"):
        files.idx(str(tmp_path), "train", "mnist")


def test_idx_images_and_labels_swapped(tmp_path):
    images, labels = mnist_arrays(4)
    write(tmp_path / "train-images-idx3-ubyte", idx_bytes(LABELS_MAGIC, labels))
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(IMAGES_MAGIC, images))
    with pytest.raises(GankitError, match=r"wrong magic number 0x00000801 \(expected 0x00000803"):
        files.idx(str(tmp_path), "train", "mnist")


@pytest.mark.parametrize("gz", [False, True])
def test_idx_truncated_file(tmp_path, gz):
    images, labels = mnist_arrays(5)
    whole = idx_bytes(IMAGES_MAGIC, images)
    write(tmp_path / f"train-images-idx3-ubyte{'.gz' if gz else ''}", whole[:-100], gz)
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(LABELS_MAGIC, labels))
    message = r"truncated: the header declares 5 images of 28x28 \(3920 bytes\) but the file holds 3820$"
    with pytest.raises(GankitError, match=message):
        files.idx(str(tmp_path), "train", "mnist")


@pytest.mark.parametrize("gz", [False, True])
def test_idx_huge_declared_count_fails_fast_without_allocating(tmp_path, gz):
    header = struct.pack(">IIII", IMAGES_MAGIC, 2**32 - 1, 28, 28)  # claims ~3.4 TB of pixels
    write(tmp_path / "train-images-idx3-ubyte", header + bytes(5000), gz)
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(LABELS_MAGIC, np.zeros(3, np.uint8)))
    tracemalloc.start()
    try:
        with pytest.raises(GankitError, match=r"truncated: the header declares 4294967295 images of 28x28"):
            files.idx(str(tmp_path), "train", "mnist")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20


def test_idx_dimensions_whose_product_overflows_64_bits(tmp_path):
    header = struct.pack(">IIII", IMAGES_MAGIC, 2**32 - 1, 2**32 - 1, 2**32 - 1)  # ~2**96 bytes
    write(tmp_path / "train-images-idx3-ubyte", header + bytes(100))
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(LABELS_MAGIC, np.zeros(3, np.uint8)))
    declared = (2**32 - 1) ** 3
    with pytest.raises(GankitError, match=rf"\({declared} bytes\) but the file holds 100$"):
        files.idx(str(tmp_path), "train", "mnist")


def test_idx_trailing_bytes_are_an_error(tmp_path):
    images, labels = mnist_arrays(2)
    write(tmp_path / "train-images-idx3-ubyte", idx_bytes(IMAGES_MAGIC, images) + b"\x07")
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(LABELS_MAGIC, labels))
    with pytest.raises(GankitError, match=r"more bytes than the 2 images of 28x28 its header declares"):
        files.idx(str(tmp_path), "train", "mnist")


def test_idx_corrupt_gzip(tmp_path):
    write_mnist(tmp_path, gz=True)
    file = tmp_path / "train-labels-idx1-ubyte.gz"
    blob = bytearray(file.read_bytes())
    blob[-8] ^= 0xFF  # the CRC-32 in the trailer
    file.write_bytes(bytes(blob))
    with pytest.raises(GankitError, match=r"train-labels-idx1-ubyte.gz: corrupt or truncated gzip data \(.*CRC"):
        files.idx(str(tmp_path), "train", "mnist")
    file.write_bytes(b"\x1f\x8b" + b"garbage" * 10)
    with pytest.raises(GankitError, match=r"train-labels-idx1-ubyte.gz: corrupt or truncated gzip data"):
        files.idx(str(tmp_path), "train", "mnist")


def test_idx_count_mismatch_and_label_range(tmp_path):
    images, labels = mnist_arrays(4)
    write(tmp_path / "train-images-idx3-ubyte", idx_bytes(IMAGES_MAGIC, images))
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(LABELS_MAGIC, labels[:3]))
    with pytest.raises(GankitError, match=r"train-labels-idx1-ubyte: 3 labels but .* holds 4 images"):
        files.idx(str(tmp_path), "train", "mnist")
    labels[2] = 12
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(LABELS_MAGIC, labels))
    with pytest.raises(GankitError, match=r"label 12 at index 2 is outside 0\.\.9"):
        files.idx(str(tmp_path), "train", "mnist")


def test_idx_empty_and_short_files(tmp_path):
    write(tmp_path / "train-images-idx3-ubyte", idx_bytes(IMAGES_MAGIC, np.zeros((0, 28, 28), np.uint8)))
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(LABELS_MAGIC, np.zeros(0, np.uint8)))
    with pytest.raises(GankitError, match=r"declares 0 images of 28x28: the file holds no data"):
        files.idx(str(tmp_path), "train", "mnist")
    write(tmp_path / "train-images-idx3-ubyte", b"\x00\x00")
    with pytest.raises(GankitError, match=r"2 bytes is too short for an IDX image file"):
        files.idx(str(tmp_path), "train", "mnist")
    write(tmp_path / "train-images-idx3-ubyte", struct.pack(">II", IMAGES_MAGIC, 3))
    with pytest.raises(GankitError, match=r"truncated IDX header \(8 bytes\)"):
        files.idx(str(tmp_path), "train", "mnist")


def test_idx_a_folder_where_a_file_is_expected(tmp_path):
    write_mnist(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte").unlink()
    (tmp_path / "train-labels-idx1-ubyte").mkdir()  # not a file: reported missing, by its name
    with pytest.raises(GankitError, match=r"missing file: .*train-labels-idx1-ubyte\(\.gz\)"):
        files.idx(str(tmp_path), "train", "mnist")


def test_idx_permission_denied(tmp_path):
    write_mnist(tmp_path)
    deny_reading(tmp_path / "train-images-idx3-ubyte")
    with pytest.raises(GankitError, match=r"train-images-idx3-ubyte: permission denied"):
        files.idx(str(tmp_path), "train", "mnist")


def test_permission_errors_are_reported_even_when_running_as_root(tmp_path, monkeypatch):
    write_mnist(tmp_path)
    np.savez(tmp_path / "p.npz", x=np.zeros((2, 2)))
    write_cifar(tmp_path)

    def denied(file, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(file))

    for module in (idx_files, npz_files, cifar_batches):  # shadows the builtin in each reader's module
        monkeypatch.setattr(module, "open", denied, raising=False)
    for load, name in [
        (lambda: files.idx(str(tmp_path), "train", "mnist"), "train-images-idx3-ubyte"),
        (lambda: files.npz(str(tmp_path / "p.npz"), "train"), "p.npz"),
        (lambda: files.cifar10(str(tmp_path), "test"), "test_batch"),
    ]:
        with pytest.raises(GankitError, match=rf"{re.escape(name)}: permission denied$"):
            load()


# --------------------------------------------------------------------------------------------
# CIFAR-10


class Py2Pickler(pickle._Pickler):
    """Writes str and bytes as Python 2 pickles do (BINSTRING), like the real CIFAR-10 files."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_py2_str(self, obj):
        data = obj if isinstance(obj, bytes) else obj.encode("latin-1")
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str
    dispatch[str] = save_py2_str


def py2_pickle(obj) -> bytes:
    buffer = io.BytesIO()
    Py2Pickler(buffer, protocol=2).dump(obj)
    # numpy 1.x, which wrote the real files, names its module numpy.core.
    return buffer.getvalue().replace(b"numpy._core.multiarray", b"numpy.core.multiarray")


def cifar_batch(n: int, seed: int) -> tuple[np.ndarray, list[int]]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, 3072), dtype=np.uint8), [int(v) for v in rng.integers(0, 10, size=n)]


def write_cifar(folder: pathlib.Path, n: int = 3, protocol: int | str = "py2") -> dict[str, tuple]:
    folder.mkdir(parents=True, exist_ok=True)
    batches = {}
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        data, labels = cifar_batch(n, seed=i)
        batch = {b"batch_label": b"batch", b"data": data, b"labels": labels, b"filenames": [b"f.png"] * n}
        blob = py2_pickle(batch) if protocol == "py2" else pickle.dumps(batch, protocol=protocol)
        (folder / name).write_bytes(blob)
        batches[name] = (data, labels)
    return batches


@pytest.mark.parametrize("protocol", ["py2", 4, 5])
def test_cifar10_reads_batches_in_order_and_layout(tmp_path, protocol):
    batches = write_cifar(tmp_path / "cifar-10-batches-py", n=3, protocol=protocol)
    train = files.cifar10(str(tmp_path), "train")
    assert train.x.shape == (15, 3, 32, 32) and train.num_classes == 10
    expected = np.concatenate([batches[f"data_batch_{k}"][0] for k in range(1, 6)])
    # The format: each row is 1024 red, then 1024 green, then 1024 blue, each 32x32 row-major.
    n, c, h, w = 7, 1, 5, 30
    assert_close(train.x[n, c, h, w], unit(expected[n, c * 1024 + h * 32 + w]), rtol=0, atol=1e-6)
    assert_close(train.x, unit(expected.reshape(15, 3, 32, 32)), rtol=0, atol=1e-6)
    labels = sum((batches[f"data_batch_{k}"][1] for k in range(1, 6)), [])
    assert train.y.tolist() == labels and train.y.dtype == torch.int64
    test = files.cifar10(str(tmp_path / "cifar-10-batches-py"), "test")
    assert_close(test.x, unit(batches["test_batch"][0].reshape(3, 3, 32, 32)), rtol=0, atol=1e-6)
    assert test.y.tolist() == batches["test_batch"][1]


def test_cifar10_extremes_map_to_minus_one_and_one(tmp_path):
    write_cifar(tmp_path)
    data = np.zeros((2, 3072), np.uint8)
    data[1] = 255
    (tmp_path / "test_batch").write_bytes(py2_pickle({b"data": data, b"labels": [0, 9]}))
    x = files.cifar10(str(tmp_path), "test").x
    assert torch.equal(x[0], torch.full((3, 32, 32), -1.0)) and torch.equal(x[1], torch.full((3, 32, 32), 1.0))


class Touch:
    """Unpickles by calling Path.touch: what a booby-trapped file would do."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return pathlib.Path.touch, (pathlib.Path(self.target),)


class System:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


@pytest.mark.parametrize("protocol, name", [(2, "__builtin__.getattr"), (4, "pathlib.Path.touch")])
def test_cifar10_malicious_pickle_is_refused_before_running(tmp_path, protocol, name):
    write_cifar(tmp_path)
    marker = tmp_path / "pwned"
    blob = pickle.dumps({"data": Touch(marker), "labels": [0]}, protocol=protocol)
    (tmp_path / "test_batch").write_bytes(blob)
    refused = rf"test_batch: refused to load the global {re.escape(name)} .*nothing from the file was run$"
    with pytest.raises(GankitError, match=refused):
        files.cifar10(str(tmp_path), "test")
    assert not marker.exists()
    pickle.loads(blob)  # control: an ordinary unpickler does run it, so the test can fail
    assert marker.exists()


def test_cifar10_refuses_os_system_and_other_globals(tmp_path):
    write_cifar(tmp_path)
    marker = tmp_path / "pwned-by-shell"
    for payload in (System(f"touch {marker}"), print, io.BytesIO):
        (tmp_path / "test_batch").write_bytes(pickle.dumps({b"data": payload, b"labels": [0]}))
        with pytest.raises(GankitError, match=r"refused to load the global"):
            files.cifar10(str(tmp_path), "test")
    assert not marker.exists()


def test_cifar10_a_pickle_cannot_alter_numpy_for_later_loads(tmp_path):
    # BUILD sets attributes on the object under it, here an allowed global: the loader must
    # hand out its own wrapper, not numpy's function. (Harmless to numpy if this fails.)
    evil = b"\x80\x04\x8c\x13numpy._core.numeric\x8c\x0b_frombuffer\x93}\x8c\x05pwnedK\x01sb."
    assert hasattr(pickle.loads(evil), "pwned")  # control: this pickle does set the attribute
    del cifar_batches._NUMPY_FROMBUFFER.pwned
    write_cifar(tmp_path)
    (tmp_path / "test_batch").write_bytes(evil)
    with pytest.raises(GankitError, match=r"a dict expected, found function"):
        files.cifar10(str(tmp_path), "test")
    assert not hasattr(cifar_batches._NUMPY_FROMBUFFER, "pwned")
    assert files.cifar10(str(tmp_path), "train").x.shape == (15, 3, 32, 32)


class Reduce:
    """Unpickles as ``fn(*args)``."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


@pytest.mark.parametrize(
    "payload, message",
    [
        # ndarray((n,), object) fills n pointers with None: with n = 10**9, gigabytes from a few bytes.
        (Reduce(np.ndarray, (1000,), "O"), r"corrupt pickle \(TypeError: .*not callable"),
        (Reduce(np.zeros(0).__reduce__()[0], np.ndarray, (1000,), "O"), r"_reconstruct called with unexpected"),
    ],
)
def test_cifar10_numpy_globals_only_rebuild_arrays(tmp_path, payload, message):
    write_cifar(tmp_path)
    (tmp_path / "test_batch").write_bytes(pickle.dumps({b"data": payload, b"labels": [0]}, protocol=4))
    with pytest.raises(GankitError, match=message):
        files.cifar10(str(tmp_path), "test")


def test_cifar10_huge_memo_index_is_refused_before_allocating(tmp_path):
    write_cifar(tmp_path)
    # LONG_BINPUT 2**32-1: CPython's unpickler would size its memo table to 32 GB.
    (tmp_path / "test_batch").write_bytes(b"\x80\x02}r\xff\xff\xff\xff.")
    with pytest.raises(GankitError, match=r"corrupt pickle \(UnpicklingError: memo index 4294967295 at byte 3"):
        files.cifar10(str(tmp_path), "test")


@pytest.mark.parametrize(
    "batch, message",
    [
        ([1, 2], r"not a CIFAR-10 batch \(a dict expected, found list\)"),
        ({b"data": np.zeros((2, 3072), np.uint8)}, r"needs 'data' and 'labels'; has b'data'"),
        ({b"data": np.zeros((2, 3071), np.uint8), b"labels": [0, 1]}, r"found uint8 array of shape \(2, 3071\)"),
        ({b"data": np.zeros((2, 3072), np.int64), b"labels": [0, 1]}, r"found int64 array"),
        ({b"data": b"raw", b"labels": [0, 1]}, r"found bytes"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}, r"test_batch: 2 images but 1 labels"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}, r"label 10 at index 1 is outside 0\.\.9"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0.5, 1.0]}, r"'labels' must be a list of integers"),
        ({b"data": np.zeros((0, 3072), np.uint8), b"labels": []}, r"the batch holds no images"),
    ],
)
def test_cifar10_bad_batches(tmp_path, batch, message):
    write_cifar(tmp_path)
    (tmp_path / "test_batch").write_bytes(py2_pickle(batch))
    with pytest.raises(GankitError, match=message):
        files.cifar10(str(tmp_path), "test")


def test_cifar10_truncated_and_garbage_and_missing(tmp_path):
    write_cifar(tmp_path)
    blob = (tmp_path / "data_batch_3").read_bytes()
    (tmp_path / "data_batch_3").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(GankitError, match=r"data_batch_3: corrupt pickle \(.*\)$"):
        files.cifar10(str(tmp_path), "train")
    (tmp_path / "data_batch_3").write_bytes(b"this is not a pickle")
    with pytest.raises(GankitError, match=r"data_batch_3: corrupt pickle \((ValueError|UnpicklingError): "):
        files.cifar10(str(tmp_path), "train")
    (tmp_path / "data_batch_3").unlink()
    with pytest.raises(GankitError, match=r"missing file: .*data_batch_3 \(cifar10 expects data_batch_1\.\.5"):
        files.cifar10(str(tmp_path), "train")
    archive = tmp_path / "cifar-10-python.tar.gz"
    archive.write_bytes(b"\x1f\x8b")
    with pytest.raises(GankitError, match=r"cifar-10-python.tar.gz: is an archive; extract it"):
        files.cifar10(str(archive), "train")
    with pytest.raises(GankitError, match=r"cifar10: unknown split 'val'"):
        files.cifar10(str(tmp_path), "val")


# --------------------------------------------------------------------------------------------
# image folders


def save(path: pathlib.Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def test_imagefolder_classes_labels_and_exact_pixels(tmp_path):
    rng = np.random.default_rng(0)
    cats = [rng.integers(0, 256, (5, 4), dtype=np.uint8) for _ in range(2)]
    dogs = [rng.integers(0, 256, (5, 4), dtype=np.uint8)]
    cats[0][0, 0], cats[0][0, 1] = 0, 255
    save(tmp_path / "cat" / "a.png", cats[0])
    save(tmp_path / "cat" / "nested" / "b.png", cats[1])
    save(tmp_path / "dog" / "c.png", dogs[0])
    (tmp_path / "cat" / "notes.txt").write_text("not an image")
    (tmp_path / "dog" / ".hidden.png").write_bytes(b"skipped")
    (tmp_path / ".cache").mkdir()
    data = files.imagefolder(str(tmp_path), "train", 0, 0)
    assert data.x.shape == (3, 1, 5, 4)
    assert data.x[0, 0, 0, 0].item() == -1.0 and data.x[0, 0, 0, 1].item() == 1.0
    assert_close(data.x, unit(np.stack(cats + dogs)[:, None]), rtol=0, atol=1e-6)
    assert data.y.tolist() == [0, 0, 1] and data.num_classes == 2


def test_imagefolder_channels_inferred_and_converted(tmp_path):
    rgb = np.zeros((4, 4, 3), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 10, 200, 30
    save(tmp_path / "a" / "rgb.png", rgb)
    save(tmp_path / "b" / "grey.png", np.full((4, 4), 100, np.uint8))
    data = files.imagefolder(str(tmp_path), "train", 0, 0)
    assert data.x.shape == (2, 3, 4, 4)
    assert_close(data.x[0], unit(rgb.transpose(2, 0, 1)), rtol=0, atol=1e-6)
    assert_close(data.x[1], unit(np.full((3, 4, 4), 100)), rtol=0, atol=1e-6)  # grey copied to R, G, B
    grey = files.imagefolder(str(tmp_path), "train", 0, 1)
    # ITU-R 601-2 luma, Pillow's "L": (299 R + 587 G + 114 B) / 1000 = 123.8 -> 124
    assert_close(grey.x[0], unit(np.full((1, 4, 4), 124)), rtol=0, atol=1e-6)
    assert_close(grey.x[1], unit(np.full((1, 4, 4), 100)), rtol=0, atol=1e-6)


def test_imagefolder_center_crop_and_resize(tmp_path):
    wide = np.zeros((2, 6), np.uint8)
    wide[:, 2:4] = 255  # the centre 2x2 square is white, the sides black
    save(tmp_path / "wide.png", wide)
    data = files.imagefolder(str(tmp_path), "train", image_size=2)
    assert data.y is None and data.x.shape == (1, 1, 2, 2)
    assert torch.equal(data.x, torch.ones(1, 1, 2, 2))
    save(tmp_path / "wide.png", np.full((9, 15, 3), 77, np.uint8))
    resized = files.imagefolder(str(tmp_path), "train", image_size=4)
    assert resized.x.shape == (1, 3, 4, 4)
    assert_close(resized.x, unit(np.full((1, 3, 4, 4), 77)), rtol=0, atol=1e-6)  # a flat image stays flat


def test_imagefolder_sixteen_bit_grey_is_scaled(tmp_path):
    deep = np.array([[0, 65535], [257 * 100, 257 * 200]], dtype=np.uint16)
    save(tmp_path / "deep.png", deep)
    data = files.imagefolder(str(tmp_path), "train")
    assert_close(data.x, unit(np.array([[[[0, 255], [100, 200]]]])), rtol=0, atol=1e-6)


def test_imagefolder_size_mismatch_names_both_files(tmp_path):
    save(tmp_path / "a" / "one.png", np.zeros((4, 4), np.uint8))
    save(tmp_path / "b" / "two.png", np.zeros((5, 4), np.uint8))
    with pytest.raises(GankitError, match=r"images differ in size: .*one\.png is 4x4 but .*two\.png is 4x5"):
        files.imagefolder(str(tmp_path), "train")
    assert files.imagefolder(str(tmp_path), "train", image_size=3).x.shape == (2, 1, 3, 3)


def test_imagefolder_undecodable_image_is_named(tmp_path):
    save(tmp_path / "a" / "good.png", np.zeros((4, 4), np.uint8))
    (tmp_path / "a" / "bad.jpg").write_bytes(b"not a jpeg at all")
    with pytest.raises(GankitError, match=r"bad\.jpg: not a readable image"):
        files.imagefolder(str(tmp_path), "train")
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8)).save(buffer, "PNG")
    (tmp_path / "a" / "bad.jpg").unlink()
    (tmp_path / "a" / "cut.png").write_bytes(buffer.getvalue()[:200])  # header fine, pixels cut off
    with pytest.raises(GankitError, match=r"cut\.png: not a readable image"):
        files.imagefolder(str(tmp_path), "train", image_size=4)


def test_imagefolder_layout_and_option_errors(tmp_path):
    with pytest.raises(GankitError, match=r"no such folder"):
        files.imagefolder(str(tmp_path / "nope"), "train")
    with pytest.raises(GankitError, match=r": no images found"):
        files.imagefolder(str(tmp_path), "train")
    (tmp_path / "cls").mkdir()
    (tmp_path / "cls" / "readme.md").write_text("x")
    with pytest.raises(GankitError, match=r"cls: class folder holds no images"):
        files.imagefolder(str(tmp_path), "train")
    save(tmp_path / "cls" / "a.png", np.zeros((2, 2), np.uint8))
    save(tmp_path / "loose.png", np.zeros((2, 2), np.uint8))
    with pytest.raises(GankitError, match=r"loose\.png: image outside the class sub-folders"):
        files.imagefolder(str(tmp_path), "train")
    (tmp_path / "loose.png").unlink()
    with pytest.raises(GankitError, match=r"has only 'train'"):
        files.imagefolder(str(tmp_path), "test")
    for bad in ({"channels": 2}, {"image_size": -1}, {"image_size": 2.5}):
        with pytest.raises(GankitError, match=r"imagefolder: (channels|image_size) must be"):
            load_dataset("imagefolder", "train", path=str(tmp_path), **bad)
    assert load_dataset("imagefolder", "train", path=str(tmp_path), channels=3).x.shape == (1, 3, 2, 2)


# --------------------------------------------------------------------------------------------
# .npz


def test_npz_uint8_nhwc_is_scaled_and_made_nchw(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (4, 5, 6, 3), dtype=np.uint8)
    x[0, 0, 0, 0], x[0, 0, 0, 1] = 0, 255
    np.savez(tmp_path / "d.npz", x=x, y=np.array([0, 2, 1, 2]))
    data = files.npz(str(tmp_path / "d.npz"), "train")
    assert data.x.shape == (4, 3, 5, 6)
    assert data.x[0, 0, 0, 0].item() == -1.0 and data.x[0, 1, 0, 0].item() == 1.0
    assert_close(data.x[3, 2, 4, 1], unit(x[3, 4, 1, 2]), rtol=0, atol=1e-6)
    assert_close(data.x, unit(x.transpose(0, 3, 1, 2)), rtol=0, atol=1e-6)
    assert data.y.tolist() == [0, 2, 1, 2] and data.y.dtype == torch.int64 and data.num_classes == 3


def test_npz_shapes_and_float_data(tmp_path):
    grey = np.random.default_rng(1).integers(0, 256, (3, 4, 4), dtype=np.uint8)
    nchw = np.linspace(-1, 1, 2 * 3 * 4 * 4, dtype=np.float64).reshape(2, 3, 4, 4)
    vectors = np.array([[5.0, -7.0], [0.5, 100.0]], dtype=np.float32)
    np.savez_compressed(tmp_path / "g.npz", images=grey)
    np.savez(tmp_path / "f.npz", x=nchw)
    np.savez(tmp_path / "v.npz", x=vectors, labels=np.array([1, 0], np.uint8))
    np.savez(tmp_path / "s.npz", x=np.array([3.0, -4.0]))
    samples = np.linspace(-1, 1, 2 * 3 * 2 * 2, dtype=np.float32).reshape(2, 3, 2, 2)  # gankit sample's output
    np.savez(tmp_path / "gen.npz", samples=samples, labels=np.array([1, 1], np.int64))
    generated = files.npz(str(tmp_path / "gen.npz"), "train")
    assert_close(generated.x, torch.from_numpy(samples))
    assert generated.y.tolist() == [1, 1]
    assert_close(files.npz(str(tmp_path / "g.npz"), "train").x, unit(grey[:, None]), rtol=0, atol=1e-6)
    assert files.npz(str(tmp_path / "g.npz"), "train").y is None
    assert_close(files.npz(str(tmp_path / "f.npz"), "train").x, torch.from_numpy(nchw.astype(np.float32)))
    v = files.npz(str(tmp_path / "v.npz"), "train")
    assert_close(v.x, torch.from_numpy(vectors))  # toy vectors: as they are, even outside [-1, 1]
    assert v.y.tolist() == [1, 0] and v.num_classes == 2
    assert_close(files.npz(str(tmp_path / "s.npz"), "train").x, torch.tensor([[3.0], [-4.0]]))
    np.savez(tmp_path / "r.npz", x=np.array([-1 - 5e-7, 1 + 5e-7]).reshape(2, 1, 1, 1))  # rounding slack
    assert torch.equal(files.npz(str(tmp_path / "r.npz"), "train").x.flatten(), torch.tensor([-1.0, 1.0]))


def test_npz_test_split_and_shared_num_classes(tmp_path):
    x = np.zeros((3, 4, 4), np.uint8)
    np.savez(tmp_path / "k.npz", x_train=x, y_train=np.array([0, 1, 1]), x_test=x[:2] + 255, y_test=np.array([4, 0]))
    train, test = files.npz(str(tmp_path / "k.npz"), "train"), files.npz(str(tmp_path / "k.npz"), "test")
    assert train.num_classes == 5 and test.num_classes == 5
    assert torch.equal(test.x, torch.ones(2, 1, 4, 4)) and test.y.tolist() == [4, 0]
    np.savez(tmp_path / "t.npz", x=x)
    with pytest.raises(GankitError, match=r"t\.npz: no test split \(arrays: x; expected x_test or test_x\)"):
        files.npz(str(tmp_path / "t.npz"), "test")
    with pytest.raises(GankitError, match=r"npz: unknown split 'valid'"):
        files.npz(str(tmp_path / "t.npz"), "valid")


@pytest.mark.parametrize(
    "arrays, message",
    [
        (
            {"x": np.full((2, 1, 3, 3), 1.5, np.float32)},
            r"array 'x' holds values in \[1\.5, 1\.5\]; float images must lie in \[-1, 1\]",
        ),
        ({"x": np.array([[0.0, np.nan]])}, r"array 'x' contains NaN or Inf"),
        ({"x": np.array([[0.0, np.inf]], np.float16)}, r"array 'x' contains NaN or Inf"),
        ({"x": np.zeros((0, 2), np.float32)}, r"array 'x' is empty \(shape \(0, 2\)\)"),
        ({"x": np.float32(1.0)}, r"array 'x' is a single number"),
        ({"x": np.zeros((2, 4, 4), np.int64)}, r"array 'x' has dtype int64; expected uint8"),
        ({"x": np.zeros((2, 5, 5, 5), np.uint8)}, r"has shape \(2, 5, 5, 5\): expected \(N, C, H, W\)"),
        ({"x": np.zeros((2, 1, 1, 1, 1), np.uint8)}, r"has 5 dimensions"),
        ({"z": np.zeros((2, 2))}, r"no samples \(arrays: z; expected x or images"),
        ({"x": np.zeros((2, 2)), "y": np.array([0, 1, 2])}, r"2 samples in 'x' but 3 labels in 'y'"),
        ({"x": np.zeros((2, 2)), "y": np.array([0.0, 1.0])}, r"labels 'y' must be a 1D integer array, found float64"),
        ({"x": np.zeros((2, 2)), "y": np.array([0, -3])}, r"labels 'y' hold a negative value \(-3\)"),
    ],
)
def test_npz_bad_arrays(tmp_path, arrays, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(GankitError, match=message):
        files.npz(str(tmp_path / "bad.npz"), "train")


def test_npz_file_problems(tmp_path):
    with pytest.raises(GankitError, match=r"^no such file: .*missing\.npz$"):
        files.npz(str(tmp_path / "missing.npz"), "train")
    with pytest.raises(GankitError, match=r": is a folder, expected a file$"):
        files.npz(str(tmp_path), "train")
    np.save(tmp_path / "one.npy", np.zeros(3))
    with pytest.raises(GankitError, match=r"one\.npy: is a single \.npy array, not an \.npz archive"):
        files.npz(str(tmp_path / "one.npy"), "train")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(GankitError, match=r"text\.npz: not an \.npz archive \(no zip signature\)"):
        files.npz(str(tmp_path / "text.npz"), "train")
    np.savez(tmp_path / "obj.npz", x=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(GankitError, match=r"obj\.npz: cannot read array 'x' \(ValueError: .*allow_pickle"):
        files.npz(str(tmp_path / "obj.npz"), "train")
    np.savez(tmp_path / "ok.npz", x=np.zeros((2, 2)))
    blob = (tmp_path / "ok.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(GankitError, match=r"cut\.npz: not a readable \.npz archive \(BadZipFile"):
        files.npz(str(tmp_path / "cut.npz"), "train")


def test_npz_permission_denied(tmp_path):
    np.savez(tmp_path / "p.npz", x=np.zeros((2, 2)))
    deny_reading(tmp_path / "p.npz")
    with pytest.raises(GankitError, match=r"p\.npz: permission denied"):
        files.npz(str(tmp_path / "p.npz"), "train")


# --------------------------------------------------------------------------------------------
# fuzzing: random bytes, truncations and bit flips give a TensorData or a GankitError, never
# another exception and never a hang (the deadline fails any example slower than 2 s).

FUZZ = settings(
    max_examples=int(os.environ.get("GANKIT_FUZZ_EXAMPLES", "60")),
    deadline=timedelta(seconds=2),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FUZZ_COUNTS = {"idx": 0, "npz": 0, "cifar10": 0, "imagefolder": 0}  # inputs tried, for reports

VALID_IMAGES, VALID_LABELS = mnist_arrays(3)
IDX_FILES = {
    "images": idx_bytes(IMAGES_MAGIC, VALID_IMAGES),
    "labels": idx_bytes(LABELS_MAGIC, VALID_LABELS),
}


def mutated(valid: bytes):
    """Random bytes, a truncation of ``valid``, or ``valid`` with bits flipped (and maybe cut)."""
    flips = st.lists(st.tuples(st.integers(0, len(valid) - 1), st.integers(0, 7)), min_size=1, max_size=8)
    return st.one_of(
        st.binary(max_size=3 * len(valid)),
        st.integers(0, len(valid) - 1).map(lambda n: valid[:n]),
        st.tuples(flips, st.integers(1, len(valid))).map(lambda fc: flip(valid, *fc)),
    )


def flip(valid: bytes, flips, cut: int) -> bytes:
    blob = bytearray(valid)
    for position, bit in flips:
        blob[position] ^= 1 << bit
    return bytes(blob[: max(cut, len(blob) - 64)])  # bits flipped, sometimes the tail cut too


def load_or_gankit_error(load) -> TensorData | None:
    try:
        data = load()
    except GankitError as err:
        assert "\n" not in str(err) and str(err)
        return None
    assert isinstance(data, TensorData)
    assert data.x.dtype == torch.float32 and bool(torch.isfinite(data.x).all())
    return data


def assert_images_in_range(data: TensorData) -> None:
    """What every reader promises: N x C x H x W in [-1, 1], one label per image when there are labels."""
    assert data.x.dim() == 4 and len(data.x) > 0
    assert float(data.x.min()) >= -1.0 and float(data.x.max()) <= 1.0
    assert data.y is None or len(data.y) == len(data.x)


def idx_headers(which: str):
    """A right magic number, random 32-bit dimensions (small, edge or huge), a random payload."""
    dim = st.one_of(st.integers(0, 30), st.sampled_from([2**31 - 1, 2**31, 2**32 - 1]), st.integers(0, 2**32 - 1))
    magic, ndim = (IMAGES_MAGIC, 3) if which == "images" else (LABELS_MAGIC, 1)
    return st.builds(
        lambda dims, payload: struct.pack(f">I{ndim}I", magic, *dims) + payload,
        st.tuples(*[dim] * ndim),
        st.binary(max_size=3000),
    )


@FUZZ
@given(
    which=st.sampled_from(["images", "labels"]),
    how=st.sampled_from(["mutate", "mutate gzip stream", "lying header", "lying header, gzipped"]),
    data=st.data(),
)
def test_fuzz_idx(which, how, data):
    valid = IDX_FILES[which]
    if how == "mutate":
        blob = data.draw(mutated(valid))
    elif how == "mutate gzip stream":
        blob = data.draw(mutated(gzip.compress(valid, mtime=0)))
    else:
        blob = data.draw(idx_headers(which))
        blob = gzip.compress(blob, mtime=0) if how.endswith("gzipped") else blob
    with tempfile.TemporaryDirectory() as folder:
        for kind, content in IDX_FILES.items():
            name = f"train-{kind}-idx{3 if kind == 'images' else 1}-ubyte"
            (pathlib.Path(folder) / name).write_bytes(blob if kind == which else content)
        FUZZ_COUNTS["idx"] += 1
        loaded = load_or_gankit_error(lambda: files.idx(folder, "train", "mnist"))
    if loaded is not None:
        assert loaded.x.dim() == 4 and loaded.x.shape[1] == 1
        assert float(loaded.x.min()) >= -1.0 and float(loaded.x.max()) <= 1.0
        assert 0 <= int(loaded.y.min()) and int(loaded.y.max()) <= 9


def npz_blob(compressed: bool) -> bytes:
    buffer = io.BytesIO()
    arrays = {"x": VALID_IMAGES[:, :4, :4], "y": VALID_LABELS.astype(np.int64)}
    (np.savez_compressed if compressed else np.savez)(buffer, **arrays)
    return buffer.getvalue()


NPZ_FILES = {False: npz_blob(False), True: npz_blob(True)}


@FUZZ
@given(compressed=st.booleans(), data=st.data())
def test_fuzz_npz(compressed, data):
    blob = data.draw(mutated(NPZ_FILES[compressed]))
    with tempfile.TemporaryDirectory() as folder:
        file = pathlib.Path(folder) / "d.npz"
        file.write_bytes(blob)
        FUZZ_COUNTS["npz"] += 1
        loaded = load_or_gankit_error(lambda: files.npz(str(file), "train"))
    if loaded is not None:
        assert_images_in_range(loaded)


CIFAR_BATCH = py2_pickle({b"data": np.arange(2 * 3072, dtype=np.uint8).reshape(2, 3072) % 251, b"labels": [3, 7]})


@FUZZ
@given(blob=mutated(CIFAR_BATCH))
def test_fuzz_cifar10(blob):
    with tempfile.TemporaryDirectory() as folder:
        (pathlib.Path(folder) / "test_batch").write_bytes(blob)
        FUZZ_COUNTS["cifar10"] += 1
        loaded = load_or_gankit_error(lambda: files.cifar10(folder, "test"))
    if loaded is not None:
        assert_images_in_range(loaded)
        assert loaded.x.shape[1:] == (3, 32, 32)
        assert 0 <= int(loaded.y.min()) and int(loaded.y.max()) <= 9


def png_blob() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.arange(48, dtype=np.uint8).reshape(4, 4, 3)).save(buffer, "PNG")
    return buffer.getvalue()


@FUZZ
@given(blob=mutated(png_blob()), image_size=st.sampled_from([0, 3]))
def test_fuzz_imagefolder(blob, image_size):
    with tempfile.TemporaryDirectory() as folder:
        (pathlib.Path(folder) / "a.png").write_bytes(blob)
        FUZZ_COUNTS["imagefolder"] += 1
        loaded = load_or_gankit_error(lambda: files.imagefolder(folder, "train", image_size, 0))
    if loaded is not None:
        assert_images_in_range(loaded)
        assert loaded.x.shape[0] == 1 and (image_size == 0 or loaded.x.shape[2:] == (3, 3))
