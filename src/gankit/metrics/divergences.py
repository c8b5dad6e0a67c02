"""Exact divergences between two 1D distributions with known densities, by quadrature.

For the 1D toy problems both densities are known in closed form (the data's, and the
generator's pushforward of the noise), so the quantities the theory talks about can be
computed directly rather than estimated from samples:

- the Jensen-Shannon divergence, whose value at the optimal discriminator gives the
  generator's criterion C(G) = -log 4 + 2 JSD(p_data || p_g) (Goodfellow et al. 2014,
  Theorem 1, eq. 6);
- the Wasserstein-1 distance, in 1D the area between the CDFs,
  W1(p, q) = integral |F_p(x) - F_q(x)| dx (Villani 2009; Arjovsky et al. 2017, WGAN).

Densities are callables mapping a float64 tensor of points to the density values; both
are integrated with the trapezoidal rule on ``n`` evenly spaced points of [lo, hi], which
must hold essentially all of both distributions' mass (checked).
"""

from __future__ import annotations

import math
from typing import Callable

import torch

from gankit.errors import GankitError

Density = Callable[[torch.Tensor], torch.Tensor]
MASS_TOLERANCE = 1e-3  # the quadrature of each density over [lo, hi] must be within this of 1


def _grid_densities(
    p: Density, q: Density, lo: float, hi: float, n: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    if not hi > lo or n < 3:
        raise GankitError(f"need lo < hi and n >= 3, got lo={lo}, hi={hi}, n={n}")
    x = torch.linspace(lo, hi, n, dtype=torch.float64)
    dens = []
    for name, f in (("p", p), ("q", q)):
        v = torch.as_tensor(f(x), dtype=torch.float64).reshape(-1)
        if v.shape != x.shape or not torch.isfinite(v).all() or (v < 0).any():
            raise GankitError(f"density {name} must return {n} finite non-negative values on the grid")
        mass = float(torch.trapezoid(v, x))
        if abs(mass - 1.0) > MASS_TOLERANCE:
            raise GankitError(f"density {name} integrates to {mass:.6f} on [{lo}, {hi}]: widen the interval")
        dens.append(v)
    return x, dens[0], dens[1]


def _xlogy_ratio(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a log(a / b) with the convention 0 log(0 / b) = 0 (b > 0 wherever a > 0)."""
    return torch.where(a > 0, a * (torch.log(a) - torch.log(b.clamp_min(1e-300))), torch.zeros_like(a))


def jsd_1d(p: Density, q: Density, lo: float, hi: float, n: int = 20001) -> float:
    """Jensen-Shannon divergence JSD(p || q) = KL(p || m) / 2 + KL(q || m) / 2, m = (p + q) / 2.

    Args:
        p, q: densities on the real line (callables on float64 tensors).
        lo, hi: the integration interval; it must hold both distributions' mass.
        n: quadrature points.

    Returns:
        JSD in nats, in [0, log 2].
    """
    x, pv, qv = _grid_densities(p, q, lo, hi, n)
    m = (pv + qv) / 2
    value = 0.5 * torch.trapezoid(_xlogy_ratio(pv, m), x) + 0.5 * torch.trapezoid(_xlogy_ratio(qv, m), x)
    return float(value.clamp(0.0, math.log(2)))


def wasserstein1_1d(p: Density, q: Density, lo: float, hi: float, n: int = 20001) -> float:
    """Wasserstein-1 distance between two 1D densities: the integral of |F_p - F_q| over [lo, hi].

    The CDFs are cumulative trapezoidal integrals of the densities from ``lo``.

    Args:
        p, q: densities on the real line (callables on float64 tensors).
        lo, hi: the integration interval; it must hold both distributions' mass.
        n: quadrature points.
    """
    x, pv, qv = _grid_densities(p, q, lo, hi, n)
    dx = x[1:] - x[:-1]
    zero = torch.zeros(1, dtype=torch.float64)
    cdf_p = torch.cat([zero, torch.cumsum((pv[1:] + pv[:-1]) / 2 * dx, 0)])
    cdf_q = torch.cat([zero, torch.cumsum((qv[1:] + qv[:-1]) / 2 * dx, 0)])
    return float(torch.trapezoid((cdf_p - cdf_q).abs(), x))


def gaussian_density(mean: float, sd: float) -> Density:
    """The N(mean, sd^2) density as a callable, for use with ``jsd_1d`` / ``wasserstein1_1d``."""
    return lambda x: torch.exp(-0.5 * ((x - mean) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))
