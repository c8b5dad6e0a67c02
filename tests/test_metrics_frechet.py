import numpy as np
import pytest
import scipy.linalg
import torch
from torch import nn
from torch.testing import assert_close

from gankit import GankitError
from gankit.metrics import frechet
from gankit.metrics.frechet import fid_from_features, frechet_distance, kid_from_features, mean_cov


def random_features(seed, n=60, d=6, scale=1.0, shift=0.0):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(d, d, generator=g, dtype=torch.float64)
    return shift + scale * torch.randn(n, d, generator=g, dtype=torch.float64) @ a


def scipy_frechet(mu1, s1, mu2, s2):
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def test_frechet_distance_agrees_with_scipy_sqrtm():
    f1, f2 = random_features(0), random_features(1, scale=1.5, shift=0.3)
    (mu1, s1), (mu2, s2) = mean_cov(f1), mean_cov(f2)
    expected = scipy_frechet(mu1.numpy(), s1.numpy(), mu2.numpy(), s2.numpy())
    assert_close(frechet_distance(mu1, s1, mu2, s2), expected, rtol=1e-9, atol=1e-9)


def test_frechet_distance_of_a_set_with_itself_is_zero():
    mu, s = mean_cov(random_features(2))
    assert_close(frechet_distance(mu, s, mu, s), 0.0, rtol=0, atol=1e-9)


def test_torchmetrics_fid_agrees_with_the_pure_function():
    f1, f2 = random_features(3, n=80), random_features(4, n=50, shift=1.0)
    assert_close(fid_from_features(f1, f2), frechet_distance(*mean_cov(f1), *mean_cov(f2)), rtol=1e-8, atol=1e-8)


def test_fid_of_a_set_with_itself_is_zero_and_a_shift_adds_its_squared_norm():
    f = random_features(5, n=100)
    assert_close(fid_from_features(f, f), 0.0, rtol=0, atol=1e-8)
    c = torch.tensor([1.0, -2.0, 0.5, 0.0, 3.0, 1.0], dtype=torch.float64)
    assert_close(fid_from_features(f, f + c), float((c**2).sum()), rtol=1e-8, atol=1e-8)


class PoolFeatures(nn.Module):
    """A stand-in feature network: 4 average-pooled values of a (N, 1, 4, 4) image."""

    num_features = 4

    def forward(self, x):
        return nn.functional.avg_pool2d(x, 2).flatten(1)


def test_fid_runs_images_through_a_pluggable_feature_module():
    g = torch.Generator().manual_seed(6)
    real, fake = torch.rand(40, 1, 4, 4, generator=g), torch.rand(30, 1, 4, 4, generator=g) * 0.5
    net = PoolFeatures()
    expected = frechet_distance(*mean_cov(net(real)), *mean_cov(net(fake)))
    assert_close(frechet.fid(real, fake, net, batch_size=7), expected, rtol=1e-8, atol=1e-8)


def unbiased_mmd2_cubic(x, y):
    d = x.shape[1]
    k = lambda a, b: (a @ b.T / d + 1) ** 3
    m = len(x)
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    off = lambda a: (a.sum() - a.diagonal().sum()) / (m * (m - 1))
    return float(off(kxx) + off(kyy) - 2 * kxy.mean())


def test_kid_with_one_full_subset_is_the_unbiased_mmd_with_the_cubic_kernel():
    x, y = random_features(7, n=30, scale=0.3), random_features(8, n=30, scale=0.3, shift=0.2)
    mean, std = kid_from_features(x, y, subsets=1, subset_size=30)
    assert_close(mean, unbiased_mmd2_cubic(x, y), rtol=1e-8, atol=1e-10)
    assert std == 0.0


def test_kid_is_reproducible_and_leaves_the_global_rng_alone():
    x, y = random_features(9, n=40), random_features(10, n=40)
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    first = kid_from_features(x, y, subsets=5, subset_size=20, seed=4)
    after = torch.rand(3)
    assert_close(before, after)
    assert first == kid_from_features(x, y, subsets=5, subset_size=20, seed=4)


def test_inception_without_weights_is_a_clear_offline_error(tmp_path):
    with pytest.raises(GankitError, match="inception-2015-12-05.pt"):
        frechet.inception_feature("")
    with pytest.raises(GankitError, match="not found"):
        frechet.inception_feature(tmp_path / "missing.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a torchscript archive")
    with pytest.raises(GankitError, match="TorchScript"):
        frechet.inception_feature(bad)


class FakeDetector(nn.Module):
    """Mimics StyleGAN2-ADA's detector interface: uint8 RGB in, one feature per channel out."""

    def forward(self, x: torch.Tensor, return_features: bool = False) -> torch.Tensor:
        assert x.dtype == torch.uint8 and x.shape[1] == 3 and return_features
        return x.float().mean(dim=(2, 3))


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_inception_wrapper_feeds_uint8_rgb_to_the_torchscript_file(tmp_path):
    path = tmp_path / "inception-2015-12-05.pt"
    torch.jit.script(FakeDetector()).save(str(path))
    net = frechet.inception_feature(path)
    gray = torch.tensor([-1.0, 1.0, 0.0]).reshape(3, 1, 1, 1).expand(3, 1, 2, 2)
    expected = torch.tensor([0.0, 255.0, 128.0], dtype=torch.float64)[:, None].expand(3, 3)  # 127.5 rounds to 128
    assert_close(net(gray), expected)
