import math

import pytest
import torch
from torch.testing import assert_close

from gankit.theory import optimal_d
from gankit.theory.quadrature import grid, optimal_discriminator

LOG4 = torch.tensor(math.log(4.0), dtype=torch.float64)


@pytest.mark.parametrize("case", list(optimal_d.CASES))
def test_theorem1_value_at_optimum_is_minus_log4_plus_2jsd(case):
    t = optimal_d.theorem1(*optimal_d.CASES[case])
    assert_close(t["value_at_optimum"], t["minus_log4_plus_2jsd"], rtol=1e-9, atol=1e-12)


def test_equal_distributions_give_d_half_and_minus_log4():
    p_data, p_g = optimal_d.CASES["equal"]
    t = optimal_d.theorem1(p_data, p_g)
    assert_close(t["value_at_optimum"], -LOG4)
    assert_close(t["jsd"], torch.tensor(0.0, dtype=torch.float64), atol=1e-12, rtol=0)
    x = grid(-5, 5, 101)
    d = optimal_discriminator(torch.exp(p_data.log_pdf(x)), torch.exp(p_g.log_pdf(x)))
    assert_close(d, torch.full_like(d, 0.5))


def test_mixture_samples_follow_the_density():
    m = optimal_d.Mixture1D((-2.0, 2.0), (0.5, 0.5), (0.25, 0.75))
    x = m.sample(40_000, torch.Generator().manual_seed(0)).double().squeeze(1)
    # mean = 0.25 * -2 + 0.75 * 2 = 1, P(x > 0) = 0.75
    assert_close(x.mean(), torch.tensor(1.0, dtype=torch.float64), atol=0.03, rtol=0)
    assert_close((x > 0).double().mean(), torch.tensor(0.75, dtype=torch.float64), atol=0.01, rtol=0)


def _check_trained(case, tol):
    p_data, p_g = optimal_d.CASES[case]
    D = optimal_d.train_discriminator(p_data, p_g, seed=0)
    c = optimal_d.compare(D, p_data, p_g, grid(-5.0, 5.0, 501))
    assert_close(c["d"][c["bulk"]], c["d_star"][c["bulk"]], atol=tol, rtol=0)
    t = optimal_d.theorem1(p_data, p_g)
    # D* maximises V: the trained D comes close from below
    v = optimal_d.trained_value(D, p_data, p_g)
    assert_close(v, t["value_at_optimum"], atol=0.01, rtol=0)
    assert v <= t["value_at_optimum"] + 1e-9


def test_trained_d_matches_d_star_for_gaussians():
    _check_trained("gaussians", 0.05)


@pytest.mark.slow
def test_trained_d_matches_d_star_for_a_mixture():
    _check_trained("mixture", 0.06)
