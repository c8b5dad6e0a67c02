import math

import pytest
import torch
from torch.testing import assert_close

from gankit import GankitError
from gankit.theory import bilinear


def as_complex(path):
    return torch.complex(path[:, 0], path[:, 1])


@pytest.mark.parametrize("eta", [0.05, 0.2, 0.5])
def test_simultaneous_radius_grows_by_sqrt_1_plus_eta2_each_step(eta):
    path = bilinear.simultaneous_gda(eta, 40, 1.0, 0.5)
    r = path.norm(dim=1)
    assert_close(r[1:] / r[:-1], torch.full((40,), math.sqrt(1 + eta**2), dtype=torch.float64))
    # and the whole trajectory is w_t = (1 + i eta)^t w_0 with w = a + i b
    t = torch.arange(41, dtype=torch.float64)
    expected = complex(1.0, 0.5) * torch.complex(torch.tensor(1.0, dtype=torch.float64), torch.tensor(eta, dtype=torch.float64)) ** t
    assert_close(as_complex(path), expected)


@pytest.mark.parametrize("eta", [0.1, 0.3, 0.7])
def test_alternating_conserves_a2_plus_b2_minus_eta_ab_and_stays_bounded(eta):
    path = bilinear.alternating_gda(eta, 2000, 1.0, 0.0)
    q = bilinear.alternating_invariant(path, eta)
    assert_close(q, torch.full_like(q, q[0].item()))
    # eigenvalues of the quadratic form are 1 ± eta/2: the orbit lies between these radii
    r2 = (path**2).sum(dim=1)
    lo, hi = q[0] / (1 + eta / 2), q[0] / (1 - eta / 2)
    assert bool(((r2 >= lo - 1e-9) & (r2 <= hi + 1e-9)).all())
    # the bound is reached: the orbit really is the ellipse, not a shrinking spiral
    assert_close(r2.max(), hi, rtol=1e-3, atol=0)
    assert_close(r2.min(), lo, rtol=1e-3, atol=0)


@pytest.mark.parametrize("eta", [0.1, 0.2, 0.5])
def test_extragradient_contracts_by_sqrt_1_minus_eta2_plus_eta4(eta):
    path = bilinear.extragradient(eta, 60, 0.3, -1.0)
    r = path.norm(dim=1)
    assert_close(r[1:] / r[:-1], torch.full((60,), math.sqrt(1 - eta**2 + eta**4), dtype=torch.float64))
    assert_close(path[-1], torch.zeros(2, dtype=torch.float64), atol=r[0].item() * (1 - eta**2 + eta**4) ** 30 * 1.01, rtol=0)


@pytest.mark.parametrize("eta", [0.1, 0.2, 0.4])
def test_optimistic_follows_its_characteristic_roots_and_converges(eta):
    steps = 200
    path = bilinear.optimistic_gda(eta, steps, 1.0, 0.0)
    # w_{t+1} = (1 + 2i eta) w_t - i eta w_{t-1}, w_{-1} = w_0: roots of l^2 - (1 + 2i eta) l + i eta
    s = math.sqrt(1 - 4 * eta**2)
    l1, l2 = complex(0.5 + s / 2, eta), complex(0.5 - s / 2, eta)
    w0, w1 = 1.0 + 0j, complex(1.0, eta)
    c2 = (w1 - l1 * w0) / (l2 - l1)
    c1 = w0 - c2
    expected = torch.tensor([c1 * l1**t + c2 * l2**t for t in range(steps + 1)], dtype=torch.complex128)
    assert_close(as_complex(path), expected)
    # the slow root sets the rate: |l1| = sqrt((1 + sqrt(1 - 4 eta^2)) / 2) < 1
    r = path.norm(dim=1)
    rate = (r[-1] / r[100]) ** (1 / (steps - 100))
    assert_close(rate, torch.tensor(bilinear.rates(eta)["optimistic"], dtype=torch.float64), rtol=1e-6, atol=0)
    assert abs(l1) == pytest.approx(bilinear.rates(eta)["optimistic"], rel=1e-12)


def test_continuous_flow_is_the_unit_circle():
    n = 400
    h = 2 * math.pi / n
    path = bilinear.gradient_flow(h, n, 1.0, 0.0)
    t = h * torch.arange(n + 1, dtype=torch.float64)
    # da/dt = -b, db/dt = a from (1, 0): (cos t, sin t)
    assert_close(path, torch.stack([torch.cos(t), torch.sin(t)], dim=1), atol=1e-8, rtol=0)
    assert_close(path.norm(dim=1), torch.ones(n + 1, dtype=torch.float64), atol=1e-8, rtol=0)


def test_gradients_come_from_autograd_of_ab():
    ga, gb = bilinear.game_gradients(2.0, -3.0)
    assert_close(ga, torch.tensor(-3.0, dtype=torch.float64))
    assert_close(gb, torch.tensor(2.0, dtype=torch.float64))


def test_bad_step_size_raises():
    with pytest.raises(GankitError, match="eta"):
        bilinear.simultaneous_gda(0.0, 10, 1.0, 0.0)
