"""Reading a finished (or interrupted) run directory back: its config and its generator."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from gankit import checkpoint
from gankit.config import Config, from_dict
from gankit.errors import GankitError
from gankit.models import build


@dataclass
class Run:
    """A trained run: its directory, resolved config, generator (eval mode) and step."""

    path: Path
    cfg: Config
    G: nn.Module
    step: int
    shape: tuple[int, ...]


def read_config(run_dir: Path) -> Config:
    """RUN/config.json as a validated Config."""
    path = Path(run_dir) / "config.json"
    if not Path(run_dir).is_dir():
        raise GankitError(f"{run_dir}: no such run directory")
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise GankitError(f"{path}: missing (is {run_dir} a gankit run directory?)") from None
    except json.JSONDecodeError as exc:
        raise GankitError(f"{path}: invalid JSON ({exc.msg} at line {exc.lineno})") from None
    return from_dict(raw)


def load_run(run_dir: Path) -> Run:
    """The run's config and its generator from RUN/checkpoints/last, ready to sample."""
    run_dir = Path(run_dir)
    cfg = read_config(run_dir)
    last = checkpoint.latest(run_dir)
    if last is None:
        raise GankitError(f"{run_dir}: no checkpoint yet (RUN/checkpoints/last is missing): train it first")
    weights = last / checkpoint.GENERATOR
    meta = checkpoint.read_metadata(weights)
    try:
        shape = tuple(int(v) for v in meta["shape"].split(","))
    except (KeyError, ValueError):
        raise GankitError(f"{weights}: metadata lacks the sample shape") from None
    G, _ = build(cfg.model, shape)
    try:
        G.load_state_dict(checkpoint.load_weights(weights))
    except RuntimeError as exc:
        raise GankitError(f"{weights}: does not match the model in config.json ({str(exc).splitlines()[0]})") from None
    G.eval()
    return Run(run_dir, cfg, G, int(meta.get("step", 0)), shape)


@torch.no_grad()
def generate(G: nn.Module, n: int, seed: int = 0, batch_size: int = 500) -> torch.Tensor:
    """n samples from G (eval mode) in the data's own space, noise seeded by ``seed``."""
    gen = torch.Generator().manual_seed(seed)
    G.eval()
    out = []
    for start in range(0, n, batch_size):
        m = min(batch_size, n - start)
        out.append(G(torch.randn(m, G.z_dim, generator=gen)))
    return torch.cat(out) if out else torch.empty(0)
