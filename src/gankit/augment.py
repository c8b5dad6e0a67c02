"""DiffAugment: differentiable augmentation of what the discriminator sees (Zhao et al. 2020).

Zhao, Liu, Lin, Zhu & Han (2020), "Differentiable Augmentation for Data-Efficient GAN
Training": D is shown T(x) and T(G(z)) for random transformations T, in *both* players'
updates, and T is differentiable so G's gradient flows through it. With few images (mnist5k
trains on 4,000) D otherwise memorises the data set and its feedback to G degrades.

The three policies of the paper's reference code, for NCHW images in [-1, 1]:

- ``color``: brightness + U(-0.5, 0.5); saturation: the deviation from the per-pixel
  channel mean times U(0, 2); contrast: the deviation from the image mean times U(0.5, 1.5).
- ``translation``: shift by whole pixels, up to 1/8 of the side each way, filling with zeros.
- ``cutout``: zero a square of half the side at a random place (it may stick out).

Adaptive augmentation (``ada``, Karras et al. 2020, "Training Generative Adversarial Networks
with Limited Data"): each policy is applied to each image with a probability p, and p is
steered by how sure D is of the data (``AdaptiveAugment``).

Every draw comes from a ``torch.Generator`` the caller owns (the training run saves its state
in the checkpoint, so a resumed run draws the same transformations). Each sample of a batch
gets its own transformation; real and fake batches get independent draws of the same policy.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from gankit.errors import GankitError


def _rand(x: torch.Tensor, generator: torch.Generator, *shape: int) -> torch.Tensor:
    """U[0, 1) of ``shape`` from ``generator`` (drawn where it lives), on x's device and dtype."""
    return torch.rand(shape, generator=generator, device=generator.device).to(x.device, x.dtype)


def _randint(x: torch.Tensor, generator: torch.Generator, low: int, high: int, n: int) -> torch.Tensor:
    return torch.randint(low, high, (n,), generator=generator, device=generator.device).to(x.device)


def color(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random brightness, saturation and contrast per sample (DiffAugment's ``color``)."""
    n = len(x)
    x = x + (_rand(x, generator, n, 1, 1, 1) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_rand(x, generator, n, 1, 1, 1) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_rand(x, generator, n, 1, 1, 1) + 0.5) + mean


def translation(x: torch.Tensor, generator: torch.Generator, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by up to ``ratio`` of its side, in whole pixels, zeros coming in."""
    n, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = _randint(x, generator, -sh, sh + 1, n).view(n, 1, 1)
    dx = _randint(x, generator, -sw, sw + 1, n).view(n, 1, 1)
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    # Index into x padded by one zero pixel: a source outside the image reads the border zeros.
    src_r = (rows + dy + 1).clamp(0, h + 1).expand(n, h, w)
    src_c = (cols + dx + 1).clamp(0, w + 1).expand(n, h, w)
    padded = F.pad(x, [1, 1, 1, 1])
    batch = torch.arange(n, device=x.device).view(n, 1, 1).expand(n, h, w)
    return padded.permute(0, 2, 3, 1)[batch, src_r, src_c].permute(0, 3, 1, 2)


def cutout(x: torch.Tensor, generator: torch.Generator, ratio: float = 0.5) -> torch.Tensor:
    """Zero a square of ``ratio`` times the side at a random centre in each image."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    top = _randint(x, generator, 0, h + (1 - ch % 2), n).view(n, 1, 1) - ch // 2
    left = _randint(x, generator, 0, w + (1 - cw % 2), n).view(n, 1, 1) - cw // 2
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    inside = (rows >= top) & (rows < top + ch) & (cols >= left) & (cols < left + cw)
    return x * (~inside).unsqueeze(1).to(x.dtype)


POLICIES: dict[str, Callable[[torch.Tensor, torch.Generator], torch.Tensor]] = {
    "color": color,
    "translation": translation,
    "cutout": cutout,
}


ADA = "ada"  # in train.augment: adaptive probability over the other policies named (alone: all of them)


def parse_policy(policy: str) -> tuple[str, ...]:
    """``"translation,cutout"`` -> ("translation", "cutout"); "" -> (). Raises on unknown names.

    ``ada`` may be one of the names (``adaptive_policy`` splits it off).
    """
    names = tuple(p.strip() for p in policy.split(",") if p.strip())
    for name in names:
        if name not in POLICIES and name != ADA:
            raise GankitError(f"train.augment: unknown policy {name!r}; valid: {', '.join(POLICIES)}, {ADA}")
    return names


def adaptive_policy(names: tuple[str, ...]) -> tuple[bool, tuple[str, ...]]:
    """(adaptive, policies): ``("ada",)`` -> (True, every policy); ``("ada", "color")`` -> (True, ("color",));
    names without ``ada`` -> (False, names)."""
    if ADA not in names:
        return False, names
    rest = tuple(n for n in names if n != ADA)
    return True, rest or tuple(POLICIES)


def diff_augment(x: torch.Tensor, policy: tuple[str, ...], generator: torch.Generator) -> torch.Tensor:
    """x (N, C, H, W) with the policies applied in order, each sample its own draw (Zhao et al. 2020).

    Differentiable with respect to x; ``policy`` () returns x itself.
    """
    for name in policy:
        x = POLICIES[name](x, generator)
    return x


class AdaptiveAugment:
    """ADA's augmentation probability p and the overfitting heuristic that steers it (Karras et al. 2020, sec. 3).

    Each policy is applied to each image independently with probability p (``apply``), to
    data and samples alike, in both players' steps. D's outputs on the data it trains on are
    collected (``observe``); every ``interval`` steps the trainer calls ``adjust``, which sets
    r_t = E[sign(D(x_real))] over the outputs collected since the last adjustment and moves p by
    ``sign(r_t - target) * images / (kimg * 1000)``, clamped to [0, 1], where ``images`` is the
    number of real images D was shown since. With the paper's ``kimg`` = 500, p can go from 0
    to 1 in 500,000 images: fast next to a long GPU run, and slow on a CPU (at 50 images/s,
    p rises by at most 0.1 per quarter of an hour); lower ``train.ada_kimg`` for short runs.
    r_t near 1 means D calls nearly every training image real: it has begun to memorise them.

    The state (p, the running sum of signs and their count, the last r_t) is plain numbers,
    saved in checkpoints (``state_dict``) so a resumed run is bit-identical.
    """

    def __init__(self, policy: tuple[str, ...], target: float = 0.6, kimg: float = 500.0, p: float = 0.0):
        self.policy, self.target, self.kimg = policy, target, kimg
        self.p = p
        self.rt = float("nan")  # the last r_t (nan before the first adjustment)
        self._signs: torch.Tensor | float = 0.0  # sum of sign(D(x_real)) since the last adjustment
        self._count = 0

    def apply(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """x (N, C, H, W) with each policy applied to each image with probability p (differentiable in x)."""
        if self.p <= 0:
            return x  # nothing drawn: a run that never raises p draws what one without ADA draws
        for name in self.policy:
            chosen = _rand(x, generator, len(x), 1, 1, 1) < self.p
            x = torch.where(chosen, POLICIES[name](x, generator), x)
        return x

    def observe(self, real_logits: torch.Tensor) -> None:
        """Collect D's outputs on a minibatch of data, (m,) (kept on their device: no sync)."""
        self._signs = self._signs + torch.sign(real_logits.detach()).double().sum()
        self._count += real_logits.numel()

    def adjust(self, images: int, reduce: Callable[[list[float]], list[float]] | None = None) -> None:
        """Move p after D was shown ``images`` real images since the last call.

        ``reduce`` maps [sum of signs, count] to the same over every process (the mean over
        ranks, under DDP), so every rank moves p alike. Nothing collected: p stays.
        """
        values = [float(self._signs), float(self._count)]
        if reduce is not None:
            values = reduce(values)
        self._signs, self._count = 0.0, 0
        if values[1] <= 0:
            return
        self.rt = values[0] / values[1]
        step = images / (self.kimg * 1000.0)
        direction = (self.rt > self.target) - (self.rt < self.target)  # sign(r_t - target)
        self.p = min(1.0, max(0.0, self.p + direction * step))

    def state_dict(self) -> dict:
        return {"p": self.p, "rt": self.rt, "signs": float(self._signs), "count": self._count}

    def load_state_dict(self, state: dict) -> None:
        self.p, self.rt = float(state["p"]), float(state["rt"])
        self._signs, self._count = float(state["signs"]), int(state["count"])
