"""Fully connected players: a small pair for 1D/2D data, and the MNIST pair of
Goodfellow et al. (2014). The small pair also comes conditional (``num_classes > 0``):
see ``MLPGenerator`` and ``MLPDiscriminator`` for how the class enters each player.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from gankit.models.conditional import check_conditional, project, with_one_hot
from gankit.models.layers import MinibatchStd, pack, spectral_normalize


class MLPGenerator(nn.Module):
    """z (N, z_dim) [, y (N,)] -> x (N, *out_shape): ``depth`` ReLU layers of ``hidden`` units.

    The output is linear for toy data (its own coordinates) and tanh for images ([-1, 1]).

    Conditional (``num_classes > 0``, Mirza & Osindero 2014): the one-hot code of the
    class y is concatenated to z (``with_one_hot`` says why not an embedding), so
    g[z, c] sees the class in its first layer.

    Args:
        z_dim: noise dimension.
        out_shape: shape of one sample.
        hidden, depth: width and number of hidden layers.
        tanh: end in tanh (images).
        num_classes: C for a conditional generator, 0 for an unconditional one.
    """

    def __init__(self, z_dim: int, out_shape: tuple[int, ...] | int, hidden: int = 128, depth: int = 3,
                 tanh: bool = False, num_classes: int = 0):
        super().__init__()
        self.z_dim = z_dim
        self.num_classes = num_classes
        self.out_shape = (out_shape,) if isinstance(out_shape, int) else tuple(out_shape)
        layers: list[nn.Module] = []
        width_in = z_dim + num_classes
        for _ in range(depth):
            layers += [nn.Linear(width_in, hidden), nn.ReLU()]
            width_in = hidden
        layers.append(nn.Linear(width_in, math.prod(self.out_shape)))
        if tanh:
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """z: (N, z_dim), y: (N,) int64 class labels (conditional only) -> x: (N, *out_shape)."""
        zc = with_one_hot(z, y, self.num_classes) if self.num_classes else z
        return self.net(zc).view(len(z), *self.out_shape)


class MLPDiscriminator(nn.Module):
    """x (N, *in_shape) [, y (N,)] -> logits: ``depth`` LeakyReLU(0.2) layers of ``hidden`` units.

    ``conditional`` chooses what D does with the class (``num_classes`` = C > 0):

    - ``""``: unconditional, logits (N,).
    - ``"cgan"``: D(x, y) -> logits (N,) through a *projection* (Miyato & Koyama 2018,
      eq. 3): ``psi(phi(x)) + <embed(y), phi(x)>``, with phi(x) the last hidden layer.
      Chosen over concatenating the one-hot code to x because the class then acts on
      the features D has learnt, not on raw pixels, for the price of one embedding
      table (C x hidden), and Miyato & Koyama found it better than concatenation.
    - ``"acgan"``: D(x) -> logits (N, 1 + C) (Odena et al. 2017): column 0 is the
      real/fake logit, columns 1..C the class logits (no softmax inside).

    Remedies (``gankit.models.layers``): ``spectral_norm`` normalizes every linear layer,
    ``pack`` judges packs of that many samples concatenated (logits (N / pack,)), ``mbstd``
    appends the minibatch standard deviation over groups of that size before the last layer.
    """

    conditional = ""

    def __init__(self, in_shape: tuple[int, ...] | int, hidden: int = 128, depth: int = 3, num_classes: int = 0,
                 conditional: str = "", spectral_norm: bool = False, pack: int = 1, mbstd: int = 0):
        super().__init__()
        check_conditional(conditional, num_classes)
        self.conditional, self.num_classes, self.pack = conditional, num_classes, pack
        in_dim = (in_shape if isinstance(in_shape, int) else math.prod(in_shape)) * pack
        layers: list[nn.Module] = []
        for _ in range(depth):
            layers += [nn.Linear(in_dim, hidden), nn.LeakyReLU(0.2)]
            in_dim = hidden
        if mbstd:
            layers.append(MinibatchStd(mbstd))
            in_dim += 1
        layers.append(nn.Linear(in_dim, 1 + num_classes if conditional == "acgan" else 1))
        self.net = nn.Sequential(*layers)
        if conditional == "cgan":
            self.embed = nn.Embedding(num_classes, in_dim)
            bound = in_dim ** -0.5  # nn.Linear's default scale, not Embedding's N(0, 1): the logit starts small
            nn.init.uniform_(self.embed.weight, -bound, bound)
        if spectral_norm:
            spectral_normalize(self)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        x = pack(x.flatten(1), self.pack)
        if self.conditional == "acgan":
            return self.net(x.flatten(1))
        if self.conditional == "cgan":
            phi = self.net[:-1](x.flatten(1))
            return project(self.net[-1](phi).squeeze(1), phi, self.embed, y)
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
