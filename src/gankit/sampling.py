"""Images by seed, truncation, and latent walks as videos: ``gankit sample --seeds`` / ``--interpolate``.

**One image per seed.** Seed s gives z from its own ``torch.Generator().manual_seed(s)``
(``gankit.models.sample_noise``), and G runs on that z alone (a batch of one, G in eval mode),
so the image of a seed is the same whether it is asked alone or among others, in any order:
the ``--seeds 0-35`` of NVlabs' stylegan2-ada ``generate.py``.

**Truncation** (``psi``): every component of z with |z_i| > psi is drawn again, from the same
seeded stream, until all lie within psi: z then follows the normal truncated to [-psi, psi]
(the "truncation trick" of Brock et al. 2019, BigGAN, section 3.1). Components already inside
are kept, so a seed's truncated image stays near its plain one. Smaller psi trades variety
for typical, cleaner samples. gankit's generators have no mapping network, so StyleGAN's
psi (a step toward the mean w) does not apply. For uniform noise, U(-sqrt 3, sqrt 3), the
same rule makes z uniform on [-psi, psi]^d, and psi >= sqrt 3 changes nothing.

**Videos.** A latent walk (``gankit.invert.latent_walk``: spherical paths between seeded
z's) becomes one frame per point, the walks side by side in a grid, enlarged by an integer
factor (nearest neighbour) to at least ``VIDEO_MIN_SIDE`` pixels and padded to even sides
(H.264 in yuv420p needs them). MP4 is written by imageio through imageio-ffmpeg, whose wheel
carries its own ffmpeg binary (libx264); GIF through imageio's Pillow plugin. Nothing is
downloaded at run time.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import numpy as np
import torch
from torch import nn

from gankit.errors import GankitError
from gankit.models import num_classes, sample_noise

MAX_SEEDS = 100_000
MIN_PSI = 0.01  # below this the resampling needs thousands of draws per component
VIDEO_MIN_SIDE = 256  # frames are enlarged (integer factor) to at least this many pixels
VIDEO_SUFFIXES = (".mp4", ".gif")


def parse_seeds(text: str) -> list[int]:
    """``"0-3,7,10-11"`` -> [0, 1, 2, 3, 7, 10, 11] (order kept, repeats dropped).

    Raises:
        GankitError: anything but comma-separated integers >= 0 and ranges A-B with A <= B.
    """
    seeds: list[int] = []
    for part in text.split(","):
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if not match:
            raise GankitError(f"--seeds {text}: expected integers and ranges like 0-99,120,200-210")
        lo = int(match[1])
        hi = int(match[2]) if match[2] is not None else lo
        if hi < lo:
            raise GankitError(f"--seeds {text}: range {lo}-{hi} runs backwards")
        if len(seeds) + hi - lo + 1 > MAX_SEEDS:
            raise GankitError(f"--seeds {text}: more than {MAX_SEEDS} seeds")
        seeds += range(lo, hi + 1)
    return list(dict.fromkeys(seeds))


def seed_noise(G: nn.Module, seed: int, psi: float | None = None) -> torch.Tensor:
    """z of shape (1, z_dim) for ``seed``, truncated to |z_i| <= psi by resampling when psi is given."""
    gen = torch.Generator().manual_seed(seed)
    z = sample_noise(G, 1, gen)
    if psi is None:
        return z
    if not psi >= MIN_PSI:
        raise GankitError(f"--trunc {psi}: must be >= {MIN_PSI}")
    outside = z.abs() > psi
    while outside.any():  # each round draws a whole fresh z from the seed's stream; the outside components take it
        z = torch.where(outside, sample_noise(G, 1, gen), z)
        outside = z.abs() > psi
    return z


@torch.no_grad()
def seed_images(G: nn.Module, seeds: list[int], psi: float | None = None, label: int | None = None) -> torch.Tensor:
    """G(z_s) for each seed s, one forward pass per seed: (len(seeds), *shape) on the CPU.

    A conditional G generates class ``label``, or, without it, class s mod C for seed s.
    """
    classes = num_classes(G)
    if label is not None and not classes:
        raise GankitError("--label: this run's model is unconditional (no classes to choose from)")
    if label is not None and not 0 <= label < classes:
        raise GankitError(f"--label {label}: out of range; this run's classes are 0..{classes - 1}")
    device = next(G.parameters()).device
    was_training = G.training
    G.eval()
    out = []
    try:
        for s in seeds:
            z = seed_noise(G, s, psi).to(device)
            if classes:
                c = torch.tensor([label if label is not None else s % classes], device=device)
                out.append(G(z, c).float().cpu())
            else:
                out.append(G(z).float().cpu())
    finally:
        G.train(was_training)
    return torch.cat(out)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) in [-1, 1] -> (N, H, W, C) uint8, p = round((x + 1) * 127.5)."""
    x = images.detach().float().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).cpu().numpy()


def write_seed_pngs(images: torch.Tensor, seeds: list[int], out: str | os.PathLike) -> list[Path]:
    """``OUT/seed0007.png`` for each seed, at the generator's own size; returns the files."""
    from PIL import Image

    if images.dim() != 4:
        raise GankitError("--seeds writes images; this run's samples are points (use --num N --out FILE.png)")
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for s, pixels in zip(seeds, to_uint8(images)):
        path = folder / f"seed{s:04d}.png"
        tmp = path.with_name(f".{path.name}.tmp")
        Image.fromarray(pixels[..., 0] if pixels.shape[2] == 1 else pixels).save(tmp, format="PNG")
        os.replace(tmp, path)
        files.append(path)
    return files


def walk_frames(walk: torch.Tensor, rows: int) -> np.ndarray:
    """Latent walks (rows * K, C, H, W) -> K frames (K, H', W', 3) uint8: the walks in a grid.

    The grid is ceil(sqrt(rows)) walks wide with 2 px gaps (none for one walk), enlarged by
    the smallest integer factor giving a shorter side >= ``VIDEO_MIN_SIDE``, then padded
    to even sides.
    """
    from gankit.viz import image_grid

    if walk.dim() != 4:
        raise GankitError("a video needs images; this run's samples are points (write walk.png instead)")
    steps = len(walk) // rows
    per_step = walk.reshape(rows, steps, *walk.shape[1:]).transpose(0, 1)  # (K, rows, C, H, W)
    nrow = max(1, math.ceil(math.sqrt(rows)))
    padding = 0 if rows == 1 else 2
    first = image_grid(per_step[0], nrow, padding=padding)
    scale = max(1, math.ceil(VIDEO_MIN_SIDE / min(first.shape[:2])))
    frames = []
    for t in range(steps):
        grid = image_grid(per_step[t], nrow, padding=padding, scale=scale)
        if grid.shape[2] == 1:
            grid = grid.repeat(3, axis=2)
        h, w = grid.shape[:2]
        frames.append(np.pad(grid, ((0, h % 2), (0, w % 2), (0, 0)), constant_values=128))
    return np.stack(frames)


def write_video(frames: np.ndarray, path: str | os.PathLike, fps: float = 24.0) -> Path:
    """Frames (K, H, W, 3) uint8 -> an MP4 (H.264, yuv420p) or a looping GIF, written atomically."""
    try:
        import imageio.v2 as imageio
    except ImportError:
        raise GankitError("videos need imageio and imageio-ffmpeg (gankit's dependencies): "
                          "pip install -c constraints.txt imageio imageio-ffmpeg") from None

    path = Path(path)
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise GankitError(f"--out {path}: a video must end in {' or '.join(VIDEO_SUFFIXES)}")
    if not fps > 0:
        raise GankitError(f"--fps {fps}: must be > 0")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    try:
        if path.suffix.lower() == ".mp4":
            # macro_block_size=1: keep our size (even sides are ensured by walk_frames), no rescaling.
            with imageio.get_writer(tmp, format="FFMPEG", fps=fps, codec="libx264", pixelformat="yuv420p",
                                    quality=8, macro_block_size=1, ffmpeg_log_level="error") as writer:
                for frame in frames:
                    writer.append_data(frame)
        else:
            imageio.mimwrite(tmp, list(frames), format="GIF", duration=1000.0 / fps, loop=0)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
