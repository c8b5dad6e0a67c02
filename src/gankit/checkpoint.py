"""Atomic checkpoints that resume exactly.

Layout: ``RUN/checkpoints/step_0001000/`` holds ``generator.safetensors``,
``discriminator.safetensors`` (weights and buffers), ``state.pt`` (optimizer states, step,
every RNG state, the data stream position) and, with ``train.ema``,
``generator_avg.safetensors`` (the moving average of G's weights, which gankit samples
from). ``RUN/checkpoints/last`` is a symbolic
link to the newest complete one, so ``RUN/checkpoints/last/generator.safetensors`` is
always a finished file. ``log.keep`` = K keeps the K newest step folders; ``RUN/checkpoints/best``,
with ``eval.best``, is a second link, to the step folder whose evaluation was best, which is
kept however old it is (``save(..., best=True)``).

Why a link: a directory cannot be replaced atomically, a link can. A checkpoint is written
into its own folder, every file is fsynced, then a new link is renamed over ``last``
(``os.replace`` is atomic on POSIX). A crash or a full disk at any moment leaves ``last``
pointing at the previous good checkpoint; leftovers are removed by the next save.

Every tensor is saved on the CPU, whatever device trained it: train on a GPU, sample and
evaluate on a laptop. Loading never executes code: weights through safetensors, the rest through
``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from gankit.errors import GankitError

GENERATOR = "generator.safetensors"
DISCRIMINATOR = "discriminator.safetensors"
GENERATOR_AVG = "generator_avg.safetensors"
STATE = "state.pt"


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _tensors(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    # safetensors refuses shared or non-contiguous storage: save plain copies, on the CPU.
    return {k: v.detach().cpu().contiguous().clone() for k, v in module.state_dict().items()}


def _to_cpu(obj: Any) -> Any:
    """``obj`` with every tensor inside (dicts, lists, tuples) moved to the CPU."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_cpu(v) for v in obj)
    return obj


def save(run_dir: Path, step: int, G: torch.nn.Module, D: torch.nn.Module, state: dict[str, Any],
         shape: tuple[int, ...] = (), num_classes: int = 0, G_avg: torch.nn.Module | None = None,
         keep: int = 1, best: bool = False) -> Path:
    """Write checkpoint ``step`` and point ``checkpoints/last`` at it (and ``checkpoints/best`` with ``best``);
    returns its folder.

    Args:
        run_dir: the run directory.
        step: the number of completed training steps.
        G, D: the players (their state_dict, buffers included, go to safetensors).
        state: everything else exact resume needs (tensors, numbers, strings, dicts, lists).
        shape: one sample's shape, stored in the weights' metadata so G can be rebuilt
            without the data.
        num_classes: a conditional G's number of classes (0: unconditional), stored
            beside ``shape`` for the same reason.
        G_avg: the moving average of G's weights (``train.ema``), or None.
        keep: how many step folders to keep, this one and the newest before it (``log.keep``).
        best: this checkpoint's evaluation is the best so far: ``checkpoints/best`` points at it, and the
            folder it pointed at before goes unless it is among the ``keep`` newest.

    Raises:
        OSError: the write failed; the previous checkpoint is untouched.
    """
    root = Path(run_dir) / "checkpoints"
    root.mkdir(parents=True, exist_ok=True)
    folder = root / f"step_{step:07d}"
    if (root / "last").resolve() == folder.resolve():  # this step is already saved (a signal right after a save)
        if best:
            _link(root, "best", folder.name)
            _remove_stale(root, current=folder.name, keep=keep)
        return folder
    if folder.exists():
        shutil.rmtree(folder)
    link_tmp = root / "last.tmp"
    try:
        folder.mkdir()
        meta = {"step": str(step), "shape": ",".join(map(str, shape)), "num_classes": str(num_classes)}
        save_file(_tensors(G), folder / GENERATOR, metadata=meta)
        save_file(_tensors(D), folder / DISCRIMINATOR, metadata={"step": str(step)})
        names = [GENERATOR, DISCRIMINATOR, STATE]
        if G_avg is not None:
            save_file(_tensors(G_avg), folder / GENERATOR_AVG, metadata=meta)
            names.append(GENERATOR_AVG)
        torch.save({**_to_cpu(state), "step": step}, folder / STATE)
        for name in names:
            _fsync(folder / name)
        _fsync(folder)
        _link(root, "last", folder.name)  # the commit point
        if best:
            _link(root, "best", folder.name)
    except BaseException:
        if (root / "last").resolve() != folder.resolve():
            shutil.rmtree(folder, ignore_errors=True)
        if link_tmp.is_symlink():
            link_tmp.unlink()
        raise
    _remove_stale(root, current=folder.name, keep=keep)
    return folder


def _link(root: Path, name: str, target: str) -> None:
    """Point ``root/name`` at ``target`` atomically (a new link renamed over the old)."""
    tmp = root / f"{name}.tmp"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(target, tmp)
    os.replace(tmp, root / name)
    _fsync(root)


def _remove_stale(root: Path, current: str, keep: int = 1) -> None:
    """Remove step folders but the ``keep`` newest up to ``current`` and the one ``best`` points to.

    Folders newer than ``current`` are left by a crash or abandoned by a NaN rollback.
    """
    best = root / "best"
    protected = {best.resolve().name} if best.is_symlink() else set()
    steps = sorted(e.name for e in root.iterdir() if e.name.startswith("step_") and not e.is_symlink())
    protected |= set([name for name in steps if name <= current][-keep:])
    for name in steps:
        if name not in protected:
            shutil.rmtree(root / name, ignore_errors=True)


def latest(run_dir: Path) -> Path | None:
    """The folder ``checkpoints/last`` points to, or None when there is no checkpoint."""
    last = Path(run_dir) / "checkpoints" / "last"
    if not last.exists():
        return None
    return last.resolve()


def load_weights(path: Path) -> dict[str, torch.Tensor]:
    """A state_dict from a safetensors file (no code can run)."""
    try:
        return load_file(str(path))
    except FileNotFoundError:
        raise GankitError(f"{path}: missing checkpoint file") from None
    except Exception as exc:  # safetensors raises its own error types for bad headers
        raise GankitError(f"{path}: not a valid safetensors file ({exc})") from None


def read_metadata(path: Path) -> dict[str, str]:
    """The string metadata of a safetensors file (step, sample shape, number of classes)."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            return dict(f.metadata() or {})
    except FileNotFoundError:
        raise GankitError(f"{path}: missing checkpoint file") from None
    except Exception as exc:
        raise GankitError(f"{path}: not a valid safetensors file ({exc})") from None


def load_state(path: Path) -> dict[str, Any]:
    """The non-weight state of a checkpoint, loaded with ``weights_only=True``."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise GankitError(f"{path}: missing checkpoint file") from None
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unsupported content"
        raise GankitError(f"{path}: refused to load: the file holds objects that could run code ({first})") from None
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        raise GankitError(f"{path}: corrupt checkpoint ({type(exc).__name__})") from None
