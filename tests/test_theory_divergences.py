import math

import pytest
import torch
from torch.testing import assert_close

from gankit.theory import divergences as dv

LOG2 = torch.tensor(math.log(2.0), dtype=torch.float64)


@pytest.mark.parametrize("theta", [0.25, 0.5, 0.9, 1.5, 2.5])
def test_uniform_jsd_is_min_abs_theta_1_times_log2(theta):
    assert_close(dv.uniform_jsd(theta), min(abs(theta), 1.0) * LOG2, atol=1e-4, rtol=0)


def test_gaussian_jsd_saturates_at_log2_and_its_gradient_vanishes():
    jsd, grad = dv.gaussian_shift_jsd(3.0, 0.1)  # 30 sd apart: disjoint for float64
    assert_close(jsd, LOG2, atol=1e-12, rtol=0)
    assert_close(grad, torch.tensor(0.0, dtype=torch.float64), atol=1e-12, rtol=0)


@pytest.mark.parametrize("theta", [0.1, 0.3])
def test_gaussian_jsd_gradient_matches_finite_differences_while_overlapping(theta):
    jsd, grad = dv.gaussian_shift_jsd(theta, 0.1)
    h = 1e-5
    fd = (dv.gaussian_shift_jsd(theta + h, 0.1)[0] - dv.gaussian_shift_jsd(theta - h, 0.1)[0]) / (2 * h)
    assert_close(grad, fd, rtol=1e-5, atol=0)
    assert grad.abs() > 0.1  # overlapping supports still give the generator a gradient


@pytest.mark.parametrize("mu0, sd0", [(-2.5, 0.5), (0.7, 0.5), (1.8, 0.9), (3.0, 0.3)])
def test_log_d_trick_gradient_is_gradient_of_kl_minus_2jsd(mu0, sd0):
    g = dv.trick_gradient(mu0, sd0)
    # Arjovsky & Bottou (2017), Theorem 2.5, both partials (mu, sd)
    assert_close(g["nonsaturating"], g["kl_minus_2jsd"], rtol=1e-6, atol=1e-8)
    # Goodfellow et al. (2014): the minimax cost under a fixed D* follows 2 JSD
    assert_close(g["minimax"], g["two_jsd"], rtol=1e-6, atol=1e-8)
    # the two costs really do differ: this is not one identity checked twice
    assert (g["nonsaturating"] - g["minimax"]).abs().max() > 1e-2


def test_generator_on_one_of_two_modes_has_closed_form_divergences():
    # p_g = N(2, 0.5²) is exactly one component of p_r = ½N(-2, 0.5²) + ½N(2, 0.5²); the closed
    # forms treat the components as disjoint (they are 8 sd apart, which costs ~1e-4 here).
    obj = dv.divergence_objectives(torch.tensor(2.0, dtype=torch.float64), torch.tensor(0.5, dtype=torch.float64))
    assert_close(obj["kl_g_r"], LOG2, atol=2e-4, rtol=0)
    assert_close(obj["jsd"], torch.tensor(0.75 * math.log(4 / 3), dtype=torch.float64), atol=2e-4, rtol=0)
