"""The players' optimizers and their schedule: Adam (DCGAN) or SGD with momentum (the 2014 paper),
the paper's learning-rate decay with a floor, and its rising momentum. ``gankit.train.Trainer``
sets them before every step (``Trainer.begin_step``)."""

from __future__ import annotations

import math

import torch
from torch import nn

from gankit import config as config_lib


def make_optimizers(cfg: config_lib.TrainConfig, G: nn.Module, D: nn.Module):
    """(opt_G, opt_D): Adam(lr, (beta1, beta2)) or SGD(lr, momentum) per ``cfg.optimizer``.

    On the CPU and CUDA the update is one fused kernel over all of a player's parameters
    (``fused=True``): the same update as the per-parameter loop, in 40% less time on the CPU
    (docs/BENCHMARKS.md), which matters for small nets whose steps are short.
    """
    device = next(G.parameters()).device.type
    fused = {"fused": True} if device in ("cpu", "cuda") else {}
    if cfg.optimizer == "adam":
        return (torch.optim.Adam(G.parameters(), lr=cfg.lr_g, betas=(cfg.beta1, cfg.beta2), **fused),
                torch.optim.Adam(D.parameters(), lr=cfg.lr_d, betas=(cfg.beta1, cfg.beta2), **fused))
    return (torch.optim.SGD(G.parameters(), lr=cfg.lr_g, momentum=cfg.momentum, **fused),
            torch.optim.SGD(D.parameters(), lr=cfg.lr_d, momentum=cfg.momentum, **fused))


def schedule(cfg: config_lib.TrainConfig, step: int, batches_per_epoch: float = math.inf) -> tuple[float, float, float]:
    """(lr_g, lr_d, momentum) before ``step`` (0-based): the paper's exponential learning-rate
    decay with a floor, and momentum rising linearly from ``momentum`` to ``momentum_final``
    over ``momentum_steps`` steps, or over ``momentum_epochs`` epochs of ``batches_per_epoch``
    minibatches when that is set (the paper's code: 250 epochs, pylearn2's MomentumAdjustor)."""
    decay = cfg.lr_decay ** step
    rise = cfg.momentum_steps
    if cfg.momentum_epochs > 0 and math.isfinite(batches_per_epoch):
        rise = max(1.0, cfg.momentum_epochs * batches_per_epoch)
    frac = min(1.0, step / rise)
    momentum = cfg.momentum + frac * (cfg.momentum_final - cfg.momentum)
    return max(cfg.lr_g * decay, cfg.lr_min), max(cfg.lr_d * decay, cfg.lr_min), momentum


def set_hyper(opt: torch.optim.Optimizer, lr: float, momentum: float | None) -> None:
    for group in opt.param_groups:
        group["lr"] = lr
        if momentum is not None:
            group["momentum"] = momentum
