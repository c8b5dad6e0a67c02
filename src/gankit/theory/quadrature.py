"""One-dimensional densities and divergences by quadrature, for the theory demos.

Everything works on log-densities evaluated on a fixed grid (float64), so that tails do not
underflow and autograd can differentiate a divergence with respect to the parameters of a
density (the grid stays fixed). Points where a density is zero contribute 0·log 0 = 0.

References:
    Goodfellow et al. (2014), Proposition 1 (the optimal discriminator) and Theorem 1
    (C(G) = V(G, D*_G) = -log 4 + 2 JSD(p_data || p_g)).
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F

LOG_2 = math.log(2.0)


def grid(lo: float, hi: float, n: int) -> torch.Tensor:
    """n equally spaced points on [lo, hi], float64, shape (n,)."""
    return torch.linspace(lo, hi, n, dtype=torch.float64)


def integrate(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """The trapezoid rule ∫ y dx over the last dimension; y: (..., n), x: (n,)."""
    return torch.trapezoid(y, x)


def normal_log_pdf(x: torch.Tensor, mean: float | torch.Tensor, sd: float | torch.Tensor) -> torch.Tensor:
    """log N(x; mean, sd²), elementwise; ``mean``/``sd`` may be tensors that require grad."""
    sd = torch.as_tensor(sd, dtype=torch.float64)
    return -0.5 * ((x - mean) / sd) ** 2 - torch.log(sd) - 0.5 * math.log(2 * math.pi)


def mixture_log_pdf(
    x: torch.Tensor, means: Sequence[float], sds: Sequence[float], weights: Sequence[float]
) -> torch.Tensor:
    """log Σ_k w_k N(x; mean_k, sd_k²), elementwise, by logsumexp (no underflow in the tails)."""
    w = torch.as_tensor(weights, dtype=torch.float64)
    comps = torch.stack([normal_log_pdf(x, m, s) for m, s in zip(means, sds)])
    return torch.logsumexp(comps + torch.log(w / w.sum()).view(-1, *([1] * x.dim())), dim=0)


def uniform_log_pdf(x: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    """log U(x; lo, hi): -log(hi - lo) on [lo, hi], -inf elsewhere."""
    inside = (x >= lo) & (x <= hi)
    return torch.where(inside, -math.log(hi - lo), -math.inf).to(torch.float64)


def _plogratio(log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """p·(log p - log q) with 0 where p = 0 (masking before multiplying keeps grads finite)."""
    p = torch.exp(log_p)
    diff = torch.where(p > 0, log_p - log_q, torch.zeros_like(log_p))
    return p * diff


def kl_quadrature(log_p: torch.Tensor, log_q: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """KL(p || q) = ∫ p log(p / q) dx on the grid x; log_p, log_q: (n,). Inf if q = 0 where p > 0."""
    return integrate(_plogratio(log_p, log_q), x)


def jsd_quadrature(log_p: torch.Tensor, log_q: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """JSD(p || q) = ½ KL(p || m) + ½ KL(q || m), m = (p + q)/2, on the grid x; in [0, log 2]."""
    log_m = torch.logaddexp(log_p, log_q) - LOG_2
    return 0.5 * integrate(_plogratio(log_p, log_m) + _plogratio(log_q, log_m), x)


def optimal_discriminator(p_data: torch.Tensor, p_g: torch.Tensor) -> torch.Tensor:
    """D*(x) = p_data(x) / (p_data(x) + p_g(x)) (Goodfellow et al. 2014, Proposition 1).

    Args:
        p_data, p_g: the two densities at the same points, any (equal) shape.

    Returns:
        D* at those points; 1/2 where both densities are zero (D* is arbitrary there).
    """
    total = p_data + p_g
    return torch.where(total > 0, p_data / torch.where(total > 0, total, 1.0), 0.5)


def optimal_logit(log_p_data: torch.Tensor, log_p_g: torch.Tensor) -> torch.Tensor:
    """The logit of D*: log p_data - log p_g (stable form of ``optimal_discriminator``)."""
    return log_p_data - log_p_g


def value_quadrature(
    log_p_data: torch.Tensor, log_p_g: torch.Tensor, d_logit: torch.Tensor, x: torch.Tensor
) -> torch.Tensor:
    """V(G, D) = ∫ p_data log D + p_g log(1 - D) dx for D = sigmoid(d_logit), on the grid x.

    Uses log D = -softplus(-l) and log(1 - D) = -softplus(l) (never log(sigmoid)); a density
    that is zero contributes nothing even where D's logit is infinite.
    """
    p_data, p_g = torch.exp(log_p_data), torch.exp(log_p_g)
    log_d = torch.where(p_data > 0, -F.softplus(-d_logit), torch.zeros_like(d_logit))
    log_1md = torch.where(p_g > 0, -F.softplus(d_logit), torch.zeros_like(d_logit))
    return integrate(p_data * log_d + p_g * log_1md, x)
