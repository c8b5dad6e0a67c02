import torch
from torch.testing import assert_close

from gankit.data.toy import Gauss1D
from gankit.theory import toy1d


def test_optimal_logit_is_the_log_density_ratio():
    x = torch.linspace(-2.0, 10.0, 49, dtype=torch.float64)
    for theta in (3.0, 4.2, 5.0):
        ratio = torch.log(Gauss1D(5.0, 1.0).pdf(x)) - torch.log(Gauss1D(theta, 1.0).pdf(x))
        assert_close(toy1d.optimal_logit(x, theta), ratio)


def test_theta_reaches_the_data_mean_and_d_flattens_to_one_half():
    h = toy1d.train_toy1d(seed=0, steps=200)
    # D was first trained to D*: logit (5 - 3) x + (9 - 25)/2
    assert_close(h.phi[0], torch.tensor([-8.0, 2.0], dtype=torch.float64), rtol=0.05, atol=0)
    assert_close(h.theta[0], torch.tensor(3.0, dtype=torch.float64))
    assert_close(h.theta[-1], torch.tensor(5.0, dtype=torch.float64), atol=0.1, rtol=0)
    x = torch.linspace(3.0, 7.0, 9, dtype=torch.float64)
    d = torch.sigmoid(h.phi[-1, 0] + h.phi[-1, 1] * x)
    assert_close(d, torch.full_like(d, 0.5), atol=0.05, rtol=0)
    # at the equilibrium the discriminator's loss is log 4 (D ≡ 1/2 on both)
    assert_close(h.d_loss[-20:].mean(), torch.tensor(1.3862943611198906, dtype=torch.float64), atol=0.01, rtol=0)
