"""Model families by name; ``build(model_cfg, shape, num_classes)`` returns the pair (G, D).

Every G has an attribute ``z_dim`` and maps z (N, z_dim) to samples (N, *shape); every D
maps samples to logits (N,), with no sigmoid inside.

Conditional pairs (``model.conditional``, families mlp, dcgan and resnet): G has ``num_classes`` = C
and maps (z, y) with y (N,) int64 to samples; D has ``conditional`` set to
- ``"cgan"``: D(x, y) -> logits (N,);
- ``"acgan"``: D(x) -> logits (N, 1 + C): the real/fake logit, then the class logits.

Self-conditioned pairs (``model.clusters`` = k, ``gankit.models.clusters``) wrap a cGAN pair
on k clusters: G(z) reads its cluster off z (``num_classes`` 0: unconditional outside), D(x, c)
judges x with cluster c, or with x's nearest centroid when not given one.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from gankit.data.base import unit_uniform
from gankit.errors import GankitError
from gankit.models.clusters import self_conditioned
from gankit.models.conditional import CONDITIONAL_KINDS
from gankit.models.dcgan import DCGANDiscriminator, DCGANGenerator
from gankit.models.layers import ThinConvTranspose2d
from gankit.models.resnet import ResNetDiscriminator, ResNetGenerator
from gankit.models.mlp import MaxoutDiscriminator, MLPDiscriminator, MLPGenerator, PaperGenerator
from gankit.models.toy import LogisticDiscriminator, ShiftGenerator

FAMILIES = {
    "toy": "shift generator x = z + theta and logistic D (1D only)",
    "mlp": "small fully connected pair (toy data or images)",
    "paper-mlp": "Goodfellow et al. (2014) MNIST pair: 1200-1200 ReLU G, maxout D with dropout",
    "dcgan": "DCGAN convolutional pair (square images)",
    "resnet": "SN-GAN ResNet pair (Miyato et al. 2018; Mimicry's shapes), square images of side 32, 48, 64, 128",
}


CONDITIONAL_FAMILIES = ("mlp", "dcgan", "resnet")
CONV_FAMILIES = ("dcgan", "resnet")  # convolutional pairs: the ones model.memory_format applies to
REMEDY_FAMILIES = ("mlp", "paper-mlp", "dcgan")  # the D layers of gankit.models.layers
SPECTRAL_NORM_FAMILIES = (*REMEDY_FAMILIES, "resnet")  # resnet takes spectral_norm, not pack or mbstd


def sample_noise(G: nn.Module, m: int, generator: torch.Generator) -> torch.Tensor:
    """m noise vectors z, shape (m, G.z_dim), drawn from ``generator``.

    z ~ N(0, I), or, for a G built with ``model.noise=uniform``, z ~ U(-sqrt 3, sqrt 3)^z_dim:
    uniform with unit variance, the noise of the 2014 paper's released MNIST code
    (``noise: 'uniform'`` in goodfeli/adversarial's mnist.yaml, drawn in ``Generator.get_noise``).
    """
    if getattr(G, "noise", "gaussian") == "uniform":
        return unit_uniform(m, G.z_dim, generator)
    return torch.randn(m, G.z_dim, generator=generator)


def num_classes(G: nn.Module) -> int:
    """C for a conditional generator, 0 for an unconditional one."""
    return int(getattr(G, "num_classes", 0))


def with_layout(module: nn.Module, memory_format: str) -> nn.Module:
    """``module`` with its 4D weights in ``memory_format`` (``model.memory_format``): ``channels_last``
    (NHWC, the layout oneDNN's CPU convolutions and CUDA's tensor cores prefer), ``contiguous`` (NCHW), or
    ``auto`` not yet resolved (a run directory written before the setting existed): channels-last."""
    if memory_format == "contiguous":
        return module
    return module.to(memory_format=torch.channels_last)


def with_kernels(module: nn.Module, thin_deconv: str) -> nn.Module:
    """``module`` with its ``ThinConvTranspose2d`` layers on the kernel ``model.thin_deconv`` names: ``native``
    (PyTorch's own CPU kernel) or ``onednn``; ``auto`` not yet resolved (a run directory written before the
    setting existed): oneDNN, PyTorch's default."""
    for m in module.modules():
        if isinstance(m, ThinConvTranspose2d):
            m.native = thin_deconv == "native"
    return module


def build(cfg, shape: tuple[int, ...], num_classes: int = 0) -> tuple[nn.Module, nn.Module]:
    """The (G, D) pair of family ``cfg.family`` for samples of shape ``shape``; G draws its z
    from ``cfg.noise`` (``sample_noise``).

    Args:
        cfg: a ``gankit.config.ModelConfig``.
        shape: one sample's shape: (d,) for vectors, (C, H, W) for images.
        num_classes: the data's number of classes; used (and needed, >= 2) only when
            ``cfg.conditional`` is set.
    """
    if cfg.clusters:  # self-conditioning: a cGAN pair on k clusters, G unconditional outside
        inner = dataclasses.replace(cfg, conditional="cgan", clusters=0)
        G, D = self_conditioned(*_pair(inner, shape, cfg.clusters), cfg.clusters, shape)
    else:
        G, D = _pair(cfg, shape, num_classes)
    G.noise = cfg.noise
    return G, D


def _pair(cfg, shape: tuple[int, ...], num_classes: int) -> tuple[nn.Module, nn.Module]:
    d_width = cfg.d_width or cfg.width
    is_image = len(shape) == 3
    cond = cfg.conditional
    if cond not in CONDITIONAL_KINDS:
        raise GankitError(f"unknown model.conditional {cond!r}; valid: '', cgan, acgan")
    if cond and cfg.family not in CONDITIONAL_FAMILIES:
        raise GankitError(f"model.conditional={cond} needs model.family mlp, dcgan or resnet, got {cfg.family}")
    if cond and num_classes < 2:
        raise GankitError(f"model.conditional={cond} needs at least 2 classes, got {num_classes}")
    k = num_classes if cond else 0
    remedies = {"spectral_norm": cfg.spectral_norm, "pack": cfg.pack, "mbstd": cfg.mbstd}
    if (cfg.pack != 1 or cfg.mbstd) and cfg.family not in REMEDY_FAMILIES:
        raise GankitError(f"model.pack and model.mbstd need model.family {', '.join(REMEDY_FAMILIES)}, "
                          f"got {cfg.family}")
    if cfg.spectral_norm and cfg.family not in SPECTRAL_NORM_FAMILIES:
        raise GankitError(f"model.spectral_norm needs model.family {', '.join(SPECTRAL_NORM_FAMILIES)}, "
                          f"got {cfg.family}")
    if cfg.family == "toy":
        if shape != (1,):
            raise GankitError(f"model.family=toy needs 1D data, got samples of shape {shape}")
        return ShiftGenerator(cfg.theta0), LogisticDiscriminator(1)
    if cfg.family == "mlp":
        G = MLPGenerator(cfg.z_dim, shape, hidden=cfg.width, depth=cfg.depth, tanh=is_image, num_classes=k)
        return G, MLPDiscriminator(shape, hidden=d_width, depth=cfg.depth, num_classes=k, conditional=cond,
                                   **remedies)
    if cfg.family == "paper-mlp":
        return PaperGenerator(cfg.z_dim, shape, batchnorm=cfg.g_batchnorm), MaxoutDiscriminator(shape, **remedies)
    if cfg.family == "dcgan":
        if not is_image or shape[1] != shape[2]:
            raise GankitError(f"model.family=dcgan needs square images, got samples of shape {shape}")
        c, size = shape[0], shape[1]
        G = DCGANGenerator(cfg.z_dim, size, c, cfg.width, num_classes=k)
        D = DCGANDiscriminator(size, c, d_width, num_classes=k, conditional=cond, extra=cfg.d_extra, **remedies)
        return with_kernels(with_layout(G, cfg.memory_format), cfg.thin_deconv), with_layout(D, cfg.memory_format)
    if cfg.family == "resnet":
        if not is_image or shape[1] != shape[2]:
            raise GankitError(f"model.family=resnet needs square images, got samples of shape {shape}")
        c, size = shape[0], shape[1]
        G = ResNetGenerator(cfg.z_dim, size, c, cfg.width, num_classes=k)
        D = ResNetDiscriminator(size, c, d_width, num_classes=k, conditional=cond, spectral_norm=cfg.spectral_norm)
        return with_layout(G, cfg.memory_format), with_layout(D, cfg.memory_format)
    raise GankitError(f"unknown model family {cfg.family!r}; valid: {', '.join(FAMILIES)}")
