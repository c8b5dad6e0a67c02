"""The optimal discriminator and the value it gives (Goodfellow et al. 2014, section 4.1).

For a fixed generator with density p_g, the D that maximises
V(G, D) = E_data log D(x) + E_g log(1 - D(x)) is (Proposition 1)

    D*(x) = p_data(x) / (p_data(x) + p_g(x)),

and plugging it back in gives (Theorem 1)

    C(G) = V(G, D*) = -log 4 + 2 JSD(p_data || p_g),

whose minimum -log 4 is reached exactly when p_g = p_data, where D* ≡ 1/2. The demo trains a
small MLP discriminator (``gankit.models.mlp.MLPDiscriminator``) on fresh samples of fixed 1D
pairs (Gaussians, a two-mode mixture, and p_g = p_data), compares it with D*, and checks
Theorem 1 by quadrature.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch

from gankit.losses import discriminator_loss
from gankit.models.mlp import MLPDiscriminator
from gankit.theory import _common
from gankit.theory.quadrature import (
    grid,
    integrate,
    jsd_quadrature,
    mixture_log_pdf,
    optimal_discriminator,
    optimal_logit,
    value_quadrature,
)

LOG_4 = math.log(4.0)


@dataclass(frozen=True)
class Mixture1D:
    """A 1D Gaussian mixture p(x) = Σ w_k N(x; mean_k, sd_k²) (a single Gaussian when K = 1)."""

    means: tuple[float, ...]
    sds: tuple[float, ...]
    weights: tuple[float, ...] = (1.0,)

    def log_pdf(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x), elementwise, float64."""
        return mixture_log_pdf(x.double(), self.means, self.sds, self.weights)

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """n samples, shape (n, 1), float32 (the models' dtype)."""
        w = torch.tensor(self.weights, dtype=torch.float64)
        k = torch.multinomial(w / w.sum(), n, replacement=True, generator=generator)
        mean = torch.tensor(self.means)[k]
        sd = torch.tensor(self.sds)[k]
        return (mean + sd * torch.randn(n, generator=generator)).unsqueeze(1).float()


# name -> (p_data, p_g)
CASES: dict[str, tuple[Mixture1D, Mixture1D]] = {
    "gaussians": (Mixture1D((0.0,), (1.0,)), Mixture1D((1.5,), (0.7,))),
    "mixture": (Mixture1D((-2.0, 2.0), (0.5, 0.5), (0.5, 0.5)), Mixture1D((0.0,), (1.5,))),
    "equal": (Mixture1D((-2.0, 2.0), (0.5, 0.5), (0.5, 0.5)), Mixture1D((-2.0, 2.0), (0.5, 0.5), (0.5, 0.5))),
}


def theorem1(p_data: Mixture1D, p_g: Mixture1D, lo: float = -12.0, hi: float = 12.0, n: int = 24_001) -> dict:
    """Both sides of Theorem 1 by quadrature.

    Returns:
        ``{"value_at_optimum": V(G, D*), "jsd": JSD(p_data || p_g),
        "minus_log4_plus_2jsd": -log 4 + 2 JSD}``, float64 scalars; V(G, D*) is integrated
        from its definition with D* = p_data / (p_data + p_g), independently of the JSD.
    """
    x = grid(lo, hi, n)
    log_d, log_g = p_data.log_pdf(x), p_g.log_pdf(x)
    value = value_quadrature(log_d, log_g, optimal_logit(log_d, log_g), x)
    jsd = jsd_quadrature(log_d, log_g, x)
    return {"value_at_optimum": value, "jsd": jsd, "minus_log4_plus_2jsd": -LOG_4 + 2 * jsd}


def train_discriminator(
    p_data: Mixture1D,
    p_g: Mixture1D,
    seed: int,
    steps: int = 1200,
    m: int = 512,
    lr: float = 3e-3,
    hidden: int = 64,
    depth: int = 2,
) -> MLPDiscriminator:
    """Train an MLP D to (near) convergence against fixed p_data and p_g.

    Each step draws fresh minibatches of m samples from each and takes an Adam step on the
    discriminator loss of ``gankit.losses``; the learning rate decays by 10x over the last
    third of the steps so the noisy estimate settles.
    """
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed + 1)
    D = MLPDiscriminator(1, hidden=hidden, depth=depth)
    opt = torch.optim.Adam(D.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[2 * steps // 3], gamma=0.1)
    for _ in range(steps):
        real, fake = p_data.sample(m, gen), p_g.sample(m, gen)
        loss = discriminator_loss(D(real), D(fake))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    return D


def compare(D: torch.nn.Module, p_data: Mixture1D, p_g: Mixture1D, x: torch.Tensor) -> dict:
    """D and D* on the points x, with two error measures.

    ``max_abs_error_bulk`` is the largest |D - D*| where either density is at least 10% of
    its peak (elsewhere D sees almost no data and D* is a ratio of tiny numbers);
    ``mean_abs_error`` is E_m |D - D*| under the mixture m = (p_data + p_g)/2, by quadrature
    on x.
    """
    with torch.no_grad():
        d = torch.sigmoid(D(x.float().unsqueeze(1)).double())
    pd, pg = torch.exp(p_data.log_pdf(x)), torch.exp(p_g.log_pdf(x))
    d_star = optimal_discriminator(pd, pg)
    bulk = (pd >= 0.1 * pd.max()) | (pg >= 0.1 * pg.max())
    mean_abs = integrate(0.5 * (pd + pg) * (d - d_star).abs(), x)
    return {"d": d, "d_star": d_star, "bulk": bulk, "max_abs_error_bulk": (d - d_star)[bulk].abs().max(),
            "mean_abs_error": mean_abs}


def trained_value(D: torch.nn.Module, p_data: Mixture1D, p_g: Mixture1D, lo: float = -12.0, hi: float = 12.0,
                  n: int = 24_001) -> torch.Tensor:
    """V(G, D) for the trained D, by quadrature (at most V(G, D*))."""
    x = grid(lo, hi, n)
    with torch.no_grad():
        logit = D(x.float().unsqueeze(1)).double()
    return value_quadrature(p_data.log_pdf(x), p_g.log_pdf(x), logit, x)


_TEXT_AT = {"gaussians": (0.02, 0.6, "left"), "mixture": (0.5, 0.98, "center"), "equal": (0.02, 0.97, "left")}


def _plot(results: dict, sweep: dict, out: Path) -> None:
    fig = _common.figure(13, 7.5)
    axes = fig.subplots(2, 3)
    titles = {"gaussians": "p_data = N(0, 1), p_g = N(1.5, 0.7²)",
              "mixture": "p_data = ½N(−2, .5²) + ½N(2, .5²), p_g = N(0, 1.5²)",
              "equal": "p_g = p_data: D* ≡ ½"}
    for ax, (name, r) in zip(axes[0], results.items()):
        x = r["x"]
        ax.fill_between(x, r["p_data"], color="C0", alpha=0.3, label="p_data")
        ax.fill_between(x, r["p_g"], color="C1", alpha=0.3, label="p_g")
        ax.plot(x, r["d_star"], "k:", lw=2, label="D* = p_data / (p_data + p_g)")
        ax.plot(x, r["d"], "k-", lw=1.2, label="D, trained (MLP)")
        ax.set_ylim(0, 1.05)
        ax.set_xlabel("x")
        ax.set_title(titles[name], fontsize=9)
        tx, ty, ha = _TEXT_AT[name]  # an empty corner of each panel
        ax.text(tx, ty, f"V(G, D*) = {r['value_at_optimum']:.4f}\n−log 4 + 2·JSD = {r['minus_log4_plus_2jsd']:.4f}"
                f"\nV(G, D) = {r['value_trained']:.4f} (trained D)", transform=ax.transAxes, va="top", ha=ha,
                fontsize=7, bbox=dict(facecolor="white", alpha=0.8, lw=0))
    axes[0, 0].legend(fontsize=7, loc="upper right")
    ax = axes[1, 0]
    ax.plot(sweep["shift"], sweep["minus_log4_plus_2jsd"], "C0-", label="−log 4 + 2·JSD(p_data ‖ p_g)")
    ax.plot(sweep["shift"][::5], sweep["value_at_optimum"][::5], "ko", ms=3, label="V(G, D*) (quadrature)")
    ax.axhline(-LOG_4, color="C3", ls="--", lw=1, label="−log 4")
    ax.set_xlabel("shift of p_g = N(s, 1) against p_data = N(0, 1)")
    ax.set_ylabel("C(G) = V(G, D*)")
    ax.set_title("Theorem 1: minimum −log 4 exactly at p_g = p_data", fontsize=9)
    ax.legend(fontsize=7)
    for ax, (name, r) in zip(axes[1, 1:], [(n, results[n]) for n in ("mixture", "equal")]):
        ax.plot(r["x"], (r["d"] - r["d_star"]), "k-", lw=1)
        ax.fill_between(r["x"], -1, 1, where=~r["bulk"], color="0.9", lw=0, label="outside the bulk")
        ax.axhline(0, color="C3", lw=0.8)
        ax.set_ylim(-0.15, 0.15)
        ax.set_xlabel("x")
        ax.set_ylabel("D − D*")
        ax.set_title(f"{name}: trained D − D*\nmax {r['max_abs_error_bulk']:.3f} in the bulk,"
                     f" mean {r['mean_abs_error']:.4f} under m", fontsize=9)
        ax.legend(fontsize=7, loc="lower right")
    _common.save(fig, out)


def run(out_dir: Path, seed: int = 0) -> dict:
    """Train D on each case, compare with D*, check Theorem 1; write ``optimal_d.png`` and ``numbers.json``."""
    out = _common.prepare(out_dir)
    x = grid(-5.0, 5.0, 501)
    results, numbers = {}, {"seed": seed, "log4": LOG_4}
    for name, (p_data, p_g) in CASES.items():
        D = train_discriminator(p_data, p_g, seed)
        c = compare(D, p_data, p_g, x)
        t1 = theorem1(p_data, p_g)
        v = trained_value(D, p_data, p_g)
        results[name] = {**c, **t1, "x": x, "p_data": torch.exp(p_data.log_pdf(x)), "p_g": torch.exp(p_g.log_pdf(x)),
                         "value_trained": v}
        numbers[name] = {**t1, "value_trained_D": v, "max_abs_D_minus_Dstar_bulk": c["max_abs_error_bulk"],
                         "mean_abs_D_minus_Dstar": c["mean_abs_error"]}
    shifts = torch.linspace(-3.0, 3.0, 61, dtype=torch.float64)
    rows = [theorem1(Mixture1D((0.0,), (1.0,)), Mixture1D((float(s),), (1.0,))) for s in shifts]
    sweep = {"shift": shifts, **{key: torch.stack([r[key] for r in rows]) for key in rows[0]}}
    numbers["shift_sweep_max_abs_theorem1_gap"] = (sweep["value_at_optimum"] - sweep["minus_log4_plus_2jsd"]).abs().max()
    _plot(results, sweep, out / "optimal_d.png")
    return _common.write_numbers(out, numbers)
