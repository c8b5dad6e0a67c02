"""Layers shared by the conditional players of every family (Mirza & Osindero 2014; Odena et al. 2017).

- G: ``with_one_hot`` concatenates the one-hot class code to z (``g[z, c]``).
- D, conditional GAN: ``project`` adds ``<embed(y), phi(x)>`` to the logit, the projection
  discriminator of Miyato & Koyama (2018).
- D, ACGAN: no layer needed, the last layer has 1 + C outputs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

CONDITIONAL_KINDS = ("", "cgan", "acgan")  # none; class into G and D; class into G, D predicts it


def with_one_hot(z: torch.Tensor, y: torch.Tensor | None, num_classes: int) -> torch.Tensor:
    """[z, one_hot(y)] of shape (N, z_dim + C): the input of a conditional generator.

    One-hot rather than an embedding table: G's first layer is a linear map, so its
    weights on the one-hot inputs *are* a learnt class embedding, initialised like the
    rest of the layer. Starting that embedding at z's scale (N(0, 1)) instead was worse
    on mnist5k: ACGAN's G then ignored z and drew one image per class (a collapse within
    each class) for thousands of steps.
    """
    if y is None:
        raise ValueError("a conditional generator needs the class labels y, shape (N,)")
    return torch.cat([z, F.one_hot(y, num_classes).to(z.dtype)], dim=1)


def check_conditional(conditional: str, num_classes: int) -> None:
    """Raise ValueError unless (conditional, num_classes) is a valid pair."""
    if conditional not in CONDITIONAL_KINDS:
        raise ValueError(f"conditional must be one of {CONDITIONAL_KINDS}, got {conditional!r}")
    if bool(conditional) != (num_classes > 0):
        raise ValueError(f"conditional={conditional!r} needs num_classes {'> 0' if conditional else '= 0'}, "
                         f"got {num_classes}")


def project(logits: torch.Tensor, phi: torch.Tensor, embed: nn.Embedding, y: torch.Tensor | None) -> torch.Tensor:
    """The projection discriminator's output ``psi(phi) + <embed(y), phi>`` (Miyato & Koyama 2018, eq. 3).

    Args:
        logits: psi(phi(x)), the unconditional part, shape (N,).
        phi: D's features, shape (N, ...) with prod(...) = embed.embedding_dim.
        embed: the class embedding (C, d).
        y: class labels, (N,) int64.
    """
    if y is None:
        raise ValueError("a conditional (cgan) discriminator needs the class labels y, shape (N,)")
    e = embed(y).view(phi.shape)  # embed's rows in phi's (C, H, W) order
    if phi.dim() == 4 and not phi.is_contiguous() and phi.is_contiguous(memory_format=torch.channels_last):
        # Channels-last phi: the embedding is laid out like it. phi.flatten(1) would copy phi, and its
        # gradient would reach D's layers in the other layout, where oneDNN and the elementwise backward
        # kernels of the layers below run 5-10x slower on mixed strides (docs/BENCHMARKS.md).
        e = e.contiguous(memory_format=torch.channels_last)
    return logits + (e * phi).sum(tuple(range(1, phi.dim())))  # (a sum over dims keeps the gradient's layout)
