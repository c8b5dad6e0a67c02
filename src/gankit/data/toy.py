"""Toy distributions in their own coordinates: 1D Gaussian, and the PacGAN 2D mixtures.

ring8 and grid25 follow Lin et al. (2018), "PacGAN", section 5 (after VEEGAN): 8 Gaussians
of standard deviation 0.01 on a circle of radius 1, and 25 Gaussians of standard deviation
0.05 on the grid {-4, -2, 0, 2, 4}^2, with equal weights. Using the same definitions lets
our mode counts compare with the published tables.
"""

from __future__ import annotations

import math

import torch

from gankit.data.base import ToyDistribution


class Gauss1D(ToyDistribution):
    """N(mean, sd^2) on the real line, shape (1,)."""

    shape = (1,)

    def __init__(self, mean: float = 5.0, sd: float = 1.0):
        self.mean, self.sd = float(mean), float(sd)
        self.name = f"gauss1d(mean={self.mean:g}, sd={self.sd:g})"

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.mean + self.sd * torch.randn(n, 1, generator=generator)

    def pdf(self, x: torch.Tensor) -> torch.Tensor:
        """The density at x (any shape), float64 for quadrature."""
        x = x.double()
        return torch.exp(-0.5 * ((x - self.mean) / self.sd) ** 2) / (self.sd * math.sqrt(2 * math.pi))


class GaussianMixture2D(ToyDistribution):
    """An equal-weight mixture of isotropic 2D Gaussians with a common standard deviation.

    Attributes:
        modes: the centres, shape (K, 2).
        sd: the standard deviation of every component.
    """

    shape = (2,)

    def __init__(self, modes: torch.Tensor, sd: float, name: str):
        self.modes = modes.float()
        self.sd = float(sd)
        self.name = name

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        k = torch.randint(len(self.modes), (n,), generator=generator)
        return self.modes[k] + self.sd * torch.randn(n, 2, generator=generator)


def ring8(radius: float = 1.0, sd: float = 0.01) -> GaussianMixture2D:
    """8 Gaussians evenly spaced on a circle (PacGAN's 2D-ring)."""
    angles = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
    modes = radius * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    return GaussianMixture2D(modes, sd, "ring8")


def grid25(spacing: float = 2.0, sd: float = 0.05) -> GaussianMixture2D:
    """25 Gaussians on the grid {-2, -1, 0, 1, 2}^2 * spacing (PacGAN's 2D-grid)."""
    axis = torch.arange(-2, 3, dtype=torch.float64) * spacing
    modes = torch.cartesian_prod(axis, axis)
    return GaussianMixture2D(modes, sd, "grid25")
