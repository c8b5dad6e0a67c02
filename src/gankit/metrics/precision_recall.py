"""Precision, recall, density and coverage of generated samples in a feature space.

Precision and recall by k-nearest-neighbour manifolds (Kynkäänniemi et al. 2019, "Improved
precision and recall metric for assessing generative models"), density and coverage
(Naeem et al. 2020, "Reliable fidelity and diversity metrics for generative models"),
through their authors' package ``prdc`` (NAVER, MIT licence):

- precision: fraction of fake samples inside the union of the real k-NN balls (fidelity);
- recall: fraction of real samples inside the union of the fake k-NN balls (diversity);
- density: mean number of real balls holding each fake sample, divided by k (about 1 when
  the two distributions match; above 1 when fakes crowd dense real regions);
- coverage: fraction of real samples whose ball holds at least one fake sample.
"""

from __future__ import annotations

import contextlib
import io

import torch

from gankit.errors import GankitError

NEAREST_K = 5  # Naeem et al. (2020), section 4: k = 5


def prdc(real_features: torch.Tensor, fake_features: torch.Tensor, nearest_k: int = NEAREST_K) -> dict[str, float]:
    """Precision, recall, density and coverage (``prdc.compute_prdc``) on Euclidean features.

    Args:
        real_features: (N_r, d) features of real samples.
        fake_features: (N_f, d) features of generated samples (the authors use N_r = N_f).
        nearest_k: k of the k-NN balls.

    Returns:
        {"precision", "recall", "density", "coverage"} as floats.
    """
    from prdc import compute_prdc

    if real_features.dim() != 2 or fake_features.dim() != 2 or real_features.shape[1] != fake_features.shape[1]:
        raise GankitError(
            f"prdc: need (N, d) features of equal d, got {tuple(real_features.shape)} and {tuple(fake_features.shape)}"
        )
    if min(len(real_features), len(fake_features)) <= nearest_k:
        raise GankitError(f"prdc: need more than nearest_k={nearest_k} samples in each set")
    # compute_prdc prints the set sizes; the library never prints, so its stdout is swallowed.
    with contextlib.redirect_stdout(io.StringIO()):
        out = compute_prdc(
            real_features.double().numpy(), fake_features.double().numpy(), nearest_k=nearest_k
        )
    return {name: float(out[name]) for name in ("precision", "recall", "density", "coverage")}
