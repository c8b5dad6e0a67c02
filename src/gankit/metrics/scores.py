"""Scores from a classifier's outputs: the Inception-Score analogue, the class histogram, per-class accuracy.

With gankit's bundled digit CNN in place of Inception-v3 these follow the usual
definitions; they say whether samples look like *some* digit and whether all digits
appear, not whether they look like MNIST (use FID-CNN and precision/recall for that).
"""

from __future__ import annotations

import math

import torch

from gankit.errors import GankitError


def inception_score(logits: torch.Tensor, splits: int = 1) -> tuple[float, float]:
    """The Inception Score exp(E_x KL(p(y|x) || p(y))) of Salimans et al. (2016), section 4.

    p(y) is the mean of p(y|x) over the (split of the) samples. It lies between 1 (every
    sample gets the same class distribution) and the number of classes (confident
    predictions spread evenly over all classes).

    Args:
        logits: classifier logits, shape (N, K).
        splits: the samples are cut into this many equal parts and the score is averaged
            over them, as in Salimans et al. (they use 10 splits of 5,000). Small splits
            bias the score down; 1 uses all samples at once.

    Returns:
        (mean over splits, population std over splits; 0.0 for one split).
    """
    if logits.dim() != 2 or len(logits) < splits or splits < 1:
        raise GankitError(f"inception_score: need logits (N, K) with N >= splits >= 1, got {tuple(logits.shape)}")
    log_p = torch.log_softmax(logits.double(), dim=1)  # log p(y|x)
    scores = []
    for part in log_p.chunk(splits):
        log_py = torch.logsumexp(part, dim=0) - math.log(len(part))  # log of the mean of p(y|x)
        kl = (part.exp() * (part - log_py)).sum(1)  # KL(p(y|x) || p(y)) per sample
        scores.append(kl.mean().exp())
    s = torch.stack(scores)
    return float(s.mean()), float(s.std(unbiased=False))


def class_histogram(logits: torch.Tensor, num_classes: int | None = None) -> torch.Tensor:
    """Counts of the predicted classes (argmax of the logits), shape (K,), int64."""
    k = logits.shape[1] if num_classes is None else num_classes
    return torch.bincount(logits.argmax(1), minlength=k)


def kl_to_uniform(counts: torch.Tensor) -> float:
    """KL(q || uniform) = sum_k q_k log(K q_k) of the histogram ``counts`` (K,), in nats.

    0 when every class is equally frequent, log K when all samples fall in one class.
    This is the "reverse KL" of the mode-collapse literature (the model's distribution
    first). Terms with q_k = 0 contribute 0.
    """
    c = counts.double()
    if c.sum() <= 0:
        raise GankitError("kl_to_uniform: the histogram is empty")
    q = c / c.sum()
    nz = q > 0
    return float((q[nz] * torch.log(q[nz] * len(q))).sum())


def per_class_accuracy(logits: torch.Tensor, labels: torch.Tensor, num_classes: int | None = None) -> torch.Tensor:
    """For conditional samples: the fraction of samples of each requested label classified as that label.

    Args:
        logits: classifier logits on the samples, shape (N, K).
        labels: the labels the samples were generated for, shape (N,), int64.
        num_classes: K; defaults to ``logits.shape[1]``.

    Returns:
        float64 tensor (K,); NaN for a class no sample was requested for.
    """
    if labels.shape != (len(logits),):
        raise GankitError(f"per_class_accuracy: labels must have shape ({len(logits)},), got {tuple(labels.shape)}")
    k = logits.shape[1] if num_classes is None else num_classes
    labels = labels.long()
    if len(labels) and (labels.min() < 0 or labels.max() >= k):
        raise GankitError(f"per_class_accuracy: labels must lie in [0, {k - 1}]")
    hit = (logits.argmax(1) == labels).double()
    total = torch.bincount(labels, minlength=k).double()
    correct = torch.bincount(labels, weights=hit, minlength=k)
    return torch.where(total > 0, correct / total.clamp_min(1), torch.full_like(total, math.nan))
