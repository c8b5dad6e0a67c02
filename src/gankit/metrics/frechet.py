"""Fréchet distance (FID) and kernel distance (KID) on the features of a pluggable network.

FID (Heusel et al. 2017, "GANs trained by a two time-scale update rule", eq. 6) fits a
Gaussian to the features of each set and measures

    d^2 = ||mu_1 - mu_2||^2 + Tr(S_1 + S_2 - 2 (S_1 S_2)^(1/2)).

KID (Bińkowski et al. 2018, "Demystifying MMD GANs", section 3) is the unbiased squared MMD
with the cubic kernel k(x, y) = (x.y / d + 1)^3, averaged over random subsets; unlike FID
it has an unbiased estimator, but both depend on the sample size, so every number here
comes with the *floor*: the same statistic between two real sets of the same size.

Both go through torchmetrics (``FrechetInceptionDistance`` / ``KernelInceptionDistance``
with ``feature=<nn.Module>``), never through torch-fidelity (which breaks
``import torchmetrics.image`` without torchvision). For a custom module torchmetrics
calls ``feature(imgs)`` on the tensors given to ``update`` unchanged (its ``normalize``
flag only matters for its own Inception) and reads ``feature.num_features`` for the
feature size (without it, it probes the module with a random (1, 3, 299, 299) image).
Here features are computed once per set with the network, and handed to torchmetrics
through ``Precomputed``, an identity module: FID, KID and PRDC then share one pass.

The feature network: the bundled digit CNN (``gankit.metrics.classifier``) for 28x28
digits ("FID-CNN"), or Inception-v3 for RGB data when the user has its weights file.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from gankit.errors import GankitError

INCEPTION_FILE = "inception-2015-12-05.pt"


def frechet_distance(
    mu1: torch.Tensor, sigma1: torch.Tensor, mu2: torch.Tensor, sigma2: torch.Tensor
) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2), in float64.

    ``Tr (S_1 S_2)^(1/2)`` is computed as ``Tr (A S_2 A)^(1/2)`` with ``A = S_1^(1/2)``
    (the two matrices are similar, so they have the same eigenvalues): ``A S_2 A`` is
    symmetric positive semi-definite, so ``eigvalsh`` applies and rounding cannot produce
    complex square roots.

    Args:
        mu1, mu2: means, shape (d,).
        sigma1, sigma2: covariances, shape (d, d), symmetric positive semi-definite.

    Returns:
        The squared Fréchet distance d^2 (a float >= 0 up to rounding).
    """
    mu1, mu2, sigma1, sigma2 = (torch.as_tensor(t, dtype=torch.float64) for t in (mu1, mu2, sigma1, sigma2))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (len(mu1), len(mu1)):
        raise GankitError(
            f"frechet_distance: shapes do not match: mu {tuple(mu1.shape)}, {tuple(mu2.shape)}; "
            f"sigma {tuple(sigma1.shape)}, {tuple(sigma2.shape)}"
        )
    w, v = torch.linalg.eigh((sigma1 + sigma1.T) / 2)
    root1 = (v * w.clamp_min(0).sqrt()) @ v.T
    m = root1 @ sigma2 @ root1
    tr_sqrt = torch.linalg.eigvalsh((m + m.T) / 2).clamp_min(0).sqrt().sum()
    return float((mu1 - mu2).square().sum() + sigma1.trace() + sigma2.trace() - 2 * tr_sqrt)


def mean_cov(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (d,) and unbiased covariance (d, d) of features of shape (N, d), in float64."""
    f = features.double()
    return f.mean(0), torch.cov(f.T).reshape(f.shape[1], f.shape[1])


class Precomputed(nn.Module):
    """The identity on (N, d) features, for handing precomputed features to torchmetrics."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = int(num_features)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features.double()


@torch.no_grad()
def extract_features(feature: nn.Module | Callable, x: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """Run ``feature`` over ``x`` in batches and return the (N, d) features in float64."""
    if isinstance(feature, nn.Module):
        feature.eval()
    return torch.cat([feature(chunk).double().reshape(len(chunk), -1) for chunk in x.split(batch_size)])


def fid_from_features(real: torch.Tensor, fake: torch.Tensor) -> float:
    """FID between two sets of features, shape (N_r, d) and (N_f, d), through torchmetrics."""
    from torchmetrics.image.fid import FrechetInceptionDistance

    if len(real) < 2 or len(fake) < 2:
        raise GankitError(f"FID needs at least 2 samples per set, got {len(real)} real and {len(fake)} fake")
    # sync_on_compute=False: the features given are the whole sets; never gather across a DDP group
    # (evaluation during torchrun training runs on rank 0 alone, and a gather would wait forever).
    metric = FrechetInceptionDistance(feature=Precomputed(real.shape[1]), sync_on_compute=False)
    metric.update(real.double(), real=True)
    metric.update(fake.double(), real=False)
    return float(metric.compute())


def kid_from_features(
    real: torch.Tensor, fake: torch.Tensor, subsets: int = 100, subset_size: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """KID (mean, std over subsets) between two sets of features, through torchmetrics.

    ``subset_size`` is lowered to the smaller set size when needed. torchmetrics draws the
    subsets with the global torch RNG: it runs here under ``torch.random.fork_rng`` seeded
    with ``seed``, so the result is reproducible and the caller's RNG state is untouched.
    """
    from torchmetrics.image.kid import KernelInceptionDistance

    size = min(subset_size, len(real), len(fake))
    if size < 2:
        raise GankitError(f"KID needs at least 2 samples per set, got {len(real)} real and {len(fake)} fake")
    with warnings.catch_warnings():  # its warning that features are buffered: intended here
        warnings.simplefilter("ignore", UserWarning)
        metric = KernelInceptionDistance(feature=Precomputed(real.shape[1]), subsets=subsets, subset_size=size,
                                          sync_on_compute=False)
    metric.update(real.double(), real=True)
    metric.update(fake.double(), real=False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        mean, std = metric.compute()
    return float(mean), float(std)


def fid(real: torch.Tensor, fake: torch.Tensor, feature: nn.Module, batch_size: int = 500) -> float:
    """FID between two sets of images on the features of ``feature``.

    Args:
        real: images, shape (N_r, C, H, W), in whatever form ``feature`` takes (gankit's
            networks take [-1, 1]).
        fake: images, shape (N_f, C, H, W).
        feature: a module mapping a batch of images to (B, d) features, e.g.
            ``classifier.FeatureNet(load_classifier())`` or ``inception_feature(path)``.
        batch_size: images per forward pass.
    """
    return fid_from_features(extract_features(feature, real, batch_size), extract_features(feature, fake, batch_size))


def kid(
    real: torch.Tensor, fake: torch.Tensor, feature: nn.Module, subsets: int = 100, subset_size: int = 1000,
    seed: int = 0, batch_size: int = 500,
) -> tuple[float, float]:
    """KID (mean, std over subsets) between two sets of images on the features of ``feature``."""
    return kid_from_features(
        extract_features(feature, real, batch_size), extract_features(feature, fake, batch_size),
        subsets, subset_size, seed,
    )


class InceptionFeature(nn.Module):
    """Inception-v3 pool features (2048) from the TorchScript file of NVlabs' StyleGAN2-ADA.

    That file (``inception-2015-12-05.pt``) is the TensorFlow FID network of Heusel et al.
    exported to TorchScript; it takes uint8 RGB images (N, 3, H, W) of any size, resizes
    them to 299x299 itself, and returns the 2048 pool features with ``return_features=True``.
    This wrapper takes gankit images, float (N, C, H, W) in [-1, 1] with C = 1 or 3.
    """

    num_features = 2048

    def __init__(self, detector: torch.nn.Module):
        super().__init__()
        self.detector = detector

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 1:
            x = x.repeat(1, 3, 1, 1)  # grayscale to RGB, as StyleGAN2-ADA's metrics do
        pixels = ((x.float() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
        return self.detector(pixels, return_features=True).double()


def inception_feature(weights_path: str | Path = "") -> InceptionFeature:
    """Load Inception-v3 for FID from a local file; gankit never downloads it.

    Args:
        weights_path: the TorchScript file ``inception-2015-12-05.pt`` (from NVlabs'
            stylegan2-ada-pytorch metrics; about 95 MB).

    Raises:
        GankitError: no path, a missing file, or a file that is not that TorchScript module.
    """
    if not weights_path:
        raise GankitError(
            f"Inception-FID needs the Inception-v3 weights file {INCEPTION_FILE} (TorchScript, from NVlabs' "
            "stylegan2-ada-pytorch metrics); gankit never downloads it: give its local path"
        )
    path = Path(weights_path)
    if not path.is_file():
        raise GankitError(f"Inception weights {path} not found (expected the TorchScript file {INCEPTION_FILE})")
    try:
        with warnings.catch_warnings():  # TorchScript is deprecated, but the FID network ships only in it
            warnings.simplefilter("ignore", DeprecationWarning)
            detector = torch.jit.load(str(path), map_location="cpu")
    except (RuntimeError, ValueError) as err:
        raise GankitError(f"{path}: not a TorchScript Inception file ({str(err).splitlines()[0]})") from None
    detector.eval()
    return InceptionFeature(detector)
