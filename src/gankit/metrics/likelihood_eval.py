"""The AIS protocol for a trained generator: sigma chosen on validation data, log p(x) reported on test data.

``ais_protocol(G, valid, test, budget)`` is what ``gankit eval RUN --metrics ais`` and
``gankit demo likelihood`` run: for each sigma of a small grid, the mean AIS log-likelihood of a
few validation images (a cheaper budget); the best sigma is then used on the test images at the
full budget, and BDMC on data simulated from the model says how far that budget can be from the
truth. Every number travels with its sigma, in both pixel conventions (``gankit.metrics.likelihood``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn

from gankit.errors import GankitError
from gankit.metrics.likelihood import ais, bdmc, bits_per_dim, check_generator, to_unit_interval

SIGMAS = (0.05, 0.1, 0.2, 0.4, 0.8)  # the grid, in [-1, 1] units (0.025 ... 0.4 on [0, 1] pixels)


@dataclass(frozen=True)
class Budget:
    """How much AIS to run; the defaults are Wu et al. (2017)'s per-estimate setting, hours on a CPU."""

    temperatures: int = 1000  # annealing steps for the test estimate and BDMC
    leapfrog: int = 10  # leapfrog steps per HMC transition
    chains: int = 16  # chains per image
    points: int = 50  # test images scored
    valid_points: int = 10  # validation images sigma is chosen on
    valid_temperatures: int = 100  # annealing steps while choosing sigma
    bdmc_points: int = 10  # simulated points for the BDMC gap (0: skip)
    sigmas: tuple[float, ...] = SIGMAS  # the sigma grid, in the data's units

    def check(self) -> "Budget":
        for key in ("temperatures", "leapfrog", "chains", "points", "valid_points", "valid_temperatures"):
            if getattr(self, key) < 1:
                raise GankitError(f"ais {key.replace('_', ' ')}: must be >= 1, got {getattr(self, key)}")
        if self.bdmc_points < 0:
            raise GankitError(f"ais bdmc points: must be >= 0, got {self.bdmc_points}")
        if not self.sigmas or any(not (math.isfinite(s) and s > 0) for s in self.sigmas):
            raise GankitError(f"ais sigmas: every sigma must be a positive number, got {list(self.sigmas)}")
        return self


def parse_sigmas(text: str) -> tuple[float, ...]:
    """"0.1,0.2" -> (0.1, 0.2); one line naming the flag on anything else."""
    try:
        sigmas = tuple(float(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise GankitError(f"--ais-sigmas {text!r}: expected comma-separated numbers like 0.1,0.2") from None
    if not sigmas or any(not (math.isfinite(s) and s > 0) for s in sigmas):
        raise GankitError(f"--ais-sigmas {text!r}: every sigma must be > 0")
    return sigmas


def _mean_se(values: torch.Tensor) -> tuple[float, float]:
    n = len(values)
    return float(values.mean()), float(values.std(unbiased=True) / math.sqrt(n)) if n > 1 else float("nan")


def choose_sigma(G: nn.Module, valid: torch.Tensor, budget: Budget, *, seed: int = 0,
                 labels: torch.Tensor | None = None) -> tuple[float, dict[str, float]]:
    """The grid's sigma with the highest mean AIS log p of ``valid`` (first ``valid_points`` images);
    returns (sigma, {sigma: mean log p in the data's units})."""
    x = valid[: budget.valid_points]
    y = None if labels is None else labels[: budget.valid_points]
    scores = {}
    for sigma in budget.sigmas:
        ll = ais(G, x, sigma=sigma, temperatures=budget.valid_temperatures, leapfrog=budget.leapfrog,
                 chains=budget.chains, seed=seed, labels=y)
        scores[f"{sigma:g}"] = float(ll.mean())
    best = max(budget.sigmas, key=lambda s: scores[f"{s:g}"])
    return best, scores


def ais_protocol(G: nn.Module, valid: torch.Tensor, test: torch.Tensor, budget: Budget = Budget(), *,
                 seed: int = 0, images: bool = True, valid_labels: torch.Tensor | None = None,
                 test_labels: torch.Tensor | None = None) -> dict:
    """sigma on ``valid``, AIS on ``test``, BDMC at that sigma: a flat, JSON-ready dict.

    Args:
        G: the generator (its own prior; a conditional G is scored as p(x | y) with the data's labels).
        valid, test: held-out data in G's output space, (N, ...); ``valid`` must not have been trained on.
        images: the data are [-1, 1] images, so the [0, 1] convention (+ D ln 2) and bits/dim are added.

    Returns:
        ``ais_ll`` (mean log p over the test images, nats, data units), ``ais_se`` (its standard
        error over images), ``ais_sigma``; with ``images``: ``ais_ll_01``, ``ais_sigma_01`` and
        ``ais_bits_per_dim`` on [0, 1] pixels; ``ais_valid`` (sigma -> validation mean); ``ais_sigma_at_edge``;
        ``bdmc_lower``, ``bdmc_upper``, ``bdmc_gap`` (means over the simulated points); the budget.
    """
    budget.check()
    check_generator(G, test_labels)
    sigma, scores = choose_sigma(G, valid, budget, seed=seed, labels=valid_labels)
    x = test[: budget.points]
    y = None if test_labels is None else test_labels[: budget.points]
    ll = ais(G, x, sigma=sigma, temperatures=budget.temperatures, leapfrog=budget.leapfrog, chains=budget.chains,
             seed=seed + 1, labels=y)
    mean, se = _mean_se(ll)
    dims = math.prod(test.shape[1:])
    out = {"ais_ll": mean, "ais_se": se, "ais_sigma": sigma, "ais_n_test": len(x), "ais_valid": scores,
           # the best sigma at an end of a grid of several: widen the grid (--ais-sigmas), the optimum may lie beyond
           "ais_sigma_at_edge": len(budget.sigmas) > 1 and sigma in (min(budget.sigmas), max(budget.sigmas))}
    if images:
        out.update(ais_ll_01=to_unit_interval(mean, dims), ais_sigma_01=sigma / 2,
                   ais_bits_per_dim=bits_per_dim(to_unit_interval(mean, dims), dims))
    if budget.bdmc_points:
        y_sim = None if y is None else y[: budget.bdmc_points].repeat(
            -(-budget.bdmc_points // max(len(y), 1)))[: budget.bdmc_points]
        check = bdmc(G, sigma=sigma, n=budget.bdmc_points, temperatures=budget.temperatures,
                     leapfrog=budget.leapfrog, chains=budget.chains, seed=seed + 2, labels=y_sim)
        out.update(bdmc_lower=float(check.lower.mean()), bdmc_upper=float(check.upper.mean()), bdmc_gap=check.gap)
    out["ais_budget"] = {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(budget).items()}
    return out


def held_out(dataset: str, train_split: str, path: str = "") -> tuple:
    """(valid, test) TensorData for a run trained on ``train_split``, as the Parzen metric splits them
    (``gankit.data.base.held_out_pair``)."""
    from gankit.data import load_dataset
    from gankit.data.base import TensorData, held_out_pair

    test = load_dataset(dataset, "test", path=path)
    if not isinstance(test, TensorData):
        raise GankitError(f"metric 'ais' needs a data set with a test split; {dataset} has none")
    return held_out_pair(test, train_split, lambda: load_dataset(dataset, "valid", path=path))


def held_out_order(n: int, seed: int) -> torch.Tensor:
    """The seeded order in which ``evaluate_run`` scores the n held-out images (its first ``points`` of them)."""
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))


def evaluate_run(cfg, G: nn.Module, budget: Budget, seed: int = 0) -> dict:
    """``ais_protocol`` for a run's generator on its own data set's held-out images (``held_out``);
    draws the held-out images in a seeded order so that ``points`` of them are a fair sample."""
    valid, test = held_out(cfg.data.name, cfg.data.split, cfg.data.path)
    conditional = bool(getattr(G, "num_classes", 0))
    order = held_out_order(len(test.x), seed)
    v_order = torch.randperm(len(valid.x), generator=torch.Generator().manual_seed(seed + 1))
    return ais_protocol(G, valid.x[v_order], test.x[order], budget, seed=seed, images=test.x.dim() == 4,
                        valid_labels=valid.y[v_order] if conditional else None,
                        test_labels=test.y[order] if conditional else None)
