import math

import torch
from scipy import integrate as sp_integrate
from scipy.stats import norm
from torch.testing import assert_close

from gankit.theory import quadrature as q


def x_grid():
    return q.grid(-15.0, 15.0, 30_001)


def scalar(v):
    return torch.tensor(v, dtype=torch.float64)


def test_densities_integrate_to_one():
    x = x_grid()
    assert_close(q.integrate(torch.exp(q.normal_log_pdf(x, 1.0, 0.7)), x), scalar(1.0))
    mix = q.mixture_log_pdf(x, (-2.0, 3.0), (0.5, 1.5), (1.0, 3.0))  # weights are normalised
    assert_close(q.integrate(torch.exp(mix), x), scalar(1.0))


def test_kl_of_gaussians_matches_closed_form():
    x = x_grid()
    m1, s1, m2, s2 = 0.3, 0.8, -1.0, 1.4
    closed = math.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5
    assert_close(q.kl_quadrature(q.normal_log_pdf(x, m1, s1), q.normal_log_pdf(x, m2, s2), x), scalar(closed))


def test_jsd_matches_scipy_adaptive_quadrature_and_is_symmetric():
    x = x_grid()
    lp, lq = q.normal_log_pdf(x, 0.0, 1.0), q.normal_log_pdf(x, 1.5, 0.6)

    def integrand(t):
        p, r = norm.pdf(t, 0.0, 1.0), norm.pdf(t, 1.5, 0.6)
        m = 0.5 * (p + r)
        return 0.5 * (p * math.log(p / m) + r * math.log(r / m))

    reference, _ = sp_integrate.quad(integrand, -12, 12, limit=200)
    assert_close(q.jsd_quadrature(lp, lq, x), scalar(reference), rtol=1e-7, atol=1e-10)
    assert_close(q.jsd_quadrature(lq, lp, x), q.jsd_quadrature(lp, lq, x))


def test_jsd_is_zero_for_equal_and_log2_for_disjoint():
    x = q.grid(-1.0, 4.0, 50_001)
    lp = q.uniform_log_pdf(x, 0.0, 1.0)
    assert_close(q.jsd_quadrature(lp, lp, x), scalar(0.0))
    assert_close(q.jsd_quadrature(lp, q.uniform_log_pdf(x, 2.0, 3.0), x), scalar(math.log(2.0)), atol=2e-4, rtol=0)


def test_optimal_discriminator():
    p = torch.tensor([0.2, 0.0, 1.0, 0.0], dtype=torch.float64)
    g = torch.tensor([0.6, 0.5, 0.0, 0.0], dtype=torch.float64)
    assert_close(q.optimal_discriminator(p, g), torch.tensor([0.25, 0.0, 1.0, 0.5], dtype=torch.float64))
    assert_close(q.optimal_discriminator(p, p)[:3], torch.full((3,), 0.5, dtype=torch.float64))


def test_d_star_maximises_v_and_gives_theorem_1():
    x = x_grid()
    ld, lg = q.normal_log_pdf(x, 0.0, 1.0), q.normal_log_pdf(x, 1.0, 2.0)
    l_star = q.optimal_logit(ld, lg)
    v_star = q.value_quadrature(ld, lg, l_star, x)
    assert_close(v_star, -math.log(4.0) + 2 * q.jsd_quadrature(ld, lg, x))
    for bump in (torch.sin(x), 0.1 * torch.ones_like(x), -0.3 * x.clamp(-2, 2)):
        assert bool(q.value_quadrature(ld, lg, l_star + bump, x) < v_star)
