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


def quantize_png(path: Path, colors: int) -> None:
    """Rewrite the PNG at ``path`` with at most ``colors`` colours (median cut): a screenshot of flat colours
    loses nothing visible at 128 and shrinks several times."""
    from PIL import Image

    with Image.open(path) as im:
        small = im.convert("RGB").quantize(colors=colors, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


def png_bytes(fig) -> bytes:
    """A matplotlib Figure rendered to PNG bytes."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _show(ax, image: torch.Tensor) -> None:
    """One (C, H, W) image in [-1, 1] on ``ax``, without ticks."""
    img = image.detach().float().clamp(-1, 1).add(1).div(2).cpu()
    if img.shape[0] == 1:
        ax.imshow(img[0].numpy(), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    else:
        ax.imshow(img.permute(1, 2, 0).numpy(), interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def pairs_figure(top: torch.Tensor, bottom: torch.Tensor, top_label: str, bottom_label: str,
                 captions: list[str], title: str = ""):
    """Two rows of images, column i pairing ``top[i]`` with ``bottom[i]``, a caption under each pair.

    Args:
        top, bottom: (n, C, H, W) images in [-1, 1].
        top_label, bottom_label: the rows' names (left of each row).
        captions: n short strings (an error, a distance, a class).
    """
    from matplotlib.figure import Figure

    n = len(top)
    fig = Figure(figsize=(0.85 * n + 1.1, 2.3), dpi=90, layout="constrained")
    axes = fig.subplots(2, n, squeeze=False)
    for i in range(n):
        _show(axes[0, i], top[i])
        _show(axes[1, i], bottom[i])
        axes[1, i].set_xlabel(captions[i], fontsize=7)
    axes[0, 0].set_ylabel(top_label, fontsize=8)
    axes[1, 0].set_ylabel(bottom_label, fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def reconstruction_strip(x: torch.Tensor, reconstructions: torch.Tensor, error: torch.Tensor,
                         labels: torch.Tensor | None = None, n: int = 16, title: str = ""):
    """Held-out images above their reconstructions G(z*), the ``n`` worst first (a Figure).

    Each column is captioned with its error (mean squared, [-1, 1] pixels) and its class.
    """
    order = error.argsort(descending=True)[:n]
    captions = [f"{float(error[i]):.3f}" + ("" if labels is None else f"\nclass {int(labels[i])}") for i in order]
    return pairs_figure(x[order], reconstructions[order], "real x", "G(z*)", captions, title)


def neighbours_figure(samples: torch.Tensor, train: torch.Tensor, n: int = 12, title: str = ""):
    """Each of the first ``n`` samples above its nearest training image (pixel distance), a Figure.

    The memorisation question made visible: a sample that is a copy sits above its twin, at
    a distance far below the typical one (``gankit.metrics.memorisation``).
    """
    from gankit.metrics.memorisation import nearest_distances

    samples = samples[:n]
    dist, index = nearest_distances(samples, train)
    return pairs_figure(samples, train[index], "G(z)", "nearest\ntraining", [f"d={float(d):.2f}" for d in dist], title)


def save_walk(walk: torch.Tensor, rows: int, path: Path, title: str = "") -> None:
    """Latent walks as a PNG: images one walk per row; points as paths over the plane (2D) or a strip (1D)."""
    if walk.dim() == 4:
        save_image_grid(walk, path, nrow=len(walk) // rows)
        return
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4, 4), dpi=90)
    ax = fig.add_subplot()
    steps = len(walk) // rows
    for r in range(rows):
        seg = walk[r * steps : (r + 1) * steps].detach().cpu().numpy()
        ys = seg[:, 1] if seg.shape[1] > 1 else np.full(len(seg), r)
        ax.plot(seg[:, 0], ys, "-o", ms=2, lw=0.8)
    ax.set_title(title, fontsize=8)
    fig.tight_layout()
    fig.savefig(path)


def grids_gif(pngs: list[Path], duration_ms: int = 600) -> bytes:
    """The sample grids over training (RUN/samples/step_*.png) as one looping animated GIF.

    Frames of another size than the first are resized to it; the last frame is held
    three times as long.
    """
    import io

    frames = []
    for p in pngs:
        with Image.open(p) as im:
            frame = im.convert("RGB")
        if frames and frame.size != frames[0].size:
            frame = frame.resize(frames[0].size)
        frames.append(frame)
    if not frames:
        raise ValueError("grids_gif: no frames")
    buf = io.BytesIO()
    durations = [duration_ms] * (len(frames) - 1) + [3 * duration_ms]
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0)
    return buf.getvalue()


@torch.no_grad()
def decision_surface(D: torch.nn.Module, fake: torch.Tensor, real: torch.Tensor, title: str = ""):
    """D(x) = sigmoid(logit) over the data's plane (2D) or line (1D), under the samples (a Figure).

    2D: filled contours of D with the data (orange) and G's samples (blue) on top, the
    D = 1/2 level drawn in white. 1D: D's curve over the two histograms.
    """
    from matplotlib.figure import Figure

    D.eval()
    fake, real = fake.detach().cpu().float(), real.detach().cpu().float()
    both = torch.cat([fake, real])
    lo, hi = both.min(0).values, both.max(0).values
    pad = 0.15 * (hi - lo).clamp_min(1e-3)
    lo, hi = lo - pad, hi + pad
    fig = Figure(figsize=(4.6, 4), dpi=90, layout="constrained")
    ax = fig.add_subplot()
    if fake.shape[1] == 1:
        xs = torch.linspace(float(lo[0]), float(hi[0]), 400)[:, None]
        bins = np.linspace(float(lo[0]), float(hi[0]), 60)
        ax.hist(real[:, 0].numpy(), bins=bins, density=True, alpha=0.5, color="tab:orange", label="data")
        ax.hist(fake[:, 0].numpy(), bins=bins, density=True, alpha=0.5, color="tab:blue", label="G(z)")
        ax2 = ax.twinx()
        ax2.plot(xs[:, 0].numpy(), torch.sigmoid(D(xs)).numpy(), color="black", label="D(x)")
        ax2.axhline(0.5, color="gray", lw=0.6, ls=":")
        ax2.set_ylim(0, 1)
        ax2.set_ylabel("D(x)")
        ax.legend(loc="upper left", fontsize=7)
    else:
        gx, gy = torch.meshgrid(torch.linspace(float(lo[0]), float(hi[0]), 150),
                                torch.linspace(float(lo[1]), float(hi[1]), 150), indexing="xy")
        grid = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)
        prob = torch.sigmoid(D(grid)).reshape(gx.shape).numpy()
        filled = ax.contourf(gx.numpy(), gy.numpy(), prob, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.8)
        ax.contour(gx.numpy(), gy.numpy(), prob, levels=[0.5], colors="white", linewidths=1)
        ax.scatter(real[:, 0].numpy(), real[:, 1].numpy(), s=3, c="tab:orange", alpha=0.6, label="data")
        ax.scatter(fake[:, 0].numpy(), fake[:, 1].numpy(), s=2, c="tab:blue", alpha=0.6, label="G(z)")
        fig.colorbar(filled, ax=ax, label="D(x)")
        ax.set_aspect("equal")
        ax.legend(loc="upper right", fontsize=7)
    ax.set_title(title, fontsize=9)
    return fig
