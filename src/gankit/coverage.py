"""What a trained generator can and cannot make, as pictures for ``gankit report``.

``coverage_figures(run_dir, cfg)`` draws, for a run with a checkpoint:

- ``reconstructions``: held-out images above G(z*), their best reconstructions by latent
  optimisation (``gankit.invert``), the worst first: the images G cannot make;
- ``neighbours``: samples beside their nearest training images (the memorisation question);
- ``walk``: latent walks, spherical paths between random z's (Radford et al. 2016, fig. 4);
- ``animation``: the sample grids over training as an animated GIF;
- ``decision``: D's decision surface under the samples, for 1D/2D runs.

Each figure is also written to RUN/figures/ (PNG, or GIF for the animation). A figure that
does not apply to the run (no test split, no images, no checkpoint yet) is left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from gankit.config import Config, apply
from gankit.errors import GankitError

REPORT_INVERT = 100  # held-out images inverted for the report's strip (seeded draw)
REPORT_STEPS = 200  # Adam steps on z for them
STRIP = 16  # columns of the reconstruction and neighbour strips
WALKS, WALK_STEPS = 6, 10


@dataclass
class ReportFigure:
    """One figure of the report: its section id, heading, caption and encoded image."""

    key: str
    heading: str
    caption: str
    data: bytes
    kind: str = "png"  # png | gif

    @property
    def filename(self) -> str:
        return f"{'samples' if self.key == 'animation' else self.key}.{self.kind}"


def _held_out(cfg: Config):
    """The data set's ``test`` split, every class (``data.classes`` not applied), or None."""
    from gankit.data import TensorData
    from gankit.train import load_data

    try:
        data = load_data(apply(cfg, {"data.classes": ""}), "test")
    except GankitError:
        return None  # e.g. an npz or image folder without a test split
    return data if isinstance(data, TensorData) else None


def coverage_figures(run_dir: Path, cfg: Config, seed: int = 0) -> list[ReportFigure]:
    """The coverage figures of the run in ``run_dir`` (see the module docstring), also written to RUN/figures/."""
    from gankit.viz import grids_gif

    run_dir = Path(run_dir)
    figures: list[ReportFigure] = []
    grids = sorted((run_dir / "samples").glob("step_*.png"))
    if len(grids) >= 2:
        figures.append(ReportFigure("animation", "Samples over training, animated",
                                    f"The sample grids of {len(grids)} steps (the same z each time), looping.",
                                    grids_gif(grids), "gif"))
    try:
        figures += _generator_figures(run_dir, seed)
    except GankitError:
        pass  # no checkpoint yet, or data that cannot be loaded here: the report shows what it can
    if figures:
        out = run_dir / "figures"
        out.mkdir(exist_ok=True)
        for fig in figures:
            (out / fig.filename).write_bytes(fig.data)
    return figures


def _generator_figures(run_dir: Path, seed: int) -> list[ReportFigure]:
    from gankit.data import ToyDistribution
    from gankit.invert import invert, latent_walk
    from gankit.runs import generate, labels_to_sample, load_discriminator, load_run, uniform_labels
    from gankit.train import load_data
    from gankit.viz import decision_surface, neighbours_figure, png_bytes, reconstruction_strip

    run = load_run(run_dir)
    G, C = run.G, run.num_classes
    train = load_data(run.cfg)
    figures: list[ReportFigure] = []
    if len(run.shape) == 3:  # images
        held = _held_out(run.cfg)
        if held is not None:
            n = min(REPORT_INVERT, len(held))
            idx = torch.randperm(len(held), generator=torch.Generator().manual_seed(seed))[:n]
            labels = held.y[idx] if held.y is not None else None
            if not C or labels is not None:
                inv = invert(G, held.x[idx], labels, steps=REPORT_STEPS, seed=seed)
                worst = f"{float(inv.error.max()):.3f}"
                figures.append(ReportFigure(
                    "reconstructions", "Which real images can G make? Held-out images and G(z*), worst first",
                    f"Top: {n} held-out images drawn at random, the {min(STRIP, n)} worst reconstructed shown; bottom: "
                    f"G(z*) with z* found by {REPORT_STEPS} Adam steps on z (gankit invert). Under each: the mean "
                    f"squared error in [-1, 1] pixels (worst {worst}, mean {float(inv.error.mean()):.3f}).",
                    png_bytes(reconstruction_strip(held.x[idx], inv.reconstructions, inv.error, labels, STRIP))))
        sample_labels = uniform_labels(STRIP, C, seed) if C else None
        samples = generate(G, STRIP, seed=seed, labels=sample_labels)
        figures.append(ReportFigure(
            "neighbours", "Samples beside their nearest training image",
            "Top: samples G(z); bottom: the training image nearest to each in pixel space, with the distance d. "
            "A copy would sit above its twin at a small d.",
            png_bytes(neighbours_figure(samples, train.x, STRIP))))
        walk_labels = labels_to_sample(C, WALKS) if C else None
        walk = latent_walk(G, WALKS, WALK_STEPS, seed=seed, labels=walk_labels)
        figures.append(ReportFigure(
            "walk", "Latent walks",
            f"Each row: G along a spherical path (slerp) between two random z's in {WALK_STEPS} steps"
            f"{', one class per row' if C else ''} (gankit sample RUN --interpolate {WALK_STEPS}).",
            _grid_png(walk, WALK_STEPS)))
    elif len(run.shape) == 1 and run.shape[0] <= 2 and not C:
        D = load_discriminator(run)
        n = run.cfg.log.grid
        real = train.sample(n, torch.Generator().manual_seed(seed)) if isinstance(train, ToyDistribution) \
            else train.x[:n]
        fake = generate(G, n, seed=seed)
        figures.append(ReportFigure(
            "decision", "D's decision surface under the samples",
            "D(x) = sigmoid(D's logit) from checkpoints/last, with the data (orange) and G's samples (blue)"
            + (": the white line is D = 1/2." if run.shape[0] == 2 else "."),
            png_bytes(decision_surface(D, fake, real, title=f"step {run.step}"))))
    return figures


def _grid_png(images: torch.Tensor, nrow: int) -> bytes:
    import io

    from PIL import Image

    from gankit.viz import image_grid

    side = images.shape[-1]
    arr = image_grid(images, nrow, scale=max(1, 64 // side) if side < 32 else 1)
    buf = io.BytesIO()
    Image.fromarray(arr[..., 0] if arr.shape[2] == 1 else arr).save(buf, format="PNG")
    return buf.getvalue()
