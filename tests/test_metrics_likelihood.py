"""AIS, BDMC and IWAE against a decoder whose log p(x) is exact: G(z) = W z + b with z ~ N(0, I),
so p(x) = N(x; b, W W^T + sigma^2 I)."""

import math

import pytest
import torch
from torch import nn
from torch.testing import assert_close

from gankit import GankitError
from gankit.metrics.likelihood import (
    ais,
    bdmc,
    bits_per_dim,
    elbo,
    iwae,
    latent,
    sigmoid_schedule,
    to_unit_interval,
)


class LinearG(nn.Module):
    def __init__(self, W, b, noise="gaussian"):
        super().__init__()
        self.W, self.b = nn.Parameter(W), nn.Parameter(b)
        self.z_dim, self.noise = W.shape[1], noise

    def forward(self, z):
        return z @ self.W.T + self.b


class ExactPosterior(nn.Module):
    """q(z | x) = p(z | x) of LinearG when W^T W is diagonal (the posterior's covariance then is)."""

    def __init__(self, G, sigma):
        super().__init__()
        self.G, self.sigma = G, sigma

    def forward(self, x):
        W, b = self.G.W.detach(), self.G.b.detach()
        precision = 1 + (W * W).sum(0) / self.sigma**2  # (z_dim,)
        mu = ((x.reshape(len(x), -1) - b) @ W) / self.sigma**2 / precision
        return mu, (-0.5 * torch.log(precision)).expand_as(mu)


class MeanEncoder(nn.Module):
    """A deliberately poor q: N(A x, I), wider than the posterior (whose sds are <= 1): bounded weights."""

    def __init__(self, A):
        super().__init__()
        self.A = A

    def forward(self, x):
        mu = x.reshape(len(x), -1) @ self.A.T
        return mu, torch.zeros_like(mu)


SIGMA = 0.3


def exact_log_p(G, x, sigma):
    W, b = G.W.detach().double(), G.b.detach().double()
    cov = W @ W.T + sigma**2 * torch.eye(len(b), dtype=torch.float64)
    return torch.distributions.MultivariateNormal(b, cov).log_prob(x.reshape(len(x), -1).double())


@pytest.fixture
def G():
    gen = torch.Generator().manual_seed(0)
    return LinearG(torch.randn(5, 2, generator=gen), torch.randn(5, generator=gen))


def test_schedule_runs_from_zero_to_one_and_increases():
    betas = sigmoid_schedule(50)
    assert betas.shape == (51,)
    assert_close(betas[[0, -1]], torch.tensor([0.0, 1.0], dtype=torch.float64))
    assert bool((betas.diff() > 0).all())
    assert_close(sigmoid_schedule(1), torch.tensor([0.0, 1.0], dtype=torch.float64))


def test_bdmc_brackets_the_exact_log_likelihood(G):
    # 100 temperatures: the bounds' biases show, forward below and reverse above the truth on average.
    short = bdmc(G, sigma=SIGMA, n=20, temperatures=100, seed=1)
    exact = exact_log_p(G, short.x, SIGMA)
    assert float(short.lower.mean()) < float(exact.mean()) < float(short.upper.mean())
    # 1,000 temperatures: both within 0.5 nat of the truth on every point.
    long = bdmc(G, sigma=SIGMA, n=20, temperatures=1000, seed=1)
    exact = exact_log_p(G, long.x, SIGMA)
    assert_close(long.lower, exact, rtol=0, atol=0.5)
    assert_close(long.upper, exact, rtol=0, atol=0.5)
    assert abs(long.gap) < short.gap


def test_plain_importance_sampling_errs_far_more(G):
    x = bdmc(G, sigma=SIGMA, n=20, temperatures=1, seed=2).x
    exact = exact_log_p(G, x, SIGMA)
    plain = (ais(G, x, sigma=SIGMA, temperatures=1, seed=3) - exact).abs().mean()
    annealed = (ais(G, x, sigma=SIGMA, temperatures=300, seed=3) - exact).abs().mean()
    assert float(plain) > 2.0  # nats
    assert float(annealed) < 0.25
    assert float(plain) > 10 * float(annealed)


def test_pixel_conventions_differ_by_dims_ln2(G):
    x = bdmc(G, sigma=SIGMA, n=6, temperatures=1, seed=4).x
    signed = ais(G, x, sigma=SIGMA, temperatures=30, chains=4, seed=5)
    G01 = LinearG(G.W.detach() / 2, (G.b.detach() + 1) / 2)  # (G(z) + 1) / 2
    unit = ais(G01, (x + 1) / 2, sigma=SIGMA / 2, temperatures=30, chains=4, seed=5)
    assert_close(unit - signed, torch.full_like(signed, 5 * math.log(2)), rtol=0, atol=1e-3)
    assert_close(to_unit_interval(signed, 5), signed + 5 * math.log(2))
    assert to_unit_interval(0.0, 784) == pytest.approx(543.4273, abs=1e-4)
    assert_close(bits_per_dim(torch.tensor(-784 * math.log(2.0)), 784), torch.tensor(1.0))


def test_uniform_prior_is_reparametrised_exactly():
    w = torch.linspace(-3, 3, 7)[:, None]
    z = latent(LinearG(torch.ones(1, 1), torch.zeros(1), noise="uniform"), w)
    assert float(z.abs().max()) < math.sqrt(3)
    assert_close(z[3], torch.zeros(1))
    # z = sqrt3 (2 Phi(w) - 1) maps N(0, 1) onto U(-sqrt 3, sqrt 3): its quartiles land on -+sqrt3/2.
    q = torch.tensor([[-0.6744897501960817], [0.6744897501960817]])
    assert_close(latent(LinearG(torch.ones(1, 1), torch.zeros(1), noise="uniform"), q),
                 torch.tensor([[-math.sqrt(3) / 2], [math.sqrt(3) / 2]]), rtol=0, atol=1e-6)


def test_iwae_with_the_exact_posterior_is_exact_for_any_k():
    # Orthogonal columns: the posterior covariance (I + W^T W / sigma^2)^-1 is diagonal, so q = p(z | x).
    G = LinearG(torch.tensor([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0], [1.0, 0.0]]), torch.tensor([0.1, -0.2, 0.3, 0.0]))
    x = torch.randn(5, 4, generator=torch.Generator().manual_seed(6))
    exact = exact_log_p(G, x, SIGMA)
    q = ExactPosterior(G, SIGMA)
    for k in (1, 50):
        assert_close(iwae(q, G, x, sigma=SIGMA, k=k, seed=7), exact, rtol=0, atol=1e-4)


def test_iwae_with_k_1_is_the_elbo_in_expectation(G):
    x = torch.randn(1, 5, generator=torch.Generator().manual_seed(8))
    q = MeanEncoder(torch.randn(2, 5, generator=torch.Generator().manual_seed(9)) * 0.2)
    # The ELBO in closed form: E_q log N(x; W z + b, sigma^2 I) - KL(q || N(0, I)).
    W, b = G.W.detach().double(), G.b.detach().double()
    mu, log_s = q(x)
    mu, s2 = mu[0].double(), (2 * log_s[0].double()).exp()
    r = x[0].double() - W @ mu - b
    expected_ll = -0.5 * (r @ r + (W * W * s2).sum()) / SIGMA**2 - 5 * (math.log(SIGMA) + 0.5 * math.log(2 * math.pi))
    kl = 0.5 * (mu @ mu + s2.sum() - 2 - torch.log(s2).sum())
    exact_elbo = float(expected_ll - kl)
    n = 4000
    draws = torch.stack([iwae(q, G, x, sigma=SIGMA, k=1, seed=s)[0] for s in range(n)])
    se = float(draws.std()) / math.sqrt(n)
    assert float(draws.mean()) == pytest.approx(exact_elbo, abs=4 * se)
    with torch.no_grad():
        mc = torch.stack([elbo(q, G, x, sigma=SIGMA, generator=torch.Generator().manual_seed(s))[0]
                          for s in range(n)]).double()
    assert float(mc.mean()) == pytest.approx(exact_elbo, abs=4 * float(mc.std()) / math.sqrt(n))
    # More samples tighten the bound toward log p(x).
    tighter = float(iwae(q, G, x, sigma=SIGMA, k=2000, seed=0)[0])
    assert exact_elbo < tighter < float(exact_log_p(G, x, SIGMA)[0])
    assert tighter == pytest.approx(float(exact_log_p(G, x, SIGMA)[0]), abs=0.2)


@pytest.mark.parametrize("kwargs, message", [
    ({"sigma": 0.0}, "sigma must be a positive number"),
    ({"sigma": -1.0}, "sigma must be a positive number"),
    ({"sigma": 0.1, "temperatures": 0}, "temperatures must be >= 1"),
    ({"sigma": 0.1, "chains": 0}, "chains must be >= 1"),
    ({"sigma": 0.1, "leapfrog": 0}, "leapfrog must be >= 1"),
])
def test_bad_input_is_one_line(G, kwargs, message):
    with pytest.raises(GankitError, match=message) as info:
        ais(G, torch.zeros(2, 5), **kwargs)
    assert "\n" not in str(info.value)


def test_a_generator_without_a_prior_is_refused():
    with pytest.raises(GankitError, match="no prior to anneal from"):
        ais(nn.Linear(2, 5), torch.zeros(2, 5), sigma=0.1)
