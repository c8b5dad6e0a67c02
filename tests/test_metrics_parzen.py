import math

import pytest
import torch
from torch.testing import assert_close

from gankit import GankitError
from gankit.metrics.parzen import DEFAULT_SIGMAS, parzen_log_density, parzen_log_likelihood


def brute_force_log_density(x, mu, sigma):
    """Direct product of 1D Gaussian pdfs, averaged over centres: no logsumexp, no expansion."""
    x, mu = x.reshape(len(x), -1).double(), mu.reshape(len(mu), -1).double()
    out = []
    for xi in x:
        total = 0.0
        for m in mu:
            pdf = 1.0
            for a, b in zip(xi.tolist(), m.tolist()):
                pdf *= math.exp(-((a - b) ** 2) / (2 * sigma**2)) / math.sqrt(2 * math.pi * sigma**2)
            total += pdf
        out.append(math.log(total / len(mu)))
    return torch.tensor(out, dtype=torch.float64)


def test_hand_computable_one_dimensional_case():
    # Centres 0 and 2, point 1, sigma 1: both kernels give N(1; 0, 1), so p = N(1; 0, 1).
    mu = torch.tensor([[0.0], [2.0]])
    x = torch.tensor([[1.0]])
    expected = -0.5 - 0.5 * math.log(2 * math.pi)
    assert_close(parzen_log_density(x, mu, [1.0])[0, 0].item(), expected)


def test_hand_computable_two_dimensional_case():
    # One centre at the origin, point (3, 4), sigma 1: log p = -25/2 - log(2 pi).
    got = parzen_log_density(torch.tensor([[3.0, 4.0]]), torch.zeros(1, 2), [1.0])
    assert_close(got, torch.tensor([[-12.5 - math.log(2 * math.pi)]], dtype=torch.float64))


def test_matches_brute_force_on_tiny_images():
    g = torch.Generator().manual_seed(0)
    mu = torch.rand(7, 1, 2, 3, generator=g)
    x = torch.rand(5, 1, 2, 3, generator=g)
    sigmas = [0.2, 0.5, 1.0]
    got = parzen_log_density(x, mu, sigmas, batch_size=2)
    for k, s in enumerate(sigmas):
        assert_close(got[k], brute_force_log_density(x, mu, s))


def test_protocol_picks_the_best_validation_sigma_and_reports_test_mean_and_se():
    g = torch.Generator().manual_seed(1)
    samples = torch.rand(20, 4, generator=g)
    valid = torch.rand(6, 4, generator=g)
    test = torch.rand(9, 4, generator=g)
    sigmas = list(DEFAULT_SIGMAS)
    valid_means = [brute_force_log_density(valid, samples, s).mean() for s in sigmas]
    best = sigmas[int(torch.stack(valid_means).argmax())]
    ll = brute_force_log_density(test, samples, best)
    mean, se, sigma = parzen_log_likelihood(samples, valid, test)
    assert sigma == best
    assert_close(mean, float(ll.mean()))
    # The paper's code: numpy's std (population, ddof=0) over sqrt(n).
    assert_close(se, float(ll.std(unbiased=False)) / math.sqrt(len(test)))


def test_default_sigmas_are_the_papers_grid():
    expected = 10 ** torch.linspace(-1, 0, 10, dtype=torch.float64)
    assert_close(torch.tensor(DEFAULT_SIGMAS, dtype=torch.float64), expected)


def test_batch_size_does_not_change_the_result():
    g = torch.Generator().manual_seed(2)
    samples, points = torch.rand(50, 10, generator=g), torch.rand(13, 10, generator=g)
    assert_close(parzen_log_density(points, samples, [0.3], batch_size=1),
                 parzen_log_density(points, samples, [0.3], batch_size=100))


def test_far_points_do_not_underflow():
    # exp(-10^6) is 0 in float64; logsumexp keeps the log-density finite and exact.
    got = parzen_log_density(torch.tensor([[100.0]]), torch.zeros(1, 1), [0.1])
    assert_close(got.item(), -100.0**2 / (2 * 0.01) - 0.5 * math.log(2 * math.pi * 0.01))


def test_dimension_mismatch_is_a_user_error():
    with pytest.raises(GankitError, match="dimensions"):
        parzen_log_likelihood(torch.rand(5, 3), torch.rand(2, 4), torch.rand(2, 4))
