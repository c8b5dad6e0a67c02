"""The 1D GAN of Prince, Understanding Deep Learning, fig. 15.1.

Data x ~ N(5, 1) (``gankit.data.toy.Gauss1D``); the generator x = z + θ with z ~ N(0, 1)
starts at θ = 3, left of the data (``gankit.models.toy.ShiftGenerator``); the discriminator
is logistic, D(x) = sigmoid(φ0 + φ1 x) (``LogisticDiscriminator``). For two Gaussians of equal
variance the optimal discriminator is exactly of that form,

    logit D*(x) = log p_data(x) - log p_g(x) = (5 - θ) x + (θ² - 25) / 2,

so D can follow D* and the game reaches p_g = p_data: θ -> 5, φ1 -> 0, D ≡ 1/2 (Goodfellow
et al. 2014, Proposition 1 and Theorem 1). The demo first trains D against the initial
generator, then runs Algorithm 1 (``gankit.train.train_step``): k D-updates, then one
θ-update with the non-saturating cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from gankit.data import Batches
from gankit.data.toy import Gauss1D
from gankit.losses import discriminator_loss, nonsaturating_generator_loss
from gankit.objectives import Objective
from gankit.models.toy import LogisticDiscriminator, ShiftGenerator
from gankit.theory import _common
from gankit.train import sample_z, train_step


@dataclass
class Toy1DHistory:
    """What ``train_toy1d`` records.

    Attributes:
        theta: θ before each step, shape (steps + 1,); the last entry is the final θ.
        phi: D's (φ0, φ1) after each step's D-updates, shape (steps + 1, 2); row 0 is after
            the initial D training, row t + 1 after step t (trained against theta[t]).
        g_loss, d_loss: the losses reported by each step, shape (steps,).
    """

    theta: torch.Tensor
    phi: torch.Tensor
    g_loss: torch.Tensor
    d_loss: torch.Tensor


def _phi(D: LogisticDiscriminator) -> torch.Tensor:
    return torch.stack([D.linear.bias.detach()[0], D.linear.weight.detach()[0, 0]]).double()


def train_toy1d(
    seed: int,
    steps: int = 200,
    k: int = 20,
    m: int = 512,
    lr_g: float = 0.1,
    lr_d: float = 0.05,
    pretrain_d: int = 500,
    theta0: float = 3.0,
    data_mean: float = 5.0,
) -> Toy1DHistory:
    """Train the 1D GAN: ``pretrain_d`` D-updates against G(θ0), then ``steps`` steps of Algorithm 1.

    D uses Adam (its inputs are not centred, which makes plain SGD on (φ0, φ1) crawl), θ
    plain SGD; each D-update draws a fresh minibatch of m data points and m noise samples.
    """
    torch.manual_seed(seed)
    G, D = ShiftGenerator(theta0), LogisticDiscriminator()
    opt_G = torch.optim.SGD(G.parameters(), lr=lr_g)
    opt_D = torch.optim.Adam(D.parameters(), lr=lr_d)
    batches = Batches(Gauss1D(mean=data_mean, sd=1.0), m, seed)
    noise = torch.Generator().manual_seed(seed + 1)
    # Start from a trained D, as in Prince's first panel (Algorithm 1 alone would start from
    # D ≡ 1/2 and let it catch up over the first steps).
    pretrain_opt = torch.optim.Adam(D.parameters(), lr=2 * lr_d)
    for _ in range(pretrain_d):
        real, _ = batches.next()
        with torch.no_grad():
            fake = G(sample_z(G, m, noise))
        loss = discriminator_loss(D(real), D(fake))
        pretrain_opt.zero_grad(set_to_none=True)
        loss.backward()
        pretrain_opt.step()
    theta, phi, g_loss, d_loss = [G.theta.item()], [_phi(D)], [], []
    paper_game = Objective(g_loss=nonsaturating_generator_loss)
    for _ in range(steps):
        stats = train_step(G, D, opt_G, opt_D, batches, k=k, objective=paper_game, noise=noise)
        theta.append(G.theta.item())
        phi.append(_phi(D))
        g_loss.append(stats.g_loss)
        d_loss.append(stats.d_loss)
    return Toy1DHistory(
        theta=torch.tensor(theta, dtype=torch.float64),
        phi=torch.stack(phi),
        g_loss=torch.tensor(g_loss, dtype=torch.float64),
        d_loss=torch.tensor(d_loss, dtype=torch.float64),
    )


def optimal_logit(x: torch.Tensor, theta: float, data_mean: float = 5.0) -> torch.Tensor:
    """logit D*(x) = (μ - θ) x + (θ² - μ²)/2 for N(μ, 1) data and N(θ, 1) samples."""
    return (data_mean - theta) * x + (theta**2 - data_mean**2) / 2


def _plot(h: Toy1DHistory, stages: list[int], seed: int, out: Path) -> None:
    fig = _common.figure(13, 7)
    gs = fig.add_gridspec(2, len(stages))
    x = torch.linspace(0.0, 9.0, 400, dtype=torch.float64)
    gen = torch.Generator().manual_seed(seed + 7)
    real = 5.0 + torch.randn(2000, generator=gen, dtype=torch.float64)
    z = torch.randn(2000, generator=gen, dtype=torch.float64)
    for i, t in enumerate(stages):
        ax = fig.add_subplot(gs[0, i])
        theta = float(h.theta[t])
        ax.hist(real, bins=40, range=(0, 9), density=True, color="C0", alpha=0.5, label="real x ~ N(5, 1)")
        ax.hist(z + theta, bins=40, range=(0, 9), density=True, color="C1", alpha=0.5, label="generated z + θ")
        phi0, phi1 = h.phi[t].tolist()
        ax.plot(x, torch.sigmoid(phi0 + phi1 * x), "k-", lw=2, label="D(x), trained")
        ax.plot(x, torch.sigmoid(optimal_logit(x, theta)), "k:", lw=1.5, label="D*(x)")
        ax.axhline(0.5, color="0.7", lw=0.8)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("x")
        label = "after D's initial training" if t == 0 else f"step {t}"
        ax.set_title(f"{label}: θ = {theta:.2f}, φ1 = {phi1:.2f}", fontsize=9)
        if i == 0:
            ax.legend(fontsize=7, loc="upper left")
    ax = fig.add_subplot(gs[1, :])
    steps = torch.arange(len(h.theta))
    ax.plot(steps, h.theta, "C1-", label="θ (generator)")
    ax.axhline(5.0, color="C0", ls="--", lw=1, label="data mean 5")
    for t in stages:
        ax.axvline(t, color="0.8", lw=0.8)
    ax.set_xlabel("step of Algorithm 1")
    ax.set_ylabel("θ")
    ax2 = ax.twinx()
    ax2.plot(steps, h.phi[:, 1], "k-", lw=1, alpha=0.7, label="φ1 (D's slope)")
    ax2.set_ylabel("φ1")
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], fontsize=8, loc="center right")
    ax.set_title("θ reaches the data mean and D flattens to 1/2 (Prince, fig. 15.1)", fontsize=9)
    _common.save(fig, out)


def run(out_dir: Path, seed: int = 0, steps: int = 200) -> dict:
    """Train the 1D GAN; write ``toy1d.png`` and ``numbers.json``."""
    out = _common.prepare(out_dir)
    h = train_toy1d(seed, steps=steps)
    stages = [0, 5, 20, steps]
    _plot(h, stages, seed, out / "toy1d.png")
    x = torch.linspace(3.0, 7.0, 9, dtype=torch.float64)
    phi0, phi1 = h.phi[-1].tolist()
    numbers = {
        "seed": seed,
        "steps": steps,
        "theta_stages": {str(t): h.theta[t] for t in stages},
        "phi_stages": {str(t): h.phi[t] for t in stages},
        "optimal_phi_at_start": [(9.0 - 25.0) / 2, 5.0 - 3.0],
        "final_theta": h.theta[-1],
        "final_phi": h.phi[-1],
        "final_D_on_3_to_7": torch.sigmoid(phi0 + phi1 * x),
        "final_g_loss": h.g_loss[-1],
        "final_d_loss": h.d_loss[-1],
        "log4": 1.3862943611198906,
    }
    return _common.write_numbers(out, numbers)
