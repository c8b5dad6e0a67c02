"""The fit loop: train a config into a run directory, step after step, and resume it exactly.

``fit`` counts steps and hangs the periodic work (log, evaluate, sample, checkpoint) off
``step % every == 0``; each step is ``Trainer.train_step`` (Algorithm 1, ``gankit.train``).
Everything the run writes follows DESIGN.md's run-directory contract. Under torchrun the
same loop runs in every process; rank 0 alone writes (``gankit.distributed``).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
from dataclasses import asdict, astuple
from pathlib import Path
from typing import Callable

import torch

from gankit import checkpoint, config as config_lib, distributed, watch
from gankit.data import TensorData, ToyDistribution
from gankit.errors import GankitError
from gankit.runs import evaluate_generator
from gankit.train import StepStats, Trainer


def _nan_message(problem: str, step: int, run_dir: Path) -> str:
    """The one line a diverged run stops with: where its last good checkpoint is, if it has one."""
    kept = checkpoint.latest(run_dir)
    if kept is not None:
        return (f"{problem}; stopped (the last good checkpoint, {kept.name}, is in {run_dir}/checkpoints/last; "
                f"--set train.on_nan=rollback retries from it with halved learning rates)")
    return (f"{problem}; stopped before the first checkpoint, so nothing was saved: lower the learning rates "
            f"(train.lr_g, train.lr_d), or use --set train.on_nan=rollback with log.checkpoint_every below {step}")


def check_finite(stats: StepStats, step: int) -> str | None:
    """A one-line message naming the step and the player if a loss is NaN or Inf, else None."""
    if not math.isfinite(stats.d_loss):
        return f"step {step}: the discriminator loss is {stats.d_loss}"
    if not math.isfinite(stats.g_loss):
        return f"step {step}: the generator loss is {stats.g_loss}"
    return None


def trim_metrics(path: Path, after_step: int) -> None:
    """Drop lines logged after ``after_step`` (written before a crash, replayed on resume)."""
    if not path.exists():
        return
    kept = []
    for line in path.read_text().splitlines():
        try:
            if json.loads(line).get("step", 0) <= after_step:
                kept.append(line)
        except json.JSONDecodeError:
            continue  # a line cut short by a crash
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(s + "\n" for s in kept))
    os.replace(tmp, path)


def check_run_dir(run_dir: Path, resume: bool) -> Path | None:
    """The checkpoint to resume from (None: start afresh), once ``run_dir`` is known to be usable.

    Raises:
        GankitError: a non-empty ``run_dir`` without ``resume``, or one with nothing to resume.
    """
    last = checkpoint.latest(run_dir) if resume else None
    if resume and last is None and run_dir.exists() and any(run_dir.iterdir()) \
            and not (run_dir / "config.json").exists():
        raise GankitError(f"{run_dir}: nothing to resume (no config.json, no checkpoint)")
    # A run killed before its first checkpoint resumes by starting over in the same folder.
    if not resume and run_dir.exists() and any(run_dir.iterdir()):
        raise GankitError(f"{run_dir}: run directory is not empty (use --resume to continue it, or another --out)")
    return last


def prepare_run_dir(run_dir: Path, cfg: config_lib.Config, last: Path | None, step: int) -> None:
    """Write the run directory's config.json (atomically) and samples/ folder; metrics.jsonl is removed for a
    fresh run, and for a resumed one (from ``last``, at ``step``) cut back to the checkpoint's step, since the
    rows logged after it are logged again."""
    run_dir.mkdir(parents=True, exist_ok=True)
    metrics = run_dir / "metrics.jsonl"
    if last is not None:
        trim_metrics(metrics, step)
    else:
        metrics.unlink(missing_ok=True)
    tmp = run_dir / "config.json.tmp"
    tmp.write_text(cfg.to_json() + "\n")
    os.replace(tmp, run_dir / "config.json")
    (run_dir / "samples").mkdir(exist_ok=True)


class _StopRequested:
    """Turns SIGINT/SIGTERM into a flag checked between steps (finish the step, then save)."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._old: dict[int, object] = {}

    def __enter__(self) -> "_StopRequested":
        import threading

        if threading.current_thread() is threading.main_thread():
            for s in (signal.SIGINT, signal.SIGTERM):
                self._old[s] = signal.signal(s, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        self.signum = signum

    def __exit__(self, *exc) -> None:
        for s, old in self._old.items():
            signal.signal(s, old)


class Interrupted(GankitError):
    """Training stopped on SIGINT/SIGTERM after saving a checkpoint."""


def fit(cfg: config_lib.Config, run_dir: Path, *, resume: bool = False,
        progress: Callable[[int, StepStats], None] | None = None,
        tick: Callable[[dict], None] | None = None) -> Trainer:
    """Train ``cfg`` into ``run_dir`` (or continue it with ``resume``) until ``cfg.train.steps``.

    The data are loaded before anything is written, so a bad data set leaves no run
    directory behind. A run without ``checkpoints/last`` is not finished.

    Under torchrun (``torchrun --nproc_per_node=N -m gankit train ...``) every process runs
    this function: it joins the process group, trains its slice of every global minibatch,
    and rank 0 alone writes the run directory (which must be on a file system all ranks
    see, for ``resume``). The ranks agree after every step on the logged losses and on
    stopping, so a SIGTERM that reaches them at different moments still ends all of them
    after the same step, with one checkpoint.

    Args:
        cfg: the resolved config (saved as RUN/config.json).
        run_dir: the run directory; must be new or empty unless ``resume``.
        resume: continue from RUN/checkpoints/last (exactly: weights, optimizers, step, RNGs).
        progress: called after every step with (step, stats), on rank 0; the CLI draws its bar with it.
        tick: called with each row written to metrics.jsonl (losses, images/s, ETA, peak memory,
            ADA's p, the last evaluation: ``gankit.watch``), on rank 0; the CLI shows it
            (``watch.format_tick``).

    Raises:
        GankitError: bad data, a missing device, a non-empty run_dir without resume, a NaN
            loss (on_nan=stop), or ``Interrupted`` after a signal.
    """
    joined = distributed.launched_by_torchrun() and not torch.distributed.is_initialized()
    # Signals are caught until the process has left the group: one that arrives late (torchrun
    # signals its processes one after the other) must not kill a rank its peers still wait for.
    with _StopRequested() as stop:
        shard, device = distributed.setup(cfg.train.device, cfg.data.batch_size)
        try:
            trainer = _fit(cfg, Path(run_dir), resume, progress, tick, shard, device, stop)
            distributed.barrier(shard)  # no rank leaves the group while another still talks to it
            return trainer
        except Interrupted:
            distributed.barrier(shard)  # (every rank stops after the same step)
            raise
        finally:
            if joined:
                distributed.teardown()


def _fit(cfg: config_lib.Config, run_dir: Path, resume: bool, progress: Callable[[int, StepStats], None] | None,
         tick: Callable[[dict], None] | None, shard: distributed.Shard, device: torch.device,
         stop: "_StopRequested") -> Trainer:
    main = shard.is_main
    if (cfg.data.batch_size // shard.world) % cfg.model.pack:
        raise GankitError(f"model.pack={cfg.model.pack}: each of the {shard.world} processes gets "
                          f"{cfg.data.batch_size // shard.world} samples, not a whole number of packs")
    last = check_run_dir(run_dir, resume)
    distributed.barrier(shard)  # every rank has looked before rank 0 writes
    trainer = Trainer(cfg, shard=shard, device=device)  # loads the data first: a bad data set raises before any write
    metrics_path = run_dir / "metrics.jsonl"
    if last is not None:
        trainer.load_checkpoint(last)
    if main:
        prepare_run_dir(run_dir, trainer.cfg, last, trainer.step)  # (model.memory_format=auto resolved)
        if last is None:
            watch.write_start_grids(trainer, run_dir)  # reals.png, fakes_init.png

    from torch.utils.tensorboard import SummaryWriter  # imported late: it is slow to import

    log = cfg.log
    real_view = None if isinstance(trainer.data, TensorData) and trainer.data.is_image else _real_view(trainer)
    writer = SummaryWriter(str(run_dir / "tb"), purge_step=trainer.step + 1 if last else None) if main else None
    with writer or contextlib.nullcontext():
        rollbacks, ticker = 0, watch.Ticker(trainer)
        while trainer.step < cfg.train.steps:
            stats = trainer.train_step()
            step = trainer.step
            # One all-reduce under DDP: the global minibatch's losses, and whether any rank got a signal.
            values, stopping = distributed.agree(list(astuple(stats)), stop.signum is not None, shard)
            stats = StepStats(*values)
            problem = check_finite(stats, step)
            if problem:
                rollbacks += 1
                if cfg.train.on_nan == "rollback" and checkpoint.latest(run_dir) is not None and rollbacks <= 5:
                    scale = trainer.lr_scale * 0.5
                    trainer.load_checkpoint(checkpoint.latest(run_dir))
                    trainer.lr_scale = scale  # halve both learning rates, then go on
                    if main:
                        trim_metrics(metrics_path, trainer.step)
                    continue
                raise GankitError(_nan_message(problem, step, run_dir))
            is_last = step == cfg.train.steps
            if main and (step % log.every == 0 or is_last):
                row = {"step": step, **asdict(stats), **ticker.row(step)}
                with open(metrics_path, "a") as f:
                    f.write(json.dumps(row) + "\n")
                for key, value in row.items():
                    if key != "step" and isinstance(value, float):
                        writer.add_scalar(f"train/{key}", value, step)
                if tick is not None:
                    tick(row)
            # Evaluation runs on rank 0 alone, on the plain generator (no collective inside): the
            # other ranks wait for it in the next step's gradient all-reduce.
            if main and cfg.eval.every and (step % cfg.eval.every == 0 or is_last):
                _evaluate(trainer, step, metrics_path, writer, ticker)
            if main and (step % log.sample_every == 0 or is_last):
                _write_samples(trainer, run_dir, step, writer, real_view)
            if step % log.checkpoint_every == 0 or is_last or stopping:
                try:
                    trainer.save_checkpoint(run_dir, best=bool(cfg.eval.best) and trainer.best.get("step") == step)
                except OSError as exc:
                    kept = checkpoint.latest(run_dir)
                    where = f"{kept.name} is intact" if kept else "there is no earlier checkpoint"
                    raise GankitError(f"step {step}: could not write the checkpoint ({exc.strerror or exc}); "
                                      f"{where}") from None
            if main and progress is not None:
                progress(step, stats)
            if stopping:
                what = f"{signal.Signals(stop.signum).name} received" if stop.signum else \
                    "stop requested (a signal reached another rank)"
                raise Interrupted(f"{what}: stopped after step {step}, checkpoint saved "
                                  f"(continue with --resume --out {run_dir})")
        trainer.pace = ticker.pace()  # (steps, seconds) of this call's loop, for the CLI's last line
    return trainer


def _evaluate(trainer: Trainer, step: int, metrics_path: Path, writer, ticker: watch.Ticker) -> None:
    """Evaluate the sampler, log the result, and note it for the tick row and ``checkpoints/best``."""
    cfg = trainer.cfg
    names = [n.strip() for n in cfg.eval.metrics.split(",")] if cfg.eval.metrics else None
    result = evaluate_generator(cfg, trainer.sampler, names, cfg.eval.num, seed=cfg.seed)
    with open(metrics_path, "a") as f:
        f.write(json.dumps({"step": step, "kind": "eval", **result}) + "\n")
    for key, value in watch.numbers_of(result).items():
        writer.add_scalar(f"eval/{key}", value, step)
    ticker.evaluated(step, result, cfg.eval.best)
    # (validate: with eval.best, every evaluation falls on a checkpoint step, saved right after this)
    if cfg.eval.best:
        watch.improves(trainer.best, result, cfg.eval.best, cfg.eval.best_mode, step)


def _real_view(trainer: Trainer) -> torch.Tensor:
    """Data points drawn once to show under the samples of a 1D/2D run."""
    data = trainer.data
    if isinstance(data, ToyDistribution):
        return data.sample(trainer.cfg.log.grid, torch.Generator().manual_seed(12345))
    return data.x[: trainer.cfg.log.grid]


def _write_samples(trainer: Trainer, run_dir: Path, step: int, writer, real_view) -> None:
    from gankit.viz import image_grid, save_samples

    fake, nrow = watch.grid_samples(trainer)  # the same z every time
    save_samples(fake, run_dir / "samples" / f"step_{step:07d}.png", real_view, title=f"step {step}", nrow=nrow)
    if fake.dim() == 4:
        writer.add_image("samples", image_grid(fake, nrow), step, dataformats="HWC")
