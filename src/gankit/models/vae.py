"""A variational autoencoder's encoder for a gankit generator used as its decoder.

The VAE (Kingma & Welling 2014) here is q(z | x) = N(mu(x), diag s(x)^2) around one of
gankit's own generators, unchanged: the decoder *is* the GAN's G (the ``paper-mlp`` net of
``mnist-mlp``, the DCGAN G), read as the mean of N(x; G(z), sigma^2 I) under z ~ N(0, I). So a
VAE and a GAN of the same architecture can be scored by the same AIS and the same sigma
(Wu et al. 2017 compare GAN-50 and VAE-50 this way). Training is in ``gankit.vae``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

LOG_S_RANGE = (-7.0, 2.0)  # q's log standard deviations are clamped here: no collapse to 0, no blow-up


class ConvEncoder(nn.Module):
    """images (N, C, S, S) -> (mu, log_s), each (N, z_dim): two stride-2 4x4 convolutions (LeakyReLU 0.2,
    DCGAN's D without BatchNorm), then one linear map to 2 z_dim."""

    def __init__(self, shape: tuple[int, ...], z_dim: int, width: int = 32):
        super().__init__()
        c, h, w = shape
        self.z_dim = z_dim
        self.net = nn.Sequential(
            nn.Conv2d(c, width, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Linear(2 * width * (h // 4) * (w // 4), 2 * z_dim),
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, log_s = self.net(x).chunk(2, dim=1)
        return mu, log_s.clamp(*LOG_S_RANGE)


class MLPEncoder(nn.Module):
    """x (N, ...) -> (mu, log_s), each (N, z_dim): two ReLU layers of ``hidden`` units."""

    def __init__(self, shape: tuple[int, ...], z_dim: int, hidden: int = 512):
        super().__init__()
        self.z_dim = z_dim
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(math.prod(shape), hidden), nn.ReLU(),
                                 nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 2 * z_dim))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, log_s = self.net(x).chunk(2, dim=1)
        return mu, log_s.clamp(*LOG_S_RANGE)


def build_encoder(cfg, shape: tuple[int, ...]) -> nn.Module:
    """The encoder that goes with ``cfg.family``'s decoder: convolutional for dcgan, else an MLP.

    Args:
        cfg: a ``gankit.config.ModelConfig`` (family, z_dim, width / d_width).
        shape: one sample's shape.
    """
    if cfg.family == "dcgan" and len(shape) == 3:
        return ConvEncoder(shape, cfg.z_dim, cfg.d_width or cfg.width)
    return MLPEncoder(shape, cfg.z_dim)
