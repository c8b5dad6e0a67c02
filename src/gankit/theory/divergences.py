"""What the generator minimises under an optimal discriminator, on 1D examples.

1. Disjoint supports. For p_r = U[0, 1] and p_θ = U[θ, θ + 1], JSD(p_r || p_θ) = min(|θ|, 1)·log 2:
   once the supports are disjoint the JSD is stuck at log 2 whatever θ is, so its gradient
   — the minimax generator's gradient under D* (Goodfellow et al. 2014, Theorem 1) — is
   exactly zero (Arjovsky & Bottou 2017, Theorem 2.4; Arjovsky et al. 2017, Example 1). With
   smooth Gaussians N(0, σ²) and N(θ, σ²) the JSD tends to log 2 and its gradient to 0 once
   |θ| is a few σ, while KL = θ²/(2σ²) and the Wasserstein-1 distance |θ| keep a gradient.

2. The log-D trick. With D*_0 = p_r / (p_r + p_θ0) held fixed,
       E_z[-∇_θ log D*_0(g_θ(z))] at θ0  =  ∇_θ [KL(p_θ || p_r) - 2 JSD(p_θ || p_r)] at θ0
   (Arjovsky & Bottou 2017, Theorem 2.5); the minimax cost gives ∇ 2 JSD instead. So under an
   optimal D the non-saturating generator descends KL(p_g || p_r) - 2 JSD (up to a constant
   along its path): a reverse KL, which is mode-seeking, minus a JSD, which pushes away. The
   demo fits p_θ = N(μ, s²) to a two-mode mixture and checks the identity by quadrature: the
   left side by the pathwise (reparameterised, x = μ + s z) expectation over z, the right side
   by autograd through the quadrature of both divergences in x.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from scipy.integrate import cumulative_simpson

from gankit.theory import _common
from gankit.theory.quadrature import (
    LOG_2,
    grid,
    integrate,
    jsd_quadrature,
    kl_quadrature,
    mixture_log_pdf,
    normal_log_pdf,
    uniform_log_pdf,
)

# The data distribution of part 2: two well-separated modes.
REAL_MEANS, REAL_SDS, REAL_WEIGHTS = (-2.0, 2.0), (0.5, 0.5), (0.5, 0.5)


def uniform_jsd(theta: float, n: int = 200_001) -> torch.Tensor:
    """JSD(U[0, 1] || U[θ, θ + 1]) by quadrature (closed form: min(|θ|, 1)·log 2)."""
    x = grid(min(0.0, theta) - 0.5, max(1.0, theta + 1.0) + 0.5, n)
    return jsd_quadrature(uniform_log_pdf(x, 0.0, 1.0), uniform_log_pdf(x, theta, theta + 1.0), x)


def gaussian_shift_jsd(theta: float, sd: float, n: int = 20_001) -> tuple[torch.Tensor, torch.Tensor]:
    """JSD(N(0, sd²) || N(θ, sd²)) and its derivative in θ, by quadrature and autograd.

    Returns:
        (JSD, dJSD/dθ), float64 scalars.
    """
    t = torch.tensor(float(theta), dtype=torch.float64, requires_grad=True)
    x = grid(min(0.0, theta) - 12 * sd, max(0.0, theta) + 12 * sd, n)
    jsd = jsd_quadrature(normal_log_pdf(x, 0.0, sd), normal_log_pdf(x, t, sd), x)
    (g,) = torch.autograd.grad(jsd, t)
    return jsd.detach(), g


def _real_log_pdf(x: torch.Tensor) -> torch.Tensor:
    return mixture_log_pdf(x, REAL_MEANS, REAL_SDS, REAL_WEIGHTS)


def divergence_objectives(mu: torch.Tensor, sd: torch.Tensor, n: int = 8001) -> dict[str, torch.Tensor]:
    """KL(p_g || p_r), KL(p_r || p_g) and JSD(p_g || p_r) for p_g = N(mu, sd²) and the two-mode p_r.

    ``mu`` and ``sd`` are float64 scalars and may require grad (the x-grid is fixed).
    """
    x = grid(-10.0, 10.0, n)
    log_r, log_g = _real_log_pdf(x), normal_log_pdf(x, mu, sd)
    return {
        "kl_g_r": kl_quadrature(log_g, log_r, x),
        "kl_r_g": kl_quadrature(log_r, log_g, x),
        "jsd": jsd_quadrature(log_g, log_r, x),
    }


def trick_gradient(mu0: float, sd0: float, n_z: int = 4001) -> dict[str, torch.Tensor]:
    """Both sides of Arjovsky & Bottou (2017), Theorem 2.5, at p_g = N(mu0, sd0²).

    The left side is the expected gradient of the non-saturating cost -log D*_0(g(z)) with
    g(z) = mu + sd·z and D*_0 the optimal discriminator for (mu0, sd0), held fixed; it is a
    pathwise expectation over z ~ N(0, 1) by quadrature in z. The same is done for the
    minimax cost log(1 - D*_0(g(z))) (Goodfellow et al. 2014: its gradient is that of 2 JSD).

    Returns:
        Gradients with respect to (mu, sd), each shape (2,): ``nonsaturating`` (left side),
        ``kl_minus_2jsd`` (right side), ``minimax`` and ``two_jsd``.
    """
    params = torch.tensor([mu0, sd0], dtype=torch.float64, requires_grad=True)
    z = grid(-10.0, 10.0, n_z)
    phi = torch.exp(normal_log_pdf(z, 0.0, 1.0))
    x = params[0] + params[1] * z  # the generator's samples, differentiable in (mu, sd)
    # D*_0's logit log p_r - log p_g0, with p_g0 frozen at (mu0, sd0): D does not move with G.
    l0 = _real_log_pdf(x) - normal_log_pdf(x, mu0, sd0)
    ns = integrate(phi * F.softplus(-l0), z)  # E_z -log D*_0(g(z))
    mm = integrate(phi * -F.softplus(l0), z)  # E_z log(1 - D*_0(g(z)))
    (g_ns,) = torch.autograd.grad(ns, params, retain_graph=True)
    (g_mm,) = torch.autograd.grad(mm, params)
    obj = divergence_objectives(params[0], params[1])
    (g_target,) = torch.autograd.grad(obj["kl_g_r"] - 2 * obj["jsd"], params, retain_graph=True)
    (g_2jsd,) = torch.autograd.grad(2 * obj["jsd"], params)
    return {"nonsaturating": g_ns, "kl_minus_2jsd": g_target, "minimax": g_mm, "two_jsd": g_2jsd}


def _plot(part1: dict, part2: dict, out: Path) -> None:
    fig = _common.figure(12, 8)
    axes = fig.subplots(2, 2)
    ax = axes[0, 0]
    th = part1["theta"]
    ax.plot(th, part1["uniform_closed"], "k-", lw=1, label="U[0,1] vs U[θ,θ+1]: min(|θ|,1)·log 2")
    ax.plot(part1["theta_coarse"], part1["uniform_quad"], "ko", ms=3, label="  (quadrature)")
    for sd, (jsd, _) in part1["gauss"].items():
        ax.plot(th, jsd, label=f"N(0,{sd:g}²) vs N(θ,{sd:g}²)")
    ax.axhline(LOG_2, color="C3", ls="--", lw=1, label="log 2")
    ax.set_xlabel("shift θ")
    ax.set_ylabel("JSD(p_r ‖ p_θ)")
    ax.set_title("the JSD saturates at log 2 once the supports separate", fontsize=9)
    ax.legend(fontsize=7)
    ax = axes[0, 1]
    ax.plot(th, part1["uniform_grad"], "k-", lw=1, label="uniforms")
    for sd, (_, grad) in part1["gauss"].items():
        ax.plot(th, grad, label=f"Gaussians, σ = {sd:g}")
    ax.axhline(1.0, color="0.5", ls=":", label="dW₁/dθ = 1 (Wasserstein-1 = |θ|)")
    ax.set_xlabel("shift θ")
    ax.set_ylabel("dJSD / dθ")
    ax.set_title("…so the minimax generator's gradient under D* vanishes", fontsize=9)
    ax.legend(fontsize=7)
    ax = axes[1, 0]
    mu = part2["mu"]
    low = part2["kl_minus_2jsd"].min()  # each curve is shifted by its minimum to share the axis
    ax.plot(mu, part2["kl_minus_2jsd"] - low, "C0-", label="KL(p_g‖p_r) − 2·JSD  (log-D trick)")
    ax.plot(part2["mu_coarse"][::2], part2["trick_integrated"][::2] - low, "C0o", ms=3, label="  ∫ E[−∂ log D*/∂μ] dμ + const")
    ax.plot(mu, part2["two_jsd_minus_log4"] - part2["two_jsd_minus_log4"].min(), "C1-", label="2·JSD − log 4  (minimax: V(G, D*))")
    ax.plot(mu, part2["kl_r_g"] - part2["kl_r_g"].min(), "C2-", label="KL(p_r‖p_g)  (maximum likelihood)")
    ax.set_ylim(-0.1, 3.0)
    ax.set_xlabel("generator mean μ  (p_g = N(μ, 0.5²))")
    ax.set_ylabel("objective − its minimum")
    ax.set_title("what each cost minimises; p_r = ½N(−2, 0.5²) + ½N(2, 0.5²)", fontsize=9)
    ax.legend(fontsize=7, loc="upper center")
    ax = axes[1, 1]
    ax.plot(part2["mu_coarse"], part2["grad_target"], "C0-", label="∂/∂μ [KL(p_g‖p_r) − 2·JSD]")
    ax.plot(part2["mu_coarse"][::2], part2["grad_nonsaturating"][::2], "C0o", ms=3, label="E_z[−∂/∂μ log D*(μ + s z)]")
    ax.plot(part2["mu_coarse"], part2["grad_two_jsd"], "C1-", label="∂/∂μ 2·JSD")
    ax.plot(part2["mu_coarse"][::2], part2["grad_minimax"][::2], "C1o", ms=3, label="E_z[∂/∂μ log(1 − D*(μ + s z))]")
    ax.axhline(0, color="0.7", lw=0.8)
    ax.set_xlabel("generator mean μ")
    ax.set_ylabel("gradient")
    ax.set_title("Arjovsky & Bottou (2017), Thm 2.5: the gradients agree", fontsize=9)
    ax.legend(fontsize=7)
    _common.save(fig, out)


def run(out_dir: Path, seed: int = 0) -> dict:
    """Compute both parts by quadrature; write ``divergences.png`` and ``numbers.json``.

    Deterministic: ``seed`` is accepted for the common demo signature only.
    """
    out = _common.prepare(out_dir)
    # Part 1: disjoint supports.
    theta = torch.linspace(0.0, 3.0, 121, dtype=torch.float64)
    theta_coarse = torch.linspace(0.0, 3.0, 13, dtype=torch.float64)
    gauss = {}
    for sd in (0.1, 0.3):
        pairs = [gaussian_shift_jsd(float(t), sd) for t in theta]
        gauss[sd] = (torch.stack([p[0] for p in pairs]), torch.stack([p[1] for p in pairs]))
    part1 = {
        "theta": theta,
        "theta_coarse": theta_coarse,
        "uniform_closed": theta.abs().clamp(max=1.0) * LOG_2,
        "uniform_quad": torch.stack([uniform_jsd(float(t)) for t in theta_coarse]),
        "uniform_grad": torch.where(theta.abs() < 1, LOG_2, 0.0),
        "gauss": gauss,
    }
    # Part 2: the log-D trick under an optimal D, p_g = N(mu, 0.5²).
    sd = 0.5
    mu = torch.linspace(-4.0, 4.0, 161, dtype=torch.float64)
    objs = [divergence_objectives(m, torch.tensor(sd, dtype=torch.float64)) for m in mu]
    kl_g_r = torch.stack([o["kl_g_r"] for o in objs])
    jsd = torch.stack([o["jsd"] for o in objs])
    kl_r_g = torch.stack([o["kl_r_g"] for o in objs])
    mu_coarse = torch.linspace(-4.0, 4.0, 81, dtype=torch.float64)  # every 2nd point of mu
    grads = [trick_gradient(float(m), sd) for m in mu_coarse]
    g_ns = torch.stack([g["nonsaturating"][0] for g in grads])
    g_target = torch.stack([g["kl_minus_2jsd"][0] for g in grads])
    # Integrate the trick's gradient along μ (Simpson's rule), anchored at μ = -4.
    target = kl_g_r - 2 * jsd
    integrated = cumulative_simpson(g_ns.numpy(), x=mu_coarse.numpy(), initial=0.0)
    integrated = torch.from_numpy(integrated) + target[0]
    part2 = {
        "mu": mu,
        "mu_coarse": mu_coarse,
        "kl_minus_2jsd": target,
        "two_jsd_minus_log4": 2 * jsd - math.log(4.0),
        "kl_r_g": kl_r_g,
        "trick_integrated": integrated,
        "grad_nonsaturating": g_ns,
        "grad_target": g_target,
        "grad_minimax": torch.stack([g["minimax"][0] for g in grads]),
        "grad_two_jsd": torch.stack([g["two_jsd"][0] for g in grads]),
    }
    _plot(part1, part2, out / "divergences.png")
    coarse_idx = torch.searchsorted(mu, mu_coarse)
    jsd_far, grad_far = gaussian_shift_jsd(3.0, 0.1)
    jsd_near, grad_near = gaussian_shift_jsd(0.1, 0.1)
    all_grad_diff = max(
        float((g["nonsaturating"] - g["kl_minus_2jsd"]).abs().max()) for g in grads
    )
    numbers = {
        "uniform_jsd": {"theta": theta_coarse, "quadrature": part1["uniform_quad"], "closed_form": part1["uniform_closed"][::10]},
        "gaussian_sd0.1": {
            "jsd_at_shift_0.1": jsd_near,
            "djsd_dtheta_at_shift_0.1": grad_near,
            "jsd_at_shift_3": jsd_far,
            "djsd_dtheta_at_shift_3": grad_far,
            "log2": LOG_2,
        },
        "log_d_trick": {
            "generator": "N(mu, 0.5^2)",
            "data": "0.5 N(-2, 0.5^2) + 0.5 N(2, 0.5^2)",
            "max_abs_grad_difference_mu_and_sd": all_grad_diff,
            "max_abs_minimax_vs_2jsd_grad_difference": max(
                float((g["minimax"] - g["two_jsd"]).abs().max()) for g in grads
            ),
            "max_abs_integrated_minus_objective": (integrated - target[coarse_idx]).abs().max(),
            # All three are even in μ: report where |μ| minimises each (the modes are at ±2).
            "argmin_abs_mu": {
                "kl_minus_2jsd": mu[target.argmin()].abs(),
                "jsd": mu[jsd.argmin()].abs(),
                "kl_r_g": mu[kl_r_g.argmin()].abs(),
            },
            "min_value": {"kl_minus_2jsd": target.min(), "jsd": jsd.min(), "kl_r_g": kl_r_g.min()},
        },
    }
    return _common.write_numbers(out, numbers)
