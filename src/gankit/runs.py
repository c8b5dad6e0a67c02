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
from gankit.models import build, num_classes, sample_noise  # num_classes: gankit.runs.num_classes for callers


@dataclass
class Run:
    """A trained run: its directory, resolved config, generator (eval mode) and step."""

    path: Path
    cfg: Config
    G: nn.Module
    step: int
    shape: tuple[int, ...]
    num_classes: int = 0  # a conditional G's classes (0: unconditional)


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


def load_run(run_dir: Path, device: str = "cpu") -> Run:
    """The run's config and its generator from RUN/checkpoints/last, ready to sample.

    A run trained with ``train.ema`` samples from the moving average of G's weights
    (``generator_avg.safetensors``), as it did during training. Checkpoints hold CPU
    tensors whatever device trained them; G is moved to ``device`` (cpu, cuda, cuda:N,
    mps, auto), where it was not trained if you like.
    """
    from gankit.distributed import resolve_device

    target = resolve_device(device, key="--device")
    run_dir = Path(run_dir)
    cfg = read_config(run_dir)
    last = checkpoint.latest(run_dir)
    if last is None:
        raise GankitError(f"{run_dir}: no checkpoint yet (RUN/checkpoints/last is missing): train it first")
    weights = last / (checkpoint.GENERATOR_AVG if cfg.train.ema else checkpoint.GENERATOR)
    meta = checkpoint.read_metadata(weights)
    try:
        shape = tuple(int(v) for v in meta["shape"].split(","))
    except (KeyError, ValueError):
        raise GankitError(f"{weights}: metadata lacks the sample shape") from None
    try:
        num_classes = int(meta.get("num_classes", "0"))
    except ValueError:
        raise GankitError(f"{weights}: metadata has a bad num_classes {meta['num_classes']!r}") from None
    if cfg.model.conditional and num_classes < 2:
        raise GankitError(f"{weights}: metadata lacks the number of classes of the conditional generator")
    G, _ = build(cfg.model, shape, num_classes)
    try:
        G.load_state_dict(checkpoint.load_weights(weights))
    except RuntimeError as exc:
        raise GankitError(f"{weights}: does not match the model in config.json ({str(exc).splitlines()[0]})") from None
    G.to(target).eval()
    return Run(run_dir, cfg, G, int(meta.get("step", 0)), shape, num_classes if cfg.model.conditional else 0)


def load_discriminator(run: Run) -> nn.Module:
    """D from RUN/checkpoints/last, eval mode, rebuilt from the run's config (for D's decision surface)."""
    last = checkpoint.latest(run.path)
    if last is None:
        raise GankitError(f"{run.path}: no checkpoint yet (RUN/checkpoints/last is missing): train it first")
    _, D = build(run.cfg.model, run.shape, run.num_classes)
    weights = last / checkpoint.DISCRIMINATOR
    try:
        D.load_state_dict(checkpoint.load_weights(weights))
    except RuntimeError as exc:
        raise GankitError(f"{weights}: does not match the model in config.json ({str(exc).splitlines()[0]})") from None
    return D.eval()


def run_classes(run: Run) -> int:
    """The classes labels may take for this run: a conditional G's C, else its data set's (0: unlabelled).

    For an unconditional run the data are loaded (the training split) to count them.
    """
    if run.num_classes:
        return run.num_classes
    from gankit.data import load_data

    return int(getattr(load_data(run.cfg), "num_classes", 0) or 0)


@torch.no_grad()
def generate(G: nn.Module, n: int, seed: int = 0, batch_size: int = 500,
             labels: torch.Tensor | None = None) -> torch.Tensor:
    """n samples from G (in eval mode, its own mode restored after) in the data's own space, noise seeded by ``seed``; CPU tensors.

    G may sit on any device; z is drawn on the CPU and moved there, so a seed gives the same
    noise everywhere.

    Args:
        labels: the classes to generate, (n,) int64 in [0, C): required for a conditional
            G, refused for an unconditional one.
    """
    classes = num_classes(G)
    if classes and labels is None:
        raise GankitError(f"this generator is conditional ({classes} classes): give the labels to generate")
    if not classes and labels is not None:
        raise GankitError("this generator is unconditional: it takes no labels")
    if labels is not None:
        if labels.shape != (n,) or labels.dtype != torch.int64:
            raise GankitError(f"labels must be int64 of shape ({n},), got {labels.dtype} {tuple(labels.shape)}")
        if n and (labels.min() < 0 or labels.max() >= classes):
            raise GankitError(f"labels must lie in 0..{classes - 1}")
    gen = torch.Generator().manual_seed(seed)
    device = next(G.parameters()).device
    training = G.training
    G.eval()
    out = []
    try:
        for start in range(0, n, batch_size):
            m = min(batch_size, n - start)
            z = sample_noise(G, m, gen).to(device)
            x = G(z) if labels is None else G(z, labels[start : start + m].to(device))
            out.append(x.float().cpu())
    finally:
        G.train(training)  # the caller's mode back (a training G stays in training)
    return torch.cat(out) if out else torch.empty(0)


def class_rows(num_classes: int, per_class: int) -> torch.Tensor:
    """Labels for a grid with one row per class: [0]*per_class + [1]*per_class + ..., int64."""
    return torch.arange(num_classes).repeat_interleave(per_class)


def labels_to_sample(num_classes: int, n: int, label: int | None = None, rows: bool = False) -> torch.Tensor | None:
    """The labels ``gankit sample`` generates for, (N,) int64, or None for an unconditional run.

    Args:
        num_classes: C of the run's generator (0: unconditional).
        n: the number of samples asked for.
        label: one class to generate n samples of.
        rows: without ``label``, lay the labels out for a grid with one row per class:
            ceil(n / C) samples of each class (so N = C * ceil(n / C) >= n). Otherwise the
            labels cycle 0, 1, ..., C - 1, 0, 1, ... (N = n).

    Raises:
        GankitError: a label for an unconditional run, or one outside 0..C-1.
    """
    if not num_classes:
        if label is not None:
            raise GankitError("--label: this run's model is unconditional (no classes to choose from)")
        return None
    if label is not None:
        if not 0 <= label < num_classes:
            raise GankitError(f"--label {label}: out of range; this run's classes are 0..{num_classes - 1}")
        return torch.full((n,), label, dtype=torch.int64)
    if rows:
        return class_rows(num_classes, -(-n // num_classes))
    return torch.arange(n) % num_classes


def uniform_labels(n: int, num_classes: int, seed: int) -> torch.Tensor:
    """n labels drawn uniformly from 0..C-1, int64 (n,), reproducible from ``seed``.

    The generator is seeded apart from the noise's (``generate`` uses ``seed`` itself), so
    the labels and z of one seed are independent draws.
    """
    return torch.randint(num_classes, (n,), generator=torch.Generator().manual_seed(seed + 1_000_003))


# Sample sizes the protocols were defined with (Parzen: 10,000 in Goodfellow et al. 2014;
# Stacked MNIST: 26,000 in PacGAN); anything else gets DEFAULT_EVAL_NUM.
EVAL_NUM = {"mnist5k": 10_000, "mnist": 10_000, "stacked-mnist5k": 26_000, "ring8": 2_500, "grid25": 2_500}
DEFAULT_EVAL_NUM = 5_000


def evaluate_generator(cfg: Config, G: nn.Module, metrics: list[str] | None = None, num: int | None = None,
                       seed: int = 0, inception_weights: str = "") -> dict:
    """Sample ``num`` points from G and evaluate them against the run's data set.

    For the shift generator on 1D data the generator's density is known (N(theta, 1)), so
    the exact JSD and Wasserstein-1 to the data are added, by quadrature. A conditional
    generator samples labels uniformly (``uniform_labels``) and they go to ``evaluate`` as
    ``fake_labels`` (class accuracy, per-class FID-CNN).
    """
    from gankit.metrics import evaluate, gaussian_density, jsd_1d, wasserstein1_1d

    num = num or EVAL_NUM.get(cfg.data.name, DEFAULT_EVAL_NUM)
    labels = uniform_labels(num, num_classes(G), seed) if num_classes(G) else None
    result = evaluate(generate(G, num, seed=seed, labels=labels), cfg.data.name, metrics, fake_labels=labels,
                      seed=seed, data_path=cfg.data.path, train_split=cfg.data.split,
                      inception_weights=inception_weights, G=G, train_classes=cfg.data.classes)
    if cfg.model.family == "toy" and cfg.data.name == "gauss1d":
        theta = float(G.theta.detach())
        p_data, p_g = gaussian_density(cfg.data.mean, cfg.data.sd), gaussian_density(theta, 1.0)
        lo = min(cfg.data.mean - 10 * cfg.data.sd, theta - 10)
        hi = max(cfg.data.mean + 10 * cfg.data.sd, theta + 10)
        result.update(theta=theta, jsd=jsd_1d(p_data, p_g, lo, hi), w1=wasserstein1_1d(p_data, p_g, lo, hi))
    return result
