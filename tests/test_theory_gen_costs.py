import torch
from torch.testing import assert_close

from gankit.losses import GENERATOR_COSTS
from gankit.theory import gen_costs


def d_grid():
    return torch.linspace(1e-4, 1 - 1e-4, 101, dtype=torch.float64)


CLOSED = {
    # name: (J(D), dJ/dlogit(D), dJ/dD(D))
    "minimax": (lambda D: torch.log1p(-D), lambda D: -D, lambda D: -1 / (1 - D)),
    "nonsaturating": (lambda D: -torch.log(D), lambda D: -(1 - D), lambda D: -1 / D),
    "maximum_likelihood": (lambda D: -0.5 * D / (1 - D), lambda D: -0.5 * D / (1 - D), lambda D: -0.5 / (1 - D) ** 2),
}


def test_every_registered_cost_is_shown():
    assert set(gen_costs.cost_curves(d_grid())) == set(GENERATOR_COSTS)


def test_values_and_logit_derivatives_match_closed_forms():
    D = d_grid()
    curves = gen_costs.cost_curves(D)
    for name, (value, dlogit, _) in CLOSED.items():
        J, dJ = curves[name]
        assert_close(J, value(D))
        assert_close(dJ, dlogit(D))


def test_derivatives_with_respect_to_D_by_the_chain_rule():
    # dJ/dD = dJ/dl * dl/dD with dl/dD = 1 / (D (1 - D))
    D = d_grid()
    curves = gen_costs.cost_curves(D)
    for name, (_, _, dD) in CLOSED.items():
        assert_close(curves[name][1] / (D * (1 - D)), dD(D))


def test_minimax_saturates_where_nonsaturating_does_not():
    D = torch.tensor([1e-8, 1e-6, 1e-3], dtype=torch.float64)
    curves = gen_costs.cost_curves(D)
    # the ratio of the two gradients is exactly D / (1 - D): -> 0 as D(G(z)) -> 0
    assert_close(curves["minimax"][1] / curves["nonsaturating"][1], D / (1 - D))
    assert_close(curves["nonsaturating"][1], -torch.ones(3, dtype=torch.float64), atol=1.1e-3, rtol=0)
