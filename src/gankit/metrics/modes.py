"""Mode coverage: the 2D Gaussian mixtures and Stacked MNIST, by the PacGAN / VEEGAN definitions.

2D mixtures (Srivastava et al. 2017, "VEEGAN", section 5.1; Lin et al. 2018, "PacGAN",
section 5 and their code ``MetricLogger``): each sample is assigned to its nearest mode; it
is *high quality* when it lies within 3 standard deviations of that mode; a mode is
*covered* when at least one high-quality sample is assigned to it. The *reverse KL* is
KL(q || p) with q the histogram of the high-quality samples over the modes and p the
uniform distribution of the data over its modes.

Stacked MNIST (Metz et al. 2017, "Unrolled GANs", section 3.3.2; PacGAN, section 5.2): three
digits stacked as channels give 1,000 modes (100 d1 + 10 d2 + d3); a pre-trained classifier
labels each channel of 26,000 samples, a mode is covered when at least one sample lands in
it, and the reverse KL is KL(q || uniform over 1,000) of the histogram of all samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from gankit.errors import GankitError
from gankit.metrics.classifier import DigitCNN, classify
from gankit.metrics.scores import kl_to_uniform

HQ_THRESHOLD = 3.0  # standard deviations (VEEGAN, PacGAN)
STACKED_MODES = 1000
STACKED_SAMPLES = 26_000  # PacGAN's evaluation size for Stacked MNIST


@dataclass
class ModeCount:
    """The outcome of a mode count.

    Attributes:
        modes: modes covered.
        total: modes of the data.
        reverse_kl: KL(q || uniform) of the histogram in nats; NaN when no sample counts.
        counts: samples assigned to each mode (high-quality ones only for mixtures), (total,).
        hq_fraction: fraction of high-quality samples (mixtures; NaN for Stacked MNIST).
    """

    modes: int
    total: int
    reverse_kl: float
    counts: torch.Tensor
    hq_fraction: float = math.nan


def mixture_modes(
    samples: torch.Tensor, modes: torch.Tensor, sd: float, threshold: float = HQ_THRESHOLD, batch_size: int = 65536
) -> ModeCount:
    """Count the modes of an isotropic Gaussian mixture covered by samples.

    Args:
        samples: generated points, shape (N, d) (d = 2 for ring8 / grid25).
        modes: the mixture's centres, shape (K, d).
        sd: the common standard deviation of the components.
        threshold: a sample is high quality when within ``threshold * sd`` of its nearest mode.
        batch_size: samples per block of distances.

    Returns:
        A ``ModeCount`` with the high-quality fraction and the histogram of high-quality
        samples over the modes.
    """
    if samples.dim() != 2 or modes.dim() != 2 or samples.shape[1] != modes.shape[1] or len(samples) == 0:
        raise GankitError(
            f"mixture_modes: need samples (N, d) and modes (K, d), got {tuple(samples.shape)} and {tuple(modes.shape)}"
        )
    if sd <= 0:
        raise GankitError("mixture_modes: sd must be positive")
    centres = modes.double()
    counts = torch.zeros(len(centres), dtype=torch.int64)
    hq_total = 0
    for chunk in samples.double().split(batch_size):
        dist = torch.linalg.vector_norm(chunk[:, None, :] - centres[None], dim=2)  # (B, K), exact
        nearest_dist, nearest = dist.min(dim=1)
        hq = nearest_dist < threshold * sd
        hq_total += int(hq.sum())
        counts += torch.bincount(nearest[hq], minlength=len(centres))
    return ModeCount(
        modes=int((counts > 0).sum()),
        total=len(centres),
        reverse_kl=kl_to_uniform(counts) if hq_total else math.nan,
        counts=counts,
        hq_fraction=hq_total / len(samples),
    )


def stacked_labels(net: DigitCNN, x: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """The Stacked-MNIST mode of each sample: 100 d1 + 10 d2 + d3 from the classifier.

    Args:
        net: the digit classifier.
        x: stacked digits, shape (N, 3, 28, 28), in [-1, 1].

    Returns:
        int64 tensor (N,) with values in [0, 999].
    """
    if x.dim() != 4 or tuple(x.shape[1:]) != (3, 28, 28):
        raise GankitError(f"stacked MNIST: samples must have shape (N, 3, 28, 28), got {tuple(x.shape)}")
    digits = [classify(net, x[:, c : c + 1], batch_size)[1].argmax(1) for c in range(3)]
    return 100 * digits[0] + 10 * digits[1] + digits[2]


def stacked_modes(net: DigitCNN, x: torch.Tensor, batch_size: int = 500) -> ModeCount:
    """Modes of Stacked MNIST covered by samples ``x`` (N, 3, 28, 28), and the reverse KL.

    The protocol uses N = 26,000 samples (``STACKED_SAMPLES``); mode counts depend on N, so
    compare only counts made with the same N.
    """
    counts = torch.bincount(stacked_labels(net, x, batch_size), minlength=STACKED_MODES)
    return ModeCount(
        modes=int((counts > 0).sum()), total=STACKED_MODES, reverse_kl=kl_to_uniform(counts), counts=counts
    )
