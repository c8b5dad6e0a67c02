import pytest
import torch
from torch.testing import assert_close

from gankit import GankitError
from gankit.theory import saddle


@pytest.mark.parametrize("eta", [0.05, 0.1, 0.3, 0.7])
def test_gradient_ascent_descent_multiplies_by_1_minus_2eta(eta):
    path = saddle.gradient_ascent_descent(eta, 30, 1.5, -0.8)
    t = torch.arange(31, dtype=torch.float64).unsqueeze(1)
    expected = (1 - 2 * eta) ** t * torch.tensor([[1.5, -0.8]], dtype=torch.float64)
    assert_close(path, expected)


def test_converges_to_the_saddle():
    path = saddle.gradient_ascent_descent(0.1, 100, 1.5, 1.8)
    assert_close(path[-1], torch.zeros(2, dtype=torch.float64), atol=1e-8, rtol=0)


def test_too_large_a_step_diverges():
    path = saddle.gradient_ascent_descent(1.1, 20, 1.0, 1.0)  # factor 1 - 2.2 = -1.2
    assert_close(path[-1], torch.tensor([1.2**20, 1.2**20], dtype=torch.float64))


def test_origin_is_a_maximum_for_theta_and_a_minimum_for_phi():
    assert_close(saddle.hessian_at(0.0, 0.0), torch.tensor([[-2.0, 0.0], [0.0, 2.0]], dtype=torch.float64))
    g = torch.linspace(-2, 2, 41, dtype=torch.float64)
    zero = torch.zeros_like(g)
    L0 = saddle.saddle_value(torch.tensor(0.0), torch.tensor(0.0))
    # each player is at its best response: L(θ, 0) <= L(0, 0) <= L(0, φ)
    assert bool((saddle.saddle_value(g, zero) <= L0).all())
    assert bool((saddle.saddle_value(zero, g) >= L0).all())


def test_bad_step_raises():
    with pytest.raises(GankitError, match="eta"):
        saddle.gradient_ascent_descent(-0.1, 5, 1.0, 1.0)
