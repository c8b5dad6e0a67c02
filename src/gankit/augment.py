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


def parse_policy(policy: str) -> tuple[str, ...]:
    """``"translation,cutout"`` -> ("translation", "cutout"); "" -> (). Raises on unknown names."""
    names = tuple(p.strip() for p in policy.split(",") if p.strip())
    for name in names:
        if name not in POLICIES:
            raise GankitError(f"train.augment: unknown policy {name!r}; valid: {', '.join(POLICIES)}")
    return names


def diff_augment(x: torch.Tensor, policy: tuple[str, ...], generator: torch.Generator) -> torch.Tensor:
    """x (N, C, H, W) with the policies applied in order, each sample its own draw (Zhao et al. 2020).

    Differentiable with respect to x; ``policy`` () returns x itself.
    """
    for name in policy:
        x = POLICIES[name](x, generator)
    return x
