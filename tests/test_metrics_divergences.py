import math

import pytest
from torch.testing import assert_close

from gankit import GankitError
from gankit.metrics.divergences import gaussian_density, jsd_1d, wasserstein1_1d


def test_w1_between_shifted_gaussians_is_the_shift():
    assert_close(wasserstein1_1d(gaussian_density(0, 1), gaussian_density(3, 1), -10, 13), 3.0, rtol=1e-6, atol=1e-6)


def test_w1_between_centred_gaussians_of_different_scale():
    # W1(N(0, a^2), N(0, b^2)) = |a - b| E|Z| = |a - b| sqrt(2 / pi).
    got = wasserstein1_1d(gaussian_density(0, 1), gaussian_density(0, 2), -20, 20)
    assert_close(got, math.sqrt(2 / math.pi), rtol=1e-6, atol=1e-6)


def test_jsd_of_a_density_with_itself_is_zero():
    p = gaussian_density(5, 1)
    assert jsd_1d(p, p, -5, 15) == 0.0


def test_jsd_of_disjoint_supports_is_log_two():
    got = jsd_1d(gaussian_density(0, 1), gaussian_density(60, 1), -15, 75, n=40001)
    assert_close(got, math.log(2), rtol=1e-9, atol=1e-9)


def test_jsd_of_two_uniforms_half_overlapping():
    # p = U(0, 2), q = U(1, 3): m = 1/4 on the two halves, 1/2 on the overlap.
    # KL(p || m) = 1/2 log(1/2 / 1/4) + 1/2 log(1/2 / 1/2) = log(2) / 2, and the same for q.
    p = lambda x: ((x >= 0) & (x <= 2)).double() / 2
    q = lambda x: ((x >= 1) & (x <= 3)).double() / 2
    assert_close(jsd_1d(p, q, -1, 4, n=200001), math.log(2) / 2, rtol=0, atol=1e-4)


def test_mass_outside_the_interval_is_a_user_error():
    with pytest.raises(GankitError, match="widen"):
        jsd_1d(gaussian_density(0, 1), gaussian_density(0, 1), -1, 1)
