"""DCGAN (Radford et al. 2016) for square images of side 4*2^n or 7*2^n (8, 16, 28, 32, 64, ...).

The rules of the paper, section 3: strided (transposed) convolutions instead of pooling;
BatchNorm in both players except the generator's output and the discriminator's input;
ReLU in G with tanh at the output; LeakyReLU(0.2) in D; weights from N(0, 0.02).
Like pytorch/examples' dcgan, G starts from a ``base`` x ``base`` map (4, or 7 for 28x28
images) and doubles the side with ConvTranspose2d(4, stride 2, padding 1); D mirrors it
and ends in a ``base`` x ``base`` convolution to one logit.

Conditional variants (``num_classes`` = C > 0), sharing gankit.models.conditional's layers:
G takes [z, one_hot(y)] as its z_dim + C input channels; D is a projection discriminator
(cGAN) or ends in 1 + C outputs (ACGAN). See the classes for why.
"""

from __future__ import annotations

import torch
from torch import nn

from gankit.errors import GankitError
from gankit.models.conditional import check_conditional, project, with_one_hot
from gankit.models.layers import LatentProjection, MinibatchStd, ThinConvTranspose2d, pack, spectral_normalize


def layout(image_size: int) -> tuple[int, int]:
    """(base, n): image_size = base * 2**n with base in {4, 7} and n >= 1."""
    for base in (4, 7):
        n, side = 0, base
        while side < image_size:
            side, n = side * 2, n + 1
        if side == image_size and n >= 1:
            return base, n
    raise GankitError(f"dcgan: image size {image_size} is not 4*2^n or 7*2^n (8, 14, 16, 28, 32, 64, ...)")


def init_weights(module: nn.Module) -> None:
    """DCGAN initialisation: conv weights N(0, 0.02); BatchNorm scale N(1, 0.02), shift 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Embedding):  # the projection's class vectors: on the scale of the last conv
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class DCGANGenerator(nn.Module):
    """z (N, z_dim) [, y (N,)] -> images (N, channels, image_size, image_size) in [-1, 1].

    Conditional (``num_classes`` = C > 0): the one-hot code of y is concatenated to z
    (``with_one_hot`` says why not an embedding), so the first transposed convolution (a
    linear map from a 1x1 input) adds a learnt ``base`` x ``base`` map per class to the
    noise's: the class shapes the image from the first layer on (Mirza & Osindero 2014;
    Odena et al. 2017 also feed the class to G's first layer).

    Args:
        z_dim: noise dimension.
        image_size: side of the output (see ``layout``).
        channels: output channels (1 grayscale, 3 RGB).
        width: channels of the last hidden map (pytorch/examples' ngf); the first has
            width * 2**(n-1).
        num_classes: C for a conditional generator, 0 for an unconditional one.
    """

    def __init__(self, z_dim: int = 100, image_size: int = 64, channels: int = 3, width: int = 64,
                 num_classes: int = 0):
        super().__init__()
        self.z_dim = z_dim
        self.num_classes = num_classes
        base, n = layout(image_size)
        c = width * 2 ** (n - 1)
        layers: list[nn.Module] = [
            LatentProjection(z_dim + num_classes, c, base, 1, 0, bias=False),  # a matmul from z's 1x1 map
            nn.BatchNorm2d(c),
            nn.ReLU(True),
        ]
        for _ in range(n - 1):
            layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c // 2), nn.ReLU(True)]
            c //= 2
        layers += [ThinConvTranspose2d(c, channels, 4, 2, 1, bias=False), nn.Tanh()]  # (1 or 3 channels)
        self.net = nn.Sequential(*layers)
        self.apply(init_weights)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """z: (N, z_dim), y: (N,) int64 labels (conditional only) -> (N, channels, size, size)."""
        zc = with_one_hot(z, y, self.num_classes) if self.num_classes else z
        return self.net(zc.view(len(z), zc.shape[1], 1, 1))


class DCGANDiscriminator(nn.Module):
    """images (N, channels, image_size, image_size) [, y (N,)] -> logits. No sigmoid inside.

    ``conditional`` chooses what D does with the class (``num_classes`` = C > 0):

    - ``""``: unconditional, logits (N,).
    - ``"cgan"``: D(x, y) -> logits (N,), a projection discriminator (Miyato & Koyama
      2018, eq. 3): ``psi(phi(x)) + <embed(y), phi(x)>`` with phi(x) the last feature
      map (c x base x base) and psi the final convolution (a linear map of that map).
      Chosen over one-hot maps stacked on the input channels because it adds no work
      to the convolutions (one embedding table of C x c*base*base) and lets the class
      act on the features D has learnt; Miyato & Koyama found it better than
      concatenation.
    - ``"acgan"``: D(x) -> logits (N, 1 + C) (Odena et al. 2017): the final convolution
      has 1 + C outputs; column 0 is the real/fake logit, columns 1..C the class logits.

    Args:
        image_size, channels: the input's side and channels.
        width: channels of the first map (pytorch/examples' ndf), doubled at each halving.
        num_classes: C (0 for an unconditional D).
        conditional: "", "cgan" or "acgan".
        spectral_norm: spectral normalization of every convolution, and no BatchNorm
            (Miyato et al. 2018's discriminators have none: its batch statistics would
            undo the per-layer Lipschitz bound).
        pack: PacGAN, judge packs of this many images stacked as channels (logits (N / pack,)).
        mbstd: minibatch standard deviation over groups of this size before the last
            convolution (0: none).
        extra: this many more 3x3 stride-1 convolutions (with BatchNorm and LeakyReLU) at
            the last map, before the final convolution: depth without a smaller map (the
            "extra layers" of Arjovsky et al. 2017's DCGAN code).
    """

    conditional = ""

    def __init__(self, image_size: int = 64, channels: int = 3, width: int = 64, num_classes: int = 0,
                 conditional: str = "", spectral_norm: bool = False, pack: int = 1, mbstd: int = 0,
                 extra: int = 0):
        super().__init__()
        check_conditional(conditional, num_classes)
        self.conditional, self.num_classes, self.pack = conditional, num_classes, pack
        base, n = layout(image_size)
        c = width
        # No BatchNorm on the input layer (DCGAN rule).
        layers: list[nn.Module] = [nn.Conv2d(channels * pack, c, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]

        def block(c_in: int, c_out: int, kernel: int, stride: int) -> list[nn.Module]:
            norm = [] if spectral_norm else [nn.BatchNorm2d(c_out)]  # (SN's D has no BatchNorm)
            return [nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2 if stride == 1 else 1, bias=False), *norm,
                    nn.LeakyReLU(0.2, True)]

        for _ in range(n - 1):  # halve the map, double the channels
            layers += block(c, c * 2, 4, 2)
            c *= 2
        for _ in range(extra):  # depth at the last map
            layers += block(c, c, 3, 1)
        if mbstd:
            layers.append(MinibatchStd(mbstd))
            c += 1
        layers.append(nn.Conv2d(c, 1 + num_classes if conditional == "acgan" else 1, base, 1, 0, bias=False))
        self.net = nn.Sequential(*layers)
        if conditional == "cgan":
            self.embed = nn.Embedding(num_classes, c * base * base)
        self.apply(init_weights)
        if spectral_norm:
            spectral_normalize(self)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        x = pack(x, self.pack)
        if self.conditional == "acgan":
            return self.net(x).view(len(x), 1 + self.num_classes)
        if self.conditional == "cgan":
            phi = self.net[:-1](x)
            return project(self.net[-1](phi).view(len(x)), phi, self.embed, y)
        return self.net(x).view(len(x))  # (N / pack,)
