"""DCGAN (Radford et al. 2016) for square images of side 4*2^n or 7*2^n (8, 16, 28, 32, 64, ...).

The rules of the paper, section 3: strided (transposed) convolutions instead of pooling;
BatchNorm in both players except the generator's output and the discriminator's input;
ReLU in G with tanh at the output; LeakyReLU(0.2) in D; weights from N(0, 0.02).
Like pytorch/examples' dcgan, G starts from a ``base`` x ``base`` map (4, or 7 for 28x28
images) and doubles the side with ConvTranspose2d(4, stride 2, padding 1); D mirrors it
and ends in a ``base`` x ``base`` convolution to one logit.
"""

from __future__ import annotations

import torch
from torch import nn

from gankit.errors import GankitError


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
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class DCGANGenerator(nn.Module):
    """z (N, z_dim) -> images (N, channels, image_size, image_size) in [-1, 1].

    Args:
        z_dim: noise dimension.
        image_size: side of the output (see ``layout``).
        channels: output channels (1 grayscale, 3 RGB).
        width: channels of the last hidden map (pytorch/examples' ngf); the first has
            width * 2**(n-1).
    """

    def __init__(self, z_dim: int = 100, image_size: int = 64, channels: int = 3, width: int = 64):
        super().__init__()
        self.z_dim = z_dim
        base, n = layout(image_size)
        c = width * 2 ** (n - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(z_dim, c, base, 1, 0, bias=False),
            nn.BatchNorm2d(c),
            nn.ReLU(True),
        ]
        for _ in range(n - 1):
            layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c // 2), nn.ReLU(True)]
            c //= 2
        layers += [nn.ConvTranspose2d(c, channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.apply(init_weights)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.view(len(z), self.z_dim, 1, 1))


class DCGANDiscriminator(nn.Module):
    """images (N, channels, image_size, image_size) -> logits (N,). No sigmoid inside.

    Args:
        image_size, channels: the input's side and channels.
        width: channels of the first map (pytorch/examples' ndf), doubled at each halving.
    """

    def __init__(self, image_size: int = 64, channels: int = 3, width: int = 64):
        super().__init__()
        base, n = layout(image_size)
        c = width
        # No BatchNorm on the input layer (DCGAN rule).
        layers: list[nn.Module] = [nn.Conv2d(channels, c, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
        for _ in range(n - 1):
            layers += [nn.Conv2d(c, c * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c * 2), nn.LeakyReLU(0.2, True)]
            c *= 2
        layers.append(nn.Conv2d(c, 1, base, 1, 0, bias=False))
        self.net = nn.Sequential(*layers)
        self.apply(init_weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(len(x))
