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


# Sample sizes the protocols were defined with (Parzen: 10,000 in Goodfellow et al. 2014;
# Stacked MNIST: 26,000 in PacGAN); anything else gets DEFAULT_EVAL_NUM.
EVAL_NUM = {"mnist5k": 10_000, "mnist": 10_000, "stacked-mnist5k": 26_000, "ring8": 2_500, "grid25": 2_500}
DEFAULT_EVAL_NUM = 5_000


def evaluate_generator(cfg: Config, G: nn.Module, metrics: list[str] | None = None, num: int | None = None,
                       seed: int = 0, inception_weights: str = "") -> dict:
    """Sample ``num`` points from G and evaluate them against the run's data set.

    For the shift generator on 1D data the generator's density is known (N(theta, 1)), so
    the exact JSD and Wasserstein-1 to the data are added, by quadrature.
    """
    from gankit.metrics import evaluate, gaussian_density, jsd_1d, wasserstein1_1d

    num = num or EVAL_NUM.get(cfg.data.name, DEFAULT_EVAL_NUM)
    result = evaluate(generate(G, num, seed=seed), cfg.data.name, metrics, seed=seed, data_path=cfg.data.path,
                      train_split=cfg.data.split, inception_weights=inception_weights)
    if cfg.model.family == "toy" and cfg.data.name == "gauss1d":
        theta = float(G.theta.detach())
        p_data, p_g = gaussian_density(cfg.data.mean, cfg.data.sd), gaussian_density(theta, 1.0)
        lo = min(cfg.data.mean - 10 * cfg.data.sd, theta - 10)
        hi = max(cfg.data.mean + 10 * cfg.data.sd, theta + 10)
        result.update(theta=theta, jsd=jsd_1d(p_data, p_g, lo, hi), w1=wasserstein1_1d(p_data, p_g, lo, hi))
    return result
