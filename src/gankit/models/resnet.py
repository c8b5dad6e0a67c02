"""SN-GAN's ResNet pair (Miyato et al. 2018, appendix B.4) for square images of side 32, 48, 64 or 128.

The shapes of Mimicry's ``SNGANGenerator32/48/64/128`` and ``SNGANDiscriminator32/48/64/128``
(Lee & Town 2020), which follow the authors' Chainer code (pfnet-research/sngan_projection):

- G: z -> linear -> a ``bottom`` x ``bottom`` map -> residual up-blocks (BatchNorm, ReLU,
  2x nearest-neighbour upsampling, 3x3 conv, BatchNorm, ReLU, 3x3 conv; the shortcut is
  upsampling and a 1x1 conv) -> BatchNorm, ReLU, 3x3 conv, tanh. Nearest-neighbour as in
  the Chainer code (``unpooling_2d``); Mimicry changed it to bilinear.
- D: an "optimized" first block (3x3 conv, ReLU, 3x3 conv, 2x2 average pooling; shortcut:
  pooling then 1x1 conv), residual down-blocks (ReLU, 3x3 conv, ReLU, 3x3 conv, pooling;
  shortcut 1x1 conv then pooling), ReLU, global *sum* pooling, one linear unit. Every conv
  and the linear layer spectrally normalized (``model.spectral_norm``), no BatchNorm.

Widths are multiples of ``width`` (``model.width``; 64 gives Mimicry's exactly: G 256 and D 128
channels at 32 px; ngf 512 / ndf 1024 at 48; ngf = ndf = 1024 at 64 and 128). Weights start
as in Mimicry: Xavier-uniform with gain sqrt 2 in the residual paths, 1 for the shortcuts,
the first linear map and the output conv.

Conditional variants reuse gankit.models.conditional: G takes [z, one_hot(y)] (its first
linear map thus holds a learnt class embedding; SN-GAN's projection G uses conditional
BatchNorm instead), D is a projection discriminator on the pooled features (cgan, Miyato &
Koyama 2018, eq. 3, exactly their D) or has 1 + C outputs (acgan).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from gankit.errors import GankitError
from gankit.models.conditional import check_conditional, project, with_one_hot
from gankit.models.layers import spectral_normalize

# side -> (G's bottom map side, G's channels from the bottom map up (multiples of width),
#          D's channels after each block (multiples of width), whether each D block after the first halves)
ARCHITECTURES: dict[int, tuple[int, tuple[int, ...], tuple[int, ...], tuple[bool, ...]]] = {
    32: (4, (4, 4, 4, 4), (2, 2, 2, 2), (True, False, False)),
    48: (6, (8, 4, 2, 1), (1, 2, 4, 8, 16), (True, True, True, False)),
    64: (4, (16, 8, 4, 2, 1), (1, 2, 4, 8, 16), (True, True, True, True)),
    128: (4, (16, 16, 8, 4, 2, 1), (1, 2, 4, 8, 16, 16), (True, True, True, True, False)),
}


def architecture(image_size: int) -> tuple[int, tuple[int, ...], tuple[int, ...], tuple[bool, ...]]:
    """The table row for ``image_size``, or a one-line GankitError naming the sides there are."""
    if image_size not in ARCHITECTURES:
        raise GankitError(f"model.family=resnet: image side {image_size} is not one of "
                          f"{', '.join(map(str, ARCHITECTURES))} (SN-GAN's / Mimicry's ResNet shapes)")
    return ARCHITECTURES[image_size]


def _conv(c_in: int, c_out: int, kernel: int, gain: float) -> nn.Conv2d:
    conv = nn.Conv2d(c_in, c_out, kernel, 1, kernel // 2)
    nn.init.xavier_uniform_(conv.weight, gain)
    nn.init.zeros_(conv.bias)
    return conv


class GBlock(nn.Module):
    """(N, c_in, s, s) -> (N, c_out, 2s, 2s): BN, ReLU, up, conv3, BN, ReLU, conv3, plus up, conv1."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.b1, self.c1 = nn.BatchNorm2d(c_in), _conv(c_in, c_out, 3, math.sqrt(2))
        self.b2, self.c2 = nn.BatchNorm2d(c_out), _conv(c_out, c_out, 3, math.sqrt(2))
        self.c_sc = _conv(c_in, c_out, 1, 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        up = lambda t: F.interpolate(t, scale_factor=2, mode="nearest")  # noqa: E731
        h = self.c2(F.relu(self.b2(self.c1(up(F.relu(self.b1(x)))))))
        return h + self.c_sc(up(x))


class DBlock(nn.Module):
    """(N, c_in, s, s) -> (N, c_out, s or s/2, ...): ReLU, conv3, ReLU, conv3 [, pool], plus conv1 [, pool].

    ``first``: the "optimized" block that sees the image (no ReLU on it; the shortcut pools first).
    """

    def __init__(self, c_in: int, c_out: int, down: bool, first: bool = False):
        super().__init__()
        self.down, self.first = down or first, first
        hidden = c_out if first else c_in  # (Mimicry / the Chainer code: the hidden width is c_in)
        self.c1, self.c2 = _conv(c_in, hidden, 3, math.sqrt(2)), _conv(hidden, c_out, 3, math.sqrt(2))
        self.c_sc = _conv(c_in, c_out, 1, 1.0) if (c_in != c_out or self.down) else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.c2(F.relu(self.c1(x if self.first else F.relu(x))))
        pool = (lambda t: F.avg_pool2d(t, 2)) if self.down else (lambda t: t)
        if self.first:
            return pool(h) + self.c_sc(pool(x))
        return pool(h) + (x if self.c_sc is None else pool(self.c_sc(x)))


class ResNetGenerator(nn.Module):
    """z (N, z_dim) [, y (N,)] -> images (N, channels, image_size, image_size) in [-1, 1].

    Args:
        z_dim: noise dimension (SN-GAN: 128).
        image_size: 32, 48, 64 or 128 (``ARCHITECTURES``).
        channels: output channels (1 or 3).
        width: the unit of every channel count (64: Mimicry's nets).
        num_classes: C for a conditional G ([z, one_hot(y)] in), 0 otherwise.
    """

    def __init__(self, z_dim: int = 128, image_size: int = 64, channels: int = 3, width: int = 64,
                 num_classes: int = 0):
        super().__init__()
        self.z_dim, self.num_classes = z_dim, num_classes
        bottom, g_mult, _, _ = architecture(image_size)
        chans = [m * width for m in g_mult]
        self.bottom, self.c0 = bottom, chans[0]
        self.l1 = nn.Linear(z_dim + num_classes, bottom * bottom * chans[0])
        nn.init.xavier_uniform_(self.l1.weight, 1.0)
        nn.init.zeros_(self.l1.bias)
        self.blocks = nn.Sequential(*(GBlock(a, b) for a, b in zip(chans, chans[1:])))
        self.out = nn.Sequential(nn.BatchNorm2d(chans[-1]), nn.ReLU(), _conv(chans[-1], channels, 3, 1.0), nn.Tanh())

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        zc = with_one_hot(z, y, self.num_classes) if self.num_classes else z
        h = self.l1(zc).view(len(z), self.c0, self.bottom, self.bottom)
        return self.out(self.blocks(h))  # (the convolutions follow their weights' layout: model.memory_format)


class ResNetDiscriminator(nn.Module):
    """images (N, channels, image_size, image_size) [, y (N,)] -> logits (N,) (acgan: (N, 1 + C)).

    Args:
        image_size, channels: the input's side and channels.
        width: the unit of every channel count (64: Mimicry's nets).
        num_classes, conditional: as for ``gankit.models.dcgan.DCGANDiscriminator``; the
            projection (cgan) acts on the globally summed features, as in Miyato & Koyama.
        spectral_norm: spectral normalization of every conv and of the linear layer.
    """

    conditional = ""

    def __init__(self, image_size: int = 64, channels: int = 3, width: int = 64, num_classes: int = 0,
                 conditional: str = "", spectral_norm: bool = True):
        super().__init__()
        check_conditional(conditional, num_classes)
        self.conditional, self.num_classes = conditional, num_classes
        _, _, d_mult, downs = architecture(image_size)
        chans = [m * width for m in d_mult]
        blocks = [DBlock(channels, chans[0], down=True, first=True)]
        blocks += [DBlock(a, b, down) for a, b, down in zip(chans, chans[1:], downs)]
        self.blocks = nn.Sequential(*blocks)
        self.linear = nn.Linear(chans[-1], 1 + num_classes if conditional == "acgan" else 1)
        nn.init.xavier_uniform_(self.linear.weight, 1.0)
        nn.init.zeros_(self.linear.bias)
        if conditional == "cgan":
            self.embed = nn.Embedding(num_classes, chans[-1])
            nn.init.xavier_uniform_(self.embed.weight, 1.0)
        if spectral_norm:
            spectral_normalize(self)  # convs and linear; the class embedding is left as in the dcgan projection

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        phi = F.relu(self.blocks(x)).sum(dim=(2, 3))  # global sum pooling: (N, c)
        out = self.linear(phi)
        if self.conditional == "acgan":
            return out
        if self.conditional == "cgan":
            return project(out.view(len(x)), phi, self.embed, y)
        return out.view(len(x))
