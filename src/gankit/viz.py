"""Pictures of samples: image grids with pillow, scatter plots and histograms with matplotlib."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def image_grid(images: torch.Tensor, nrow: int | None = None, padding: int = 2, scale: int = 1) -> np.ndarray:
    """Tile images (N, C, H, W) in [-1, 1] into one uint8 array (H', W', C) with C in {1, 3}.

    Args:
        nrow: images per row (default: ceil(sqrt(N))).
        padding: pixels of white-ish gray between tiles.
        scale: integer upscaling of each pixel (nearest neighbour), for small images.
    """
    x = images.detach().float().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8).cpu()
    n, c, h, w = x.shape
    nrow = nrow or max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / nrow)
    grid = torch.full((c, rows * (h + padding) + padding, nrow * (w + padding) + padding), 128, dtype=torch.uint8)
    for i in range(n):
        r, col = divmod(i, nrow)
        top, left = padding + r * (h + padding), padding + col * (w + padding)
        grid[:, top : top + h, left : left + w] = x[i]
    arr = grid.permute(1, 2, 0).numpy()
    if scale > 1:
        arr = arr.repeat(scale, axis=0).repeat(scale, axis=1)
    return arr


def save_image_grid(images: torch.Tensor, path: Path, nrow: int | None = None) -> None:
    """Write ``image_grid(images)`` as a PNG; tiny images (side < 32) are upscaled for viewing."""
    side = images.shape[-1]
    arr = image_grid(images, nrow, scale=max(1, 64 // side) if side < 32 else 1)
    Image.fromarray(arr[..., 0] if arr.shape[2] == 1 else arr).save(path)


def save_points(fake: torch.Tensor, real: torch.Tensor, path: Path, title: str = "") -> None:
    """Scatter 2D samples (or histogram 1D ones) over the data, as a PNG."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4, 4), dpi=90)
    ax = fig.add_subplot()
    fake, real = fake.detach().cpu().numpy(), real.detach().cpu().numpy()
    if fake.shape[1] == 1:
        bins = np.linspace(min(fake.min(), real.min()), max(fake.max(), real.max()), 60)
        ax.hist(real[:, 0], bins=bins, density=True, alpha=0.5, label="data")
        ax.hist(fake[:, 0], bins=bins, density=True, alpha=0.5, label="G(z)")
        ax.legend()
    else:
        ax.scatter(real[:, 0], real[:, 1], s=4, c="tab:orange", alpha=0.5, label="data")
        ax.scatter(fake[:, 0], fake[:, 1], s=2, c="tab:blue", alpha=0.5, label="G(z)")
        ax.set_aspect("equal")
        ax.legend(loc="upper right", fontsize=7)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path)


def save_samples(fake: torch.Tensor, path: Path, real: torch.Tensor | None = None, title: str = "",
                 nrow: int | None = None) -> None:
    """Images -> a grid of ``nrow`` images per row (default: square); vectors -> a plot over ``real``."""
    if fake.dim() == 4:
        save_image_grid(fake, path, nrow)
    else:
        save_points(fake, real if real is not None else fake[:0], path, title)
