"""Fully connected players: a small pair for 1D/2D data, and the MNIST pair of
Goodfellow et al. (2014)."""

from __future__ import annotations

import math

import torch
from torch import nn


class MLPGenerator(nn.Module):
    """z (N, z_dim) -> x (N, *out_shape): ``depth`` ReLU layers of ``hidden`` units.

    The output is linear for toy data (its own coordinates) and tanh for images ([-1, 1]).
    """

    def __init__(self, z_dim: int, out_shape: tuple[int, ...] | int, hidden: int = 128, depth: int = 3,
                 tanh: bool = False):
        super().__init__()
        self.z_dim = z_dim
        self.out_shape = (out_shape,) if isinstance(out_shape, int) else tuple(out_shape)
        layers: list[nn.Module] = []
        width_in = z_dim
        for _ in range(depth):
            layers += [nn.Linear(width_in, hidden), nn.ReLU()]
            width_in = hidden
        layers.append(nn.Linear(width_in, math.prod(self.out_shape)))
        if tanh:
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(len(z), *self.out_shape)


class MLPDiscriminator(nn.Module):
    """x (N, *in_shape) -> logits (N,): ``depth`` LeakyReLU(0.2) layers of ``hidden`` units."""

    def __init__(self, in_shape: tuple[int, ...] | int, hidden: int = 128, depth: int = 3):
        super().__init__()
        in_dim = in_shape if isinstance(in_shape, int) else math.prod(in_shape)
        layers: list[nn.Module] = []
        for _ in range(depth):
            layers += [nn.Linear(in_dim, hidden), nn.LeakyReLU(0.2)]
            in_dim = hidden
        layers.append(nn.Linear(in_dim, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1)).squeeze(1)


class Maxout(nn.Module):
    """A maxout layer (Goodfellow et al. 2013): the max over ``pieces`` linear maps."""

    def __init__(self, in_features: int, units: int, pieces: int):
        super().__init__()
        self.units, self.pieces = units, pieces
        self.linear = nn.Linear(in_features, units * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).view(len(x), self.units, self.pieces).amax(dim=2)


class PaperGenerator(MLPGenerator):
    """The MNIST generator of Goodfellow et al. (2014): 100-d noise -> 1200 -> 1200 ReLU -> 784.

    The paper's output is a sigmoid on [0, 1] pixels; here it is tanh, since gankit keeps
    images in [-1, 1] (the same function up to an affine map).
    """

    def __init__(self, z_dim: int = 100, out_shape: tuple[int, ...] = (1, 28, 28), hidden: int = 1200):
        super().__init__(z_dim, out_shape, hidden=hidden, depth=2, tanh=True)


class MaxoutDiscriminator(nn.Module):
    """The MNIST discriminator of Goodfellow et al. (2014): two maxout layers of 240 units x
    5 pieces, dropout on the input (0.2) and hidden layers (0.5), then one logit.

    Args:
        in_shape: shape of one sample, e.g. (1, 28, 28).
    """

    def __init__(self, in_shape: tuple[int, ...] = (1, 28, 28), units: int = 240, pieces: int = 5,
                 input_dropout: float = 0.2, hidden_dropout: float = 0.5):
        super().__init__()
        in_dim = math.prod(in_shape)
        self.net = nn.Sequential(
            nn.Dropout(input_dropout),
            Maxout(in_dim, units, pieces),
            nn.Dropout(hidden_dropout),
            Maxout(units, units, pieces),
            nn.Dropout(hidden_dropout),
            nn.Linear(units, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1)).squeeze(1)
