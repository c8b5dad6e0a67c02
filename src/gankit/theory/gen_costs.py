"""The three generator costs as functions of D(G(z)) (Goodfellow 2016, NIPS tutorial, fig. 16).

For one generated sample with discriminator output D = D(G(z)) = sigmoid(l):

- minimax (saturating):   J = log(1 - D),       dJ/dl = -D
- non-saturating:         J = -log D,           dJ/dl = -(1 - D)
- maximum likelihood:     J = -1/2 · D/(1 - D), dJ/dl = -1/2 · D/(1 - D)

When D confidently rejects a sample (D -> 0, early in training) the minimax cost is flat:
its gradient -D vanishes, while the non-saturating gradient tends to -1. The maximum-
likelihood cost is flat there too and has huge gradients where D -> 1, so almost all of its
gradient comes from the few samples D already accepts. The curves are computed by calling
``gankit.losses.GENERATOR_COSTS`` on single logits, so the figure shows the library's code.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch.func import grad, vmap

from gankit.losses import GENERATOR_COSTS
from gankit.theory import _common


def cost_curves(d: torch.Tensor) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Each generator cost and its derivative with respect to D's logit, per sample.

    Args:
        d: discriminator outputs D(G(z)) in (0, 1), shape (N,); float64 recommended.

    Returns:
        ``{name: (J, dJ/dl)}`` for every cost in ``GENERATOR_COSTS``, each of shape (N,),
        where l = log(d / (1 - d)) is the logit.
    """
    logits = torch.logit(d)
    # vmap over single logits: the mean-reduced losses become per-sample functions.
    return {name: (vmap(cost)(logits), vmap(grad(cost))(logits)) for name, cost in GENERATOR_COSTS.items()}


_LABELS = {
    "minimax": "minimax  log(1 − D)",
    "nonsaturating": "non-saturating  −log D",
    "maximum_likelihood": "maximum likelihood  −½ D/(1 − D)",
}


def _plot(d: torch.Tensor, curves: dict, out: Path) -> None:
    fig = _common.figure(13, 4.2)
    axes = fig.subplots(1, 3)
    for name, (value, slope) in curves.items():
        axes[0].plot(d, value, label=_LABELS[name])
        axes[1].plot(d, slope, label=_LABELS[name])
        axes[2].loglog(d, slope.abs(), label=_LABELS[name])
    axes[0].set_ylim(-10, 6)
    axes[0].set_ylabel("generator cost J")
    axes[0].set_title("the costs (cf. Goodfellow 2016, fig. 16)", fontsize=9)
    axes[1].set_ylim(-3, 0.2)
    axes[1].set_ylabel("dJ / d logit")
    axes[1].set_title("their gradients with respect to D's logit", fontsize=9)
    axes[2].set_ylabel("|dJ / d logit|")
    axes[2].set_ylim(1e-5, 1e2)
    axes[2].set_title("log scale: minimax saturates as D(G(z)) → 0", fontsize=9)
    for ax in axes:
        ax.set_xlabel("D(G(z))")
        ax.axhline(0, color="0.7", lw=0.8)
        ax.legend(fontsize=7)
    _common.save(fig, out)


def run(out_dir: Path, seed: int = 0) -> dict:
    """Evaluate the costs on a grid of D(G(z)); write ``gen_costs.png`` and ``numbers.json``.

    Deterministic: ``seed`` is accepted for the common demo signature only.
    """
    out = _common.prepare(out_dir)
    d = torch.linspace(1e-4, 1 - 1e-3, 2000, dtype=torch.float64)
    _plot(d, cost_curves(d), out / "gen_costs.png")
    probes = torch.tensor([1e-4, 1e-2, 0.5, 0.99], dtype=torch.float64)
    at = cost_curves(probes)
    numbers = {
        "d_probes": probes,
        "cost": {name: v for name, (v, _) in at.items()},
        "dcost_dlogit": {name: s for name, (_, s) in at.items()},
    }
    return _common.write_numbers(out, numbers)
