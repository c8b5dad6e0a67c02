"""Watching a run train: the first grids, the tick line, the best evaluation so far.

What StyleGAN2-ADA's training loop shows, for gankit's fit loop (``gankit.loop``):

- ``RUN/samples/reals.png`` and ``fakes_init.png`` before the first step: a wrong data set,
  scale or colour order shows at once, not after an hour;
- a tick row (step, images/s, ETA, peak memory, ADA's p, the last evaluation) added to each
  line of ``metrics.jsonl``; ``format_tick`` makes it the one line the CLI shows;
- ``improves``: whether an evaluation beats the best so far by ``eval.best`` (``checkpoints/best``).

Nothing here touches a training random stream: grids use their own seeded generators.
"""

from __future__ import annotations

import math
import resource
import sys
import time
from pathlib import Path

import torch

from gankit.data import TensorData

REALS_SEED_OFFSET = 6  # seed + 6 picks the images of reals.png (seed .. seed + 5 are the run's streams)


def write_start_grids(trainer, run_dir: Path) -> None:
    """RUN/samples/reals.png (log.grid training images) and fakes_init.png (G before any update).

    For image data only (a 1D/2D run's grids already draw its data under the samples).
    fakes_init uses the fixed noise of every later ``step_*.png`` grid.
    """
    from gankit.viz import save_samples

    data, cfg = trainer.data, trainer.cfg
    if not (isinstance(data, TensorData) and data.is_image):
        return
    n = min(cfg.log.grid, len(data.x))
    pick = torch.randperm(len(data.x), generator=torch.Generator().manual_seed(cfg.seed + REALS_SEED_OFFSET))[:n]
    save_samples(data.x[pick].cpu(), run_dir / "samples" / "reals.png", title=f"{n} training images")
    fake, nrow = grid_samples(trainer)
    save_samples(fake, run_dir / "samples" / "fakes_init.png", title="step 0 (before training)", nrow=nrow)


def grid_samples(trainer) -> tuple[torch.Tensor, int | None]:
    """The samples of a run's grids, from the same z (seed + 2) every time, and the grid's row length: log.grid
    samples, or for a conditional G one row per class (at least one sample each) with its row length."""
    from gankit.runs import class_rows

    labels, nrow = None, None
    if trainer.num_classes:
        nrow = max(1, trainer.cfg.log.grid // trainer.num_classes)
        labels = class_rows(trainer.num_classes, nrow)
    n = trainer.cfg.log.grid if labels is None else len(labels)
    return trainer.sample(n, seed=trainer.cfg.seed + 2, labels=labels), nrow


def peak_memory_mb(device: torch.device) -> float:
    """The process's peak memory in MiB: CUDA's maximum allocated on a GPU, else the peak resident set."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return rss / 2**20 if sys.platform == "darwin" else rss / 2**10


class Ticker:
    """The tick row of ``metrics.jsonl``: speed since this process started training, ETA, memory, p.

    Args:
        trainer: the ``gankit.train.Trainer`` (its step, device, config and ADA's p are read).
    """

    def __init__(self, trainer):
        self.trainer = trainer
        self.start_step, self.t0 = trainer.step, time.perf_counter()
        self.last_eval: dict = {}

    def row(self, step: int) -> dict:
        t, cfg = self.trainer, self.trainer.cfg
        steps_per_s = (step - self.start_step) / max(time.perf_counter() - self.t0, 1e-9)
        row = {
            "steps_per_s": steps_per_s,
            "images_per_s": steps_per_s * cfg.train.k * cfg.data.batch_size,  # real images shown to D
            "eta_s": (cfg.train.steps - step) / steps_per_s if steps_per_s > 0 else None,
            "peak_mem_mb": peak_memory_mb(t.device),
        }
        if t.augment_p is not None:
            row["augment_p"] = t.augment_p
            rt = t.objective.ada.rt
            row["ada_rt"] = None if math.isnan(rt) else rt
        if self.last_eval:
            row["last_eval"] = dict(self.last_eval)
        return row

    def pace(self) -> tuple[int, float]:
        """(steps trained, seconds) since this process started training."""
        return self.trainer.step - self.start_step, time.perf_counter() - self.t0

    def evaluated(self, step: int, result: dict, key: str) -> None:
        """Remember an evaluation for the next rows: ``key``'s value, or every number when no key."""
        numbers = numbers_of(result)
        self.last_eval = {"step": step, **({key: numbers[key]} if key in numbers else numbers)}


def numbers_of(result: dict) -> dict:
    """The numbers of an evaluation's result: its int and float values, but not flags (bools) or the
    sample count ``n``."""
    return {k: v for k, v in result.items() if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "n"}


def improves(best: dict, result: dict, key: str, mode: str, step: int) -> bool:
    """Whether ``result[key]`` beats ``best`` ({"key", "value", "step"}, updated in place when it does).

    Raises:
        GankitError: the evaluation has no number ``key`` (one line listing those it has).
    """
    from gankit.errors import GankitError

    numbers = numbers_of(result)
    value = numbers.get(key)
    if value is None:
        have = ", ".join(numbers)
        raise GankitError(f"eval.best: the evaluation has no number {key!r}; it has: {have}")
    if not math.isfinite(value):
        return False
    old = best.get("value") if best.get("key") == key else None
    if old is not None and not (value < old if mode == "min" else value > old):
        return False
    best.update(key=key, value=float(value), step=step)
    return True


def format_tick(row: dict) -> str:
    """A tick row as one short line: ``img/s 41.2 | ETA 1:02:03 | mem 812 MiB | p 0.12 | fid 45.1 @2000``."""
    parts = [f"img/s {row['images_per_s']:.1f}"]
    if row.get("eta_s") is not None:
        s = int(row["eta_s"])
        parts.append(f"ETA {s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}")
    parts.append(f"mem {row['peak_mem_mb']:.0f} MiB")
    if "augment_p" in row:
        parts.append(f"p {row['augment_p']:.3f}")
    ev = row.get("last_eval")
    if ev:
        shown = [f"{k} {v:.4g}" for k, v in ev.items() if k != "step"][:2]
        parts.append(" ".join(shown) + f" @{ev['step']}")
    return " | ".join(parts)
