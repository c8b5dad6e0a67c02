"""The lab's files: the user's points in (drawn or uploaded), the run out as an ordinary run directory."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from gankit import config as config_lib
from gankit.data import TensorData, load_dataset
from gankit.errors import GankitError
from gankit.loop import _real_view, _write_samples, prepare_run_dir

MAX_UPLOAD = 20_000  # points of a drawn or uploaded data set


def save_points(path: Path, points: Any = None, npz: bytes | None = None) -> tuple[Path, TensorData]:
    """Save the user's points as ``path`` (.npz, key x) and read them back with gankit's own reader.

    Args:
        points: a list of [x] or [x, y] numbers (drawn in the page, or a CSV parsed there).
        npz: else the bytes of an .npz file whose x has shape (N, 1) or (N, 2).

    Returns:
        (path, the data as ``load_dataset("npz")`` reads them: what ``data.name=npz`` trains on).

    Raises:
        GankitError: one line naming ``points`` or the file: too few or many points, not numbers,
            not 1D/2D, or whatever the npz reader refuses.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if npz is not None:
        path.write_bytes(npz)
    else:
        if not isinstance(points, list) or not 8 <= len(points) <= MAX_UPLOAD:
            raise GankitError(f"points: expected a list of 8 to {MAX_UPLOAD} points")
        try:
            x = np.asarray(points, dtype=np.float64)
        except (TypeError, ValueError):
            raise GankitError("points: expected [x] or [x, y] numbers for each point") from None
        if x.ndim != 2 or x.shape[1] not in (1, 2) or not np.isfinite(x).all():
            raise GankitError("points: expected [x] or [x, y] finite numbers for each point")
        np.savez(path, x=x.astype(np.float32))
    data = load_dataset("npz", path=str(path))
    if data.is_image or len(data.shape) != 1 or data.shape[0] not in (1, 2):
        raise GankitError(f"npz: x must hold 1D or 2D points, shape (N, 1) or (N, 2), got {tuple(data.x.shape)}")
    if not 8 <= len(data.x) <= MAX_UPLOAD:
        raise GankitError(f"npz: expected 8 to {MAX_UPLOAD} points, got {len(data.x)}")
    return path, data


def export_run(trainer, cfg: config_lib.Config, series: dict[str, list], run_dir: Path, uploads: Path) -> int:
    """Write the run as a run directory (config.json, metrics.jsonl, samples/, checkpoints/last); returns its step.

    The checkpoint is ``Trainer.save_checkpoint``'s, so ``gankit sample / eval / report`` (and
    ``gankit train --resume``) read it. Points the user gave (in ``uploads``) are copied into the
    run as ``data.npz`` and the config names that copy.
    """
    if run_dir.exists() and (not run_dir.is_dir() or any(run_dir.iterdir())):
        raise GankitError(f"out: {run_dir} exists and is not an empty folder")
    run_dir.mkdir(parents=True, exist_ok=True)
    if cfg.data.name == "npz" and Path(cfg.data.path).parent == uploads:
        shutil.copyfile(cfg.data.path, run_dir / "data.npz")
        cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, path=str((run_dir / "data.npz").resolve())))
    prepare_run_dir(run_dir, cfg, None, trainer.step)
    with open(run_dir / "metrics.jsonl", "w") as f:
        for i, step in enumerate(series["step"]):
            row = {"step": step, **{k: series[k][i] for k in ("d_loss", "g_loss", "d_real", "d_fake")}}
            f.write(json.dumps(row) + "\n")
    _write_samples(trainer, run_dir, trainer.step, None, _real_view(trainer))
    trainer.save_checkpoint(run_dir)
    return trainer.step
