"""The 1D shift generator and the logistic discriminator (Prince, Understanding Deep
Learning, section 15.1 and fig. 15.1)."""

from __future__ import annotations

import torch
from torch import nn


class ShiftGenerator(nn.Module):
    """x = z + theta: a generator with one parameter that can only move its samples.

    Args:
        theta0: the starting shift (3.0 in Prince's figure, left of the data).
    """

    def __init__(self, theta0: float = 3.0):
        super().__init__()
        self.z_dim = 1
        self.theta = nn.Parameter(torch.tensor([float(theta0)]))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """z: (N, 1) -> x: (N, 1)."""
        return z + self.theta


class LogisticDiscriminator(nn.Module):
    """D(x) = sigmoid(phi0 + phi1 x): returns the logit phi0 + phi1 x, shape (N,)."""

    def __init__(self, in_features: int = 1):
        super().__init__()
        self.linear = nn.Linear(in_features, 1)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).squeeze(1)
