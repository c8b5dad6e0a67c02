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


def _uniform_init(module: nn.Module, irange: float) -> None:
    """pylearn2's ``irange``: every Linear weight ~ U(-irange, irange), biases 0."""
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            nn.init.uniform_(layer.weight, -irange, irange)
            nn.init.zeros_(layer.bias)


class PaperGenerator(nn.Module):
    """The MNIST generator of Goodfellow et al. (2014): noise -> 1200 -> 1200 ReLU -> 784 sigmoid.

    Faithful to the released code (goodfeli/adversarial, ``mnist.yaml``): weights ~ U(-0.05,
    0.05) (``irange: .05``), biases 0, and the sigmoid output's bias set to the logit of the
    training pixels' means (pylearn2's ``init_sigmoid_bias_from_marginals``; call
    ``init_bias_from_marginals`` with the data), so the first samples are the mean digit,
    not grey noise. The paper's pixels lie in [0, 1]; gankit's in [-1, 1], so the output is
    ``2 sigmoid(l) - 1``: the paper's sigmoid, mapped affinely, with the same logits l.

    ``batchnorm`` (not in the paper; ``model.g_batchnorm``) normalizes each hidden layer over
    the minibatch before its ReLU (Ioffe & Szegedy 2015), as DCGAN's generator does (Radford
    et al. 2016: it keeps "the generator from collapsing all samples to a single point").
    That is the collapse the faithful net shows on mnist5k: its samples barely depend on z
    at the start, so every sample receives nearly the same gradient and the batch moves as
    one; normalizing over the batch keeps each unit's spread across z (docs/paper.md).
    """

    def __init__(self, z_dim: int = 100, out_shape: tuple[int, ...] = (1, 28, 28), hidden: int = 1200,
                 irange: float = 0.05, batchnorm: bool = False):
        super().__init__()
        self.z_dim, self.num_classes = z_dim, 0
        self.out_shape = tuple(out_shape)

        def hidden_layer(width_in: int) -> list[nn.Module]:
            norm = [nn.BatchNorm1d(hidden)] if batchnorm else []
            return [nn.Linear(width_in, hidden), *norm, nn.ReLU()]

        self.net = nn.Sequential(*hidden_layer(z_dim), *hidden_layer(hidden),
                                 nn.Linear(hidden, math.prod(self.out_shape)))
        _uniform_init(self, irange)

    @torch.no_grad()
    def init_bias_from_marginals(self, x: torch.Tensor) -> None:
        """Set the output bias to logit(mean pixel) of ``x`` (N, *out_shape) in [-1, 1].

        As pylearn2's ``init_sigmoid_bias_from_marginals``: the means are clipped to
        [1e-3, 1 - 1e-3] first, so an always-black pixel gets a finite bias (-6.9).
        """
        p = ((x.flatten(1).mean(0) + 1) / 2).clamp(1e-3, 1 - 1e-3)
        self.net[-1].bias.copy_(torch.log(p / (1 - p)))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """z: (N, z_dim) -> x: (N, *out_shape) in [-1, 1]."""
        return (2 * torch.sigmoid(self.net(z)) - 1).view(len(z), *self.out_shape)


class MaxoutDiscriminator(nn.Module):
    """The MNIST discriminator of Goodfellow et al. (2014): two maxout layers of 240 units x
    5 pieces, dropout on the input and hidden layers, then one logit.

    Faithful to the released code (``mnist.yaml``, ``AdversaryCost2``): weights ~ U(-0.005,
    0.005) (``irange: .005``), biases 0; dropout keeps inputs with probability 0.8 (scaled
    by 1.25) and hidden units with 0.5 (scaled by 2), which is torch's inverted dropout with
    p = 0.2 and 0.5. D sees pixels in [0, 1] as in the paper: gankit's [-1, 1] images are
    mapped back first. This matters at SGD learning rate 0.1: on [-1, 1] pixels the 600 or
    so background pixels of a digit all feed the first layer's gradient (-1 instead of 0),
    and the original step size diverges (issue 13; docs/paper.md).

    Remedies (``gankit.models.layers``), off in the paper: ``pack`` judges packs of that many
    samples concatenated (logits (N / pack,)), ``mbstd`` appends the minibatch standard
    deviation over groups of that size before the last layer, ``spectral_norm`` normalizes
    every linear map.

    Args:
        in_shape: shape of one sample, e.g. (1, 28, 28).
    """

    def __init__(self, in_shape: tuple[int, ...] = (1, 28, 28), units: int = 240, pieces: int = 5,
                 input_dropout: float = 0.2, hidden_dropout: float = 0.5, irange: float = 0.005,
                 spectral_norm: bool = False, pack: int = 1, mbstd: int = 0):
        super().__init__()
        self.pack = pack
        layers: list[nn.Module] = [
            nn.Dropout(input_dropout),
            Maxout(math.prod(in_shape) * pack, units, pieces),
            nn.Dropout(hidden_dropout),
            Maxout(units, units, pieces),
            nn.Dropout(hidden_dropout),
        ]
        if mbstd:
            layers.append(MinibatchStd(mbstd))
        layers.append(nn.Linear(units + (1 if mbstd else 0), 1))
        self.net = nn.Sequential(*layers)
        _uniform_init(self, irange)
        if spectral_norm:
            spectral_normalize(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(pack((x.flatten(1) + 1) / 2, self.pack)).squeeze(1)
