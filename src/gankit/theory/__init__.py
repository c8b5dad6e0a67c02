"""The lecture demos: every claim of the theory as a figure and a number.

``DEMOS`` maps each demo's name to ``(run, description)``; ``run(out_dir, seed)`` creates
``out_dir``, writes its PNG figures and ``numbers.json`` there, and returns the numbers as a
JSON-safe dict. The maths of each demo is in plain functions of its module (tested
directly); the plotting is separate. docs/theory.md walks through them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from gankit.theory import (bilinear, coverage, divergences, gen_costs, likelihood, mode_collapse, optimal_d, paper,
                           saddle, toy1d)

DEMOS: dict[str, tuple[Callable[[Path, int], dict], str]] = {
    "toy1d": (toy1d.run, "Prince fig. 15.1: x = z + θ learns N(5, 1); D's sigmoid flattens to 1/2"),
    "optimal-d": (optimal_d.run, "trained D vs D* = p_data/(p_data + p_g); V(G, D*) = -log 4 + 2 JSD"),
    "bilinear": (bilinear.run, "v(a, b) = ab: simultaneous GDA spirals out, alternating cycles, EG/OGDA converge"),
    "saddle": (saddle.run, "L = -θ² + φ²: gradient ascent-descent converges to the saddle (0, 0)"),
    "gen-costs": (gen_costs.run, "minimax, non-saturating and max-likelihood G costs and gradients vs D(G(z))"),
    "mode-collapse": (mode_collapse.run, "ring8/grid25 with each G cost; a half-coverage G still gets a low loss"),
    "divergences": (divergences.run, "JSD saturates at log 2 on disjoint supports; the log-D trick minimises KL - 2 JSD"),
    "paper": (paper.run, "the 2014 paper's MNIST run: Figure 2 (samples + nearest training image), Parzen LL vs 225"),
    "coverage": (coverage.run, "a DCGAN trained on digits 0-4 scores well on them, and inverting G catches the missing 5-9"),
    "likelihood": (likelihood.run, "Tables 1-2 questioned: Parzen vs AIS (with BDMC) for two GANs and two VAEs, "
                                   "k-means and real digits as Parzen controls"),
}
TRAINS = ("paper", "likelihood")  # demos that train a preset and so take --set overrides (minutes, not seconds)
QUICK = ("likelihood",)  # demos with a --quick budget (all of them train)

__all__ = ["DEMOS", "run_demo"]


def run_demo(name: str, out_dir: Path, seed: int = 0, overrides: dict | None = None, quick: bool = False) -> dict:
    """Run the demo ``name`` into ``out_dir`` on one torch thread; returns its numbers.

    ``overrides`` (dotted config keys) go to the demos that train a preset (``TRAINS``).

    The demos' tensors are tiny, so extra threads only add synchronisation; on a busy
    2-core machine two spinning threads made ``optimal-d`` 20x slower (225 s against 10 s).

    Raises:
        GankitError: unknown demo name (the message lists the valid ones).
    """
    import torch

    from gankit.errors import GankitError

    if name not in DEMOS:
        raise GankitError(f"unknown demo {name!r}; valid: {', '.join(DEMOS)}")
    if quick and name not in QUICK:
        raise GankitError(f"--quick: demo {name!r} has no quick version; only {', '.join(QUICK)} does")
    if overrides and name not in TRAINS:
        raise GankitError(f"--set: demo {name!r} trains no preset; only {' and '.join(TRAINS)} take --set")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        args = (overrides,) if name in TRAINS else ()
        return DEMOS[name][0](Path(out_dir), seed, *args, **({"quick": quick} if name in QUICK else {}))
    finally:
        torch.set_num_threads(threads)
