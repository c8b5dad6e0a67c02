"""Self-conditioning (Liu et al. 2020, "Diverse Image Generation via Self-Conditioned GANs").

No labels are used: the training data are split into K clusters by k-means, and both players
are conditioned on the cluster, as a conditional GAN is on a class. D judges (x, cluster of x)
for data and (G(z), c) for samples; G is conditioned on a code c drawn with the clusters'
frequencies, so every cluster is asked for as often as the data hold it, which is what counters
mode collapse. Liu et al. cluster D's features and re-cluster during training; gankit clusters
the data once, before training, in their own space (pixels, or points for toy data), as
Sage et al. (2018, "Logo synthesis and manipulation with clustered GANs") cluster up front.

To the outside G stays unconditional, a function of z alone: the code is read off z's first
coordinate through the clusters' cumulative frequencies (c = the cluster whose share of the
unit interval holds Phi(z_0)), so c ~ the cluster frequencies whenever z ~ p_z, and sampling,
evaluation and interpolation see an ordinary G(z). The clusters' centroids and cumulative
frequencies are buffers of the players, saved with their weights; D shown an image without a
cluster judges it with its nearest centroid's, and inverting G (``gankit.invert``) fixes z_0 to
the image's nearest cluster, since the code, a step function of z_0, has no gradient.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from gankit.data.base import TensorData, ToyDistribution
from gankit.errors import GankitError
from gankit.threads import one_thread

FIT_POINTS = 20_000  # k-means runs on at most this many points (drawn with the run's seed)


def fit_clusters(x: torch.Tensor, k: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """k-means (scikit-learn's, k-means++ start) of the rows of ``x`` flattened.

    A seed fixes the clusters at any thread count and on every rank: k-means runs in float64 on one
    thread (``gankit.threads.one_thread``; with 1 and 2 threads scikit-learn's float32 centroids
    differed by 5e-5 on ring8), and its centroids are rounded to float32 at the end. On another CPU
    the BLAS kernels differ, so a centroid may differ there by float64 rounding (1e-15) carried into
    float32: one unit in the last place at most, never a different clustering in practice.

    Args:
        x: the data, (N, ...); at most ``FIT_POINTS`` of them, drawn with ``seed``, fit the centroids.
        k: the number of clusters, 2 <= k <= N.
        seed: k-means' seed and the subsample's.

    Returns:
        (centroids (k, prod(...)), frequencies (k,)): every point of ``x`` is assigned to its
        nearest centroid and the frequencies are the clusters' shares (float32, summing to 1).

    Raises:
        GankitError: more clusters than data points.
    """
    from sklearn.cluster import KMeans

    if not 2 <= k <= len(x):
        raise GankitError(f"model.clusters={k}: needs between 2 and as many clusters as data points ({len(x)})")
    flat = x.reshape(len(x), -1).float().cpu()
    fit = flat
    if len(flat) > FIT_POINTS:
        fit = flat[torch.randperm(len(flat), generator=torch.Generator().manual_seed(seed))[:FIT_POINTS]]
    with one_thread():
        centres = KMeans(k, n_init=1, random_state=seed).fit(fit.double().numpy()).cluster_centers_
        centroids = torch.as_tensor(centres, dtype=torch.float32)
        counts = torch.bincount(nearest(flat, centroids), minlength=k).float()
    return centroids, counts / counts.sum()


def nearest(x: torch.Tensor, centroids: torch.Tensor, chunk: int = 8192) -> torch.Tensor:
    """The index of the nearest centroid (Euclidean) of each of the N points ``x`` (N, ...), flattened to
    the centroids' length P, (N,) int64.

    Distances are taken in float64: in float32 the matrix-product form of ``cdist`` rounds by ~1e-5
    and its rounding depends on the batch's size and the thread count, so a rank's half batch could
    put a point in another cluster than the whole batch does; in float64 only a tie within ~1e-12 can.
    """
    flat = x.reshape(len(x), -1).double()
    centroids = centroids.double()
    out = [torch.cdist(part, centroids).argmin(1) for part in flat.split(chunk)]
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.int64)


class SelfConditionedGenerator(nn.Module):
    """An unconditional G(z) around a conditional one: G(z) = inner(z, code(z)).

    Args:
        inner: a conditional generator with ``num_classes`` = k (``inner(z, y)``).
        k: the number of clusters.
        features: the size of one flattened sample (the centroids' length).

    ``set_clusters`` stores the clusters' centroids and shares; until then the shares are
    equal and the centroids 0. G keeps the centroids to tell which cluster an image belongs
    to when it is inverted (``start_z0``).
    """

    num_classes = 0  # unconditional to every caller: the code comes from z

    def __init__(self, inner: nn.Module, k: int, features: int):
        super().__init__()
        self.inner, self.clusters, self.z_dim = inner, k, inner.z_dim
        self.register_buffer("cdf", torch.arange(1, k + 1, dtype=torch.float32) / k)
        self.register_buffer("centroids", torch.zeros(k, features))

    def set_clusters(self, centroids: torch.Tensor, frequencies: torch.Tensor) -> None:
        self.centroids.copy_(centroids)
        self.cdf.copy_(torch.cumsum(frequencies.double(), 0).float())

    def code_z0(self, codes: torch.Tensor) -> torch.Tensor:
        """A z_0 for each code (N,): the middle of the code's share of the unit interval, mapped
        back through Phi (or the uniform noise's distribution function); ``code`` inverts it."""
        lo = torch.cat([self.cdf.new_zeros(1), self.cdf[:-1]])[codes]
        u = ((lo + self.cdf[codes]) / 2).clamp(1e-6, 1 - 1e-6)
        if getattr(self, "noise", "gaussian") == "uniform":
            return (2 * u - 1) * math.sqrt(3.0)
        return torch.special.ndtri(u)

    def start_z0(self, x: torch.Tensor) -> torch.Tensor:
        """The z_0 that selects each image's nearest cluster, (N,): where inverting G starts and stays."""
        return self.code_z0(nearest(x, self.centroids))

    def code(self, z: torch.Tensor) -> torch.Tensor:
        """The cluster G draws for each z, (N,) int64: where u = Phi(z_0) falls in the cumulative
        frequencies (u uniform on (0, 1) for both noises, so P(c) is cluster c's frequency)."""
        z0 = z[:, 0].float()
        if getattr(self, "noise", "gaussian") == "uniform":  # U(-sqrt 3, sqrt 3)
            u = (z0 / math.sqrt(3.0) + 1.0) / 2.0
        else:
            u = torch.special.ndtr(z0)
        return torch.searchsorted(self.cdf, u.contiguous(), right=True).clamp_(max=self.clusters - 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.inner(z, self.code(z))


class SelfConditionedDiscriminator(nn.Module):
    """A projection D judging (x, cluster); without a cluster it judges x with x's own (nearest centroid).

    Args:
        inner: a cGAN discriminator on k classes (``inner(x, y)``).
        k: the number of clusters.
        features: the size of one flattened sample (the centroids' length).

    ``set_centroids`` stores what ``fit_clusters`` found; until then every centroid is 0.
    """

    conditional = "cgan"  # the objective shows it the labels

    def __init__(self, inner: nn.Module, k: int, features: int):
        super().__init__()
        self.inner = inner
        self.register_buffer("centroids", torch.zeros(k, features))

    def set_centroids(self, centroids: torch.Tensor) -> None:
        self.centroids.copy_(centroids)

    def assign(self, x: torch.Tensor) -> torch.Tensor:
        """The cluster of each sample: its nearest centroid, (N,) int64."""
        return nearest(x, self.centroids)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.inner(x, self.assign(x) if y is None else y)


def self_conditioned(G: nn.Module, D: nn.Module, k: int, shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
    """Wrap a cGAN pair on k classes into a self-conditioned pair on k clusters."""
    return SelfConditionedGenerator(G, k, math.prod(shape)), SelfConditionedDiscriminator(D, k, math.prod(shape))


def set_clusters(G: nn.Module, D: nn.Module, data: TensorData | ToyDistribution, seed: int) -> None:
    """Fit the clusters of ``data`` (``fit_clusters``) into a self-conditioned pair: of its points, or
    of ``FIT_POINTS`` drawn with ``seed`` from a toy distribution."""
    x = data.x if isinstance(data, TensorData) else data.sample(FIT_POINTS, torch.Generator().manual_seed(seed))
    centroids, frequencies = fit_clusters(x, G.clusters, seed)
    G.set_clusters(centroids, frequencies)
    D.set_centroids(centroids)


def start_z0(G: nn.Module, x: torch.Tensor) -> torch.Tensor | None:
    """For a self-conditioned G, the z_0 selecting each image's nearest cluster (``invert``), else None."""
    return G.start_z0(x) if isinstance(G, SelfConditionedGenerator) else None


def cluster_code(G: nn.Module, z: torch.Tensor) -> torch.Tensor | None:
    """The code a self-conditioned G makes ``z`` with (what D judges its sample with), else None."""
    return G.code(z) if isinstance(G, SelfConditionedGenerator) else None


def cluster_of(D: nn.Module, x: torch.Tensor) -> torch.Tensor | None:
    """The clusters of the data ``x`` under a self-conditioned D, else None."""
    return D.assign(x) if isinstance(D, SelfConditionedDiscriminator) else None
