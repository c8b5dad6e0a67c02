"""The moving average of G's weights (``train.ema``): Yazici et al. (2019), "The Unusual
Effectiveness of Averaging in GAN Training". The Trainer averages after every step and samples
from the average, with BatchNorm statistics measured on the average itself (``standing_statistics``)."""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from gankit.models import num_classes, sample_noise
from gankit.threads import one_thread


def ema_update(decay: float) -> Callable[[list, list, torch.Tensor], None]:
    """AveragedModel's ``multi_avg_fn`` for an exponential moving average with a warm-up.

    The first update copies G (AveragedModel does that); after n updates the average moves
    towards G by 1 - min(decay, (1 + n) / (10 + n)), the rule of TensorFlow's
    ExponentialMovingAverage with ``num_updates``. The effective decay thus rises with the
    run and reaches ``decay`` only after (10 decay - 1) / (1 - decay) updates (8,990 for
    0.999): at step 3,000 it is 0.997, an average over the last ~330 steps. A fixed 0.999
    would still give the first steps' weights, those of a barely trained G, a share of
    0.999^n (5% at step 3,000).
    """

    @torch.no_grad()
    def update(averaged: list, current: list, n_averaged: torch.Tensor) -> None:
        n = float(n_averaged)
        weight = 1.0 - min(decay, (1.0 + n) / (10.0 + n))
        for a, c in zip(averaged, current):
            a.lerp_(c, weight)

    return update


def average_of(G: nn.Module, decay: float) -> torch.optim.swa_utils.AveragedModel:
    """A moving average of G's weights (Yazici et al. 2019: averaged generators sample better).

    ``update_parameters(G)`` after each step averages the parameters; the buffers (BatchNorm
    statistics) are copied from G, as StyleGAN2-ADA does for its average: they track G's
    current weights, which differ little from an average over a few hundred steps, and an
    average of running variances is no variance of the averaged net either. The averaged
    generator is ``.module``.
    """
    return torch.optim.swa_utils.AveragedModel(G, multi_avg_fn=ema_update(decay), use_buffers=False)


STANDING_BATCHES = 100  # batches of noise behind the averaged G's BatchNorm statistics


@torch.no_grad()
def standing_statistics(G: nn.Module, batch_size: int, batches: int = STANDING_BATCHES, seed: int = 0) -> None:
    """Measure G's BatchNorm statistics on G itself: the mean and variance each layer sees over
    ``batches`` training-mode passes of ``batch_size`` noise vectors (seeded by ``seed``, the global
    RNG untouched), equally weighted. A no-op for a G without BatchNorm.

    The weight average is a net no G in training ever was, so the statistics copied from the
    current G do not fit it, and the longer the average the worse; BigGAN's "standing
    statistics" (Brock et al. 2019) and SWA's ``update_bn`` (Izmailov et al. 2018) measure them
    on the averaged net instead. A conditional G gets uniformly drawn classes.
    """
    norms = [m for m in G.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the passes
    training = G.training
    G.train()
    gen = torch.Generator().manual_seed(seed)
    device = next(G.parameters()).device
    classes = num_classes(G)
    with one_thread():  # statistics measured once from the seed: the same at any thread count (gankit.threads)
        for _ in range(batches):
            z = sample_noise(G, batch_size, gen).to(device)
            if classes:
                G(z, torch.randint(classes, (batch_size,), generator=gen).to(device))
            else:
                G(z)
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    G.train(training)
