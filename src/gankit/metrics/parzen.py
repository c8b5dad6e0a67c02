"""Parzen-window log-likelihood, the evaluation protocol of Goodfellow et al. (2014), section 5.

"We estimate probability of the test set data under p_g by fitting a Gaussian Parzen window
to the samples generated with G and reporting the log-likelihood under this distribution.
The sigma parameter of the Gaussians was obtained by cross validation on the validation
set." The paper's code (goodfeli/adversarial, ``parzen_ll.py``) fits the window to 10,000
samples, scans sigma over ``logspace(-1, 0, 10)`` on the first 1,000 images of the MNIST
validation set (training images 50,000 to 60,000, which the GAN did not train on), works
on pixels in [0, 1], and reports ``mean ± std / sqrt(n)`` of the per-example
log-likelihoods of the 10,000 test images (numpy's population std).

The density of the window at x, with centres mu_1..mu_N (the samples) in d dimensions:

    log p(x) = logsumexp_i( -||x - mu_i||^2 / (2 sigma^2) ) - log N - (d / 2) log(2 pi sigma^2)

Theis, van den Oord and Bethge (2016), "A note on the evaluation of generative models",
show how little this number says: in high dimension the estimate is far from the true
log-likelihood even with very many samples, and it ranks models wrongly (a k-means model
scores higher than samples from the data distribution itself). It is reproduced here as
the paper's protocol, not as a measure of sample quality.
"""

from __future__ import annotations

import math

import torch

from gankit.errors import GankitError

# The paper's grid: numpy.logspace(-1, 0, num=10), sigma from 0.1 to 1.
DEFAULT_SIGMAS = tuple(float(s) for s in torch.logspace(-1, 0, 10, dtype=torch.float64))


def _flat(x: torch.Tensor, what: str) -> torch.Tensor:
    if x.dim() < 2 or len(x) == 0:
        raise GankitError(f"parzen: {what} must have shape (N, ...) with N > 0, got {tuple(x.shape)}")
    return x.reshape(len(x), -1).double()


def _squared_distances(x: torch.Tensor, mu: torch.Tensor, mu_sq: torch.Tensor) -> torch.Tensor:
    """||x_j - mu_i||^2 of shape (B, N), in float64, by the expansion |x|^2 + |mu|^2 - 2 x.mu."""
    d2 = (x * x).sum(1, keepdim=True) + mu_sq[None, :] - 2.0 * (x @ mu.T)
    return d2.clamp_min_(0.0)  # the expansion can round to tiny negatives


def parzen_log_density(
    x: torch.Tensor, mu: torch.Tensor, sigmas: torch.Tensor | list[float], batch_size: int = 200
) -> torch.Tensor:
    """Log-density of a Gaussian Parzen window at each point of ``x``, for several sigmas.

    Args:
        x: points to evaluate, shape (M, ...), flattened to (M, d).
        mu: the window's centres (the generated samples), shape (N, ...) with the same d.
        sigmas: K bandwidths.
        batch_size: rows of ``x`` per (batch, N) block of distances; memory is about
            ``16 * batch_size * N`` bytes.

    Returns:
        float64 tensor of shape (K, M): log p_sigma(x_j) for each sigma and point.
    """
    x, mu = _flat(x, "points"), _flat(mu, "samples")
    if x.shape[1] != mu.shape[1]:
        raise GankitError(f"parzen: points have {x.shape[1]} dimensions, samples {mu.shape[1]}")
    sig = torch.as_tensor(sigmas, dtype=torch.float64).reshape(-1)
    if (sig <= 0).any():
        raise GankitError("parzen: every sigma must be positive")
    n, d = mu.shape
    mu_sq = (mu * mu).sum(1)
    # The normaliser of the mixture: log N + (d/2) log(2 pi sigma^2), one per sigma.
    log_z = math.log(n) + 0.5 * d * torch.log(2 * math.pi * sig**2)
    out = []
    for chunk in x.split(batch_size):
        d2 = _squared_distances(chunk, mu, mu_sq)  # (B, N): shared by every sigma
        # One sigma at a time keeps memory at one (B, N) block.
        out.append(torch.stack([torch.logsumexp(d2 / (-2.0 * s * s), dim=1) for s in sig.tolist()]) - log_z[:, None])
    return torch.cat(out, dim=1)


def parzen_log_likelihood(
    samples: torch.Tensor,
    valid: torch.Tensor,
    test: torch.Tensor,
    sigmas: list[float] | torch.Tensor | None = None,
    batch_size: int = 200,
) -> tuple[float, float, float]:
    """The paper's Parzen-window protocol: choose sigma on ``valid``, report on ``test``.

    All three sets must be in the same space; for images that is pixels in [0, 1], as in
    the paper: callers map gankit's [-1, 1] images with ``(x + 1) / 2``. Inputs are
    flattened to (N, d) and computed in float64.

    Args:
        samples: generated samples, the window's centres, shape (N, ...) (the paper: 10,000).
        valid: held-out data for choosing sigma, shape (M_v, ...), disjoint from the
            training data.
        test: test data, shape (M, ...).
        sigmas: candidate bandwidths; default ``logspace(-1, 0, 10)``.
        batch_size: rows per block of distances (memory ~ 16 * batch_size * N bytes).

    Returns:
        (mean log-likelihood on test, its standard error std / sqrt(M) with the population
        std as in the paper's code, the chosen sigma). Nats per example.
    """
    grid = torch.as_tensor(DEFAULT_SIGMAS if sigmas is None else sigmas, dtype=torch.float64).reshape(-1)
    if len(grid) == 0:
        raise GankitError("parzen: give at least one sigma")
    valid_ll = parzen_log_density(valid, samples, grid, batch_size).mean(dim=1)  # (K,)
    sigma = float(grid[int(valid_ll.argmax())])
    ll = parzen_log_density(test, samples, [sigma], batch_size)[0]
    se = ll.std(unbiased=False) / math.sqrt(len(ll))
    return float(ll.mean()), float(se), sigma
