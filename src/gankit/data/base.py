"""The two kinds of data gankit trains on, and the minibatch stream of Algorithm 1."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from gankit.distributed import SINGLE, Shard
from gankit.errors import GankitError


@dataclass
class TensorData:
    """A finite data set held in memory.

    Attributes:
        x: samples, float32. Images are NCHW in [-1, 1]; vectors are (N, d).
        y: int64 class labels of shape (N,), or None.
        num_classes: number of classes when ``y`` is given, else 0.
        name: a short description for messages ("mnist5k/train").
    """

    x: torch.Tensor
    y: torch.Tensor | None = None
    num_classes: int = 0
    name: str = "data"

    def __post_init__(self) -> None:
        if self.x.dtype != torch.float32:
            raise GankitError(f"{self.name}: samples must be float32, got {self.x.dtype}")
        if len(self.x) == 0:
            raise GankitError(f"{self.name}: the data set is empty")
        if not torch.isfinite(self.x).all():
            raise GankitError(f"{self.name}: samples contain NaN or Inf values")
        if self.y is not None:
            if self.y.dtype != torch.int64 or self.y.shape != (len(self.x),):
                raise GankitError(f"{self.name}: labels must be int64 of shape ({len(self.x)},)")
            if self.num_classes == 0:
                self.num_classes = int(self.y.max()) + 1

    def __len__(self) -> int:
        return len(self.x)

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of one sample: (C, H, W) for images, (d,) for vectors."""
        return tuple(self.x.shape[1:])

    @property
    def is_image(self) -> bool:
        return self.x.dim() == 4

    def to(self, device: torch.device | str) -> "TensorData":
        """The same data set with its tensors on ``device``."""
        y = None if self.y is None else self.y.to(device)
        return TensorData(self.x.to(device), y, self.num_classes, self.name)


def held_out_pair(test: TensorData, train_split: str, valid) -> tuple[TensorData, TensorData]:
    """(images to choose a bandwidth or sigma on, images to score) for a run trained on ``train_split``, as the
    Parzen and AIS metrics split them: ``valid()`` (the valid split, disjoint from train-minus-valid) and the
    whole ``test`` split when the run trained on ``train-minus-valid``; else the two fixed halves of ``test``."""
    if train_split == "train-minus-valid":
        return valid(), test
    perm = torch.randperm(len(test), generator=torch.Generator().manual_seed(0))
    half = len(test) // 2

    def part(idx: torch.Tensor) -> TensorData:
        return TensorData(test.x[idx], None if test.y is None else test.y[idx], test.num_classes, test.name)

    return part(perm[:half]), part(perm[half:])


def parse_classes(text: str) -> tuple[int, ...]:
    """``data.classes`` as a sorted tuple of class indices: "0,1,2,3,4" -> (0, 1, 2, 3, 4); "" -> ().

    Raises:
        GankitError: not a comma-separated list of distinct non-negative integers.
    """
    if not text.strip():
        return ()
    try:
        classes = [int(part) for part in text.split(",")]
    except ValueError:
        raise GankitError(f"data.classes: expected comma-separated class indices like 0,1,2, got {text!r}") from None
    if min(classes) < 0:
        raise GankitError(f"data.classes: class indices must be >= 0, got {text!r}")
    if len(set(classes)) != len(classes):
        raise GankitError(f"data.classes: a class is listed twice in {text!r}")
    return tuple(sorted(classes))


def select_classes(data: "TensorData | ToyDistribution", classes: tuple[int, ...]) -> TensorData:
    """The examples of ``data`` whose label is in ``classes`` (``data.classes``).

    ``num_classes`` stays that of the whole data set, so labels keep their meaning (a
    conditional generator is built for every class, and trained on the chosen ones).

    Raises:
        GankitError: the data have no labels, or a class is not among them.
    """
    if not isinstance(data, TensorData) or data.y is None:
        raise GankitError(f"data.classes: {data.name} has no class labels to choose from")
    present = sorted(set(data.y.tolist()))
    missing = [c for c in classes if c not in present]
    if missing:
        raise GankitError(f"data.classes: class {missing[0]} is not in {data.name} "
                          f"(its classes: {','.join(map(str, present))})")
    keep = torch.isin(data.y, torch.tensor(classes, dtype=torch.int64))
    name = f"{data.name}[classes {','.join(map(str, classes))}]"
    return TensorData(data.x[keep], data.y[keep], num_classes=data.num_classes, name=name)


class ToyDistribution:
    """A known distribution sampled afresh for every minibatch (no finite training set).

    Subclasses set ``shape`` and ``name`` and implement ``sample``.
    """

    shape: tuple[int, ...] = (1,)
    name: str = "toy"
    num_classes: int = 0
    is_image: bool = False
    y = None

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw n samples of shape (n, *shape), float32."""
        raise NotImplementedError


class Batches:
    """An endless stream of minibatches of m examples, with exactly restorable state.

    For a finite data set each epoch is a permutation drawn from ``(seed, epoch)`` and the
    stream position is two integers, so resuming continues with the very same batches.
    The last incomplete batch of an epoch is dropped (every minibatch has exactly m
    examples, as in Algorithm 1). For a toy distribution the state is the generator's.

    The data stay on ``device`` as one tensor and a minibatch is an index gather there (no
    DataLoader: all our data sets fit). The order is drawn on the CPU, so it does not
    depend on the device. Under DDP (``shard``) every rank walks the same stream of global
    minibatches of m and keeps its rank's m / N rows: ``m`` is then this rank's share.
    """

    def __init__(self, data: TensorData | ToyDistribution, m: int, seed: int, device: torch.device | str = "cpu",
                 shard: Shard | None = None):
        if isinstance(data, TensorData) and len(data) < m:
            raise GankitError(
                f"{data.name}: batch size {m} is larger than the data set ({len(data)} samples)"
            )
        self.shard = shard or SINGLE
        self.device = torch.device(device)
        if isinstance(data, TensorData) and data.x.device != self.device:
            data = data.to(self.device)
        self.data, self.global_m, self.seed = data, m, seed
        self.m = m // self.shard.world
        self.epoch, self.pos = 0, 0
        self._perm: torch.Tensor | None = None
        self._toy_gen = torch.Generator().manual_seed(seed)

    def _permutation(self) -> torch.Tensor:
        if self._perm is None:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
            self._perm = torch.randperm(len(self.data), generator=g).to(self.device)
        return self._perm

    def next(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The next minibatch: (x of shape (m, *shape), y of shape (m,) or None)."""
        m = self.global_m
        if isinstance(self.data, ToyDistribution):
            return self.shard.take(self.data.sample(m, self._toy_gen)).to(self.device), None
        if self.pos + m > len(self.data):
            self.epoch, self.pos, self._perm = self.epoch + 1, 0, None
        idx = self.shard.take(self._permutation()[self.pos : self.pos + m])
        self.pos += m
        y = self.data.y[idx] if self.data.y is not None else None
        return self.data.x[idx], y

    @property
    def batches_per_epoch(self) -> float:
        if isinstance(self.data, ToyDistribution):
            return math.inf
        return len(self.data) // self.global_m

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "pos": self.pos, "toy_gen": self._toy_gen.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.pos, self._perm = int(state["epoch"]), int(state["pos"]), None
        self._toy_gen.set_state(state["toy_gen"])


def unit_uniform(n: int, dim: int, generator: torch.Generator) -> torch.Tensor:
    """n rows of U(-sqrt 3, sqrt 3)^dim, uniform noise with unit variance, drawn on ``generator``'s device."""
    return (torch.rand(n, dim, generator=generator, device=generator.device) * 2 - 1) * math.sqrt(3)


class Prior:
    """The seeded source of Algorithm 1's noise z (N(0, I) or uniform) and fake labels c ~ U{0..C-1}.

    A ``torch.Generator`` on the training device. Under DDP (``shard``), a request for
    this rank's n rows draws the global n N rows on every rank and keeps the rank's slice,
    so the ranks together use exactly the draws of one process.
    """

    def __init__(self, seed: int, device: torch.device | str = "cpu", shard: Shard | None = None):
        self.generator = torch.Generator(torch.device(device)).manual_seed(seed)
        self.shard = shard or SINGLE

    @property
    def device(self) -> torch.device:
        return self.generator.device

    def normal(self, n: int, dim: int) -> torch.Tensor:
        """This rank's n rows of N(0, I) noise, (n, dim) float32."""
        z = torch.randn(n * self.shard.world, dim, generator=self.generator, device=self.device)
        return self.shard.take(z)

    def uniform(self, n: int, dim: int) -> torch.Tensor:
        """This rank's n rows of U(-sqrt 3, sqrt 3)^dim noise (unit variance; ``model.noise=uniform``)."""
        return self.shard.take(unit_uniform(n * self.shard.world, dim, self.generator))

    def classes(self, n: int, num_classes: int) -> torch.Tensor:
        """This rank's n labels drawn uniformly from 0..num_classes-1, (n,) int64."""
        c = torch.randint(num_classes, (n * self.shard.world,), generator=self.generator, device=self.device)
        return self.shard.take(c)

    def get_state(self) -> torch.Tensor:
        return self.generator.get_state()

    def set_state(self, state: torch.Tensor) -> "Prior":
        self.generator.set_state(state)
        return self
