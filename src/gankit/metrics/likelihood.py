"""log p(x) of a decoder-based model: annealed importance sampling (AIS), its BDMC check, the IWAE bound.

A generator G defines no density, but G with a Gaussian observation model does (Wu, Burda,
Salakhutdinov & Grosse 2017, "On the quantitative analysis of decoder-based generative models"):

    p(x) = integral of N(x; G(z), sigma^2 I) p_z(z) dz

``ais`` estimates its log by annealing from the prior p_z to the posterior along the geometric
path f_beta(z) = p_z(z) N(x; G(z), sigma^2 I)^beta, beta_0 = 0 < beta_1 < ... < beta_T = 1 on
a sigmoid schedule (Grosse et al. 2015), with one Hamiltonian Monte Carlo transition (``leapfrog``
steps) per intermediate temperature. The log-weight of a chain is sum_t (beta_t - beta_{t-1})
log N(x; G(z_{t-1}), sigma^2 I); ``chains`` independent chains per image give log p(x) ~=
log mean exp(weights), a stochastic lower bound (Jensen). ``temperatures`` = 1 means no
intermediate temperature: plain importance sampling from the prior.

HMC step sizes are tuned in a pilot run (fewer chains, its own seed) toward 0.65 acceptance and
then *frozen*, one per temperature and image: adapting them from the estimating chains' own
history would make the transitions depend on the chain and break AIS's unbiasedness.

Priors: AIS runs in w ~ N(0, I). A Gaussian G takes z = w; a G with uniform noise
(``model.noise=uniform``, U(-sqrt 3, sqrt 3)^d) takes z = sqrt 3 (2 Phi(w) - 1), which is exactly
uniform when w is standard normal, so p(x) is the same integral and HMC never meets the box's
walls. A self-conditioned G (``model.clusters``) reads its cluster off z_0 through a step
function: the gradient does not see the steps, but the Metropolis test uses the true energy, so
the chains stay exact, only slower to cross between clusters (BDMC shows how much).

``bdmc`` simulates x = G(z) + noise and runs AIS forward (lower bound) and in reverse from the
true z, an exact posterior sample (upper bound); their gap bounds the error on data like the
model's own (Grosse et al. 2015). ``iwae`` is the importance-weighted bound of a VAE's encoder
(Burda et al. 2016); ``elbo`` its k = 1 special case in expectation.

Units: log-densities are in nats of the data's own units. gankit's images lie in [-1, 1]; the
same model on [0, 1] pixels (x' = (x + 1) / 2, sigma' = sigma / 2) has log p'(x') = log p(x) +
D ln 2 (``to_unit_interval``: 784 ln 2 = 543.4 nats for 28x28), the convention of Wu et al.'s
and the 2014 paper's tables. ``bits_per_dim`` converts.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

import torch
from torch import nn

from gankit.errors import GankitError

LOG_2PI = math.log(2 * math.pi)
TARGET_ACCEPT = 0.65  # HMC's acceptance rate the pilot aims for (Neal 2011; Wu et al. 2017)
SCHEDULE_RADIUS = 4.0  # the sigmoid schedule spans sigmoid(-4)..sigmoid(4) (Wu et al.'s code)


def to_unit_interval(log_p: torch.Tensor | float, dims: int) -> torch.Tensor | float:
    """log p of [-1, 1] data -> log p of the same data as [0, 1] pixels: + dims * ln 2 nats.

    x' = (x + 1) / 2 halves every coordinate, so densities are 2^dims times larger (and sigma
    halves with the data). 28x28 images: + 784 ln 2 = 543.43 nats.
    """
    return log_p + dims * math.log(2.0)


def bits_per_dim(log_p_unit: torch.Tensor | float, dims: int) -> torch.Tensor | float:
    """-log2 p(x) / dims for a log-density ``log_p_unit`` of [0, 1] pixels (nats): lower is better.

    A continuous density, not a code length: it can be negative for densities above 1.
    """
    return -log_p_unit / (dims * math.log(2.0))


def sigmoid_schedule(temperatures: int) -> torch.Tensor:
    """beta_0 = 0 < ... < beta_T = 1, (T + 1,) float64, spaced by a sigmoid (Grosse et al. 2015).

    Dense near both ends: near 0 where the prior starts to feel the data, near 1 where the
    posterior sharpens. T = 1 is [0, 1]: plain importance sampling from the prior.
    """
    if temperatures < 1:
        raise GankitError(f"ais: temperatures must be >= 1, got {temperatures}")
    if temperatures == 1:
        return torch.tensor([0.0, 1.0], dtype=torch.float64)
    s = torch.sigmoid(torch.linspace(-SCHEDULE_RADIUS, SCHEDULE_RADIUS, temperatures + 1, dtype=torch.float64))
    return (s - s[0]) / (s[-1] - s[0])


def latent(G: nn.Module, w: torch.Tensor) -> torch.Tensor:
    """z ~ G's prior from w ~ N(0, I): z = w, or sqrt 3 (2 Phi(w) - 1) for uniform noise (exact)."""
    if getattr(G, "noise", "gaussian") == "uniform":
        return math.sqrt(3.0) * (2.0 * torch.special.ndtr(w) - 1.0)
    return w


def check_generator(G: nn.Module, labels: torch.Tensor | None) -> int:
    """G's latent dimension; one-line errors for a G without a prior or a missing / spurious label."""
    z_dim = getattr(G, "z_dim", None)
    if not isinstance(z_dim, int) or getattr(G, "noise", "gaussian") not in ("gaussian", "uniform"):
        raise GankitError(f"ais: {type(G).__name__} has no prior to anneal from (needs z_dim and gaussian or "
                          f"uniform noise)")
    classes = int(getattr(G, "num_classes", 0))
    if classes and labels is None:
        raise GankitError(f"ais: the generator is conditional ({classes} classes): give the labels of x")
    if not classes and labels is not None:
        raise GankitError("ais: the generator is unconditional: it takes no labels")
    return z_dim


def _check(sigma: float, temperatures: int, leapfrog: int, chains: int) -> None:
    if not (isinstance(sigma, (int, float)) and math.isfinite(sigma) and sigma > 0):
        raise GankitError(f"ais: sigma must be a positive number, got {sigma}")
    if temperatures < 1:
        raise GankitError(f"ais: temperatures must be >= 1, got {temperatures}")
    if leapfrog < 1:
        raise GankitError(f"ais: leapfrog must be >= 1, got {leapfrog}")
    if chains < 1:
        raise GankitError(f"ais: chains must be >= 1, got {chains}")


@contextlib.contextmanager
def _frozen_eval(G: nn.Module):
    """G (or an encoder) in eval mode with its parameters out of autograd (only z needs gradients); restored after."""
    was_training = G.training
    flags = [p.requires_grad for p in G.parameters()]
    G.eval().requires_grad_(False)
    try:
        yield G
    finally:
        for p, flag in zip(G.parameters(), flags):
            p.requires_grad_(flag)
        G.train(was_training)


def gaussian_log_lik(G: nn.Module, w: torch.Tensor, x: torch.Tensor, sigma: float,
                     labels: torch.Tensor | None = None) -> torch.Tensor:
    """log N(x; G(z(w)), sigma^2 I) per row, (B,): x (B, D) flattened, w (B, z_dim)."""
    z = latent(G, w)
    mean = (G(z) if labels is None else G(z, labels)).reshape(len(x), -1).float()
    d = x.shape[1]
    return -0.5 * ((x - mean) ** 2).sum(1) / sigma**2 - d * (math.log(sigma) + 0.5 * LOG_2PI)


class _Target:
    """log f_beta(w) = log N(w; 0, I) + beta log N(x; G(w), sigma^2 I) for B = images x chains rows."""

    def __init__(self, G: nn.Module, x: torch.Tensor, sigma: float, labels: torch.Tensor | None):
        self.G, self.x, self.sigma, self.labels = G, x, sigma, labels

    def log_lik_and_grad(self, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.enable_grad():
            w = w.detach().requires_grad_(True)
            ll = gaussian_log_lik(self.G, w, self.x, self.sigma, self.labels)
            (grad,) = torch.autograd.grad(ll.sum(), w)
        return ll.detach(), grad


def _hmc(target: _Target, w, ll, grad, beta: float, eps: torch.Tensor, leapfrog: int, gen: torch.Generator):
    """One HMC transition leaving f_beta invariant; eps (B,) per row. Returns (w, ll, grad, accepted (B,))."""
    def energy(w_, ll_):  # U = -log f_beta up to a constant: |w|^2 / 2 - beta log-likelihood
        return 0.5 * (w_ * w_).sum(1) - beta * ll_

    step = eps[:, None]
    p0 = torch.randn(w.shape, generator=gen, device=w.device, dtype=w.dtype)
    p = p0 - 0.5 * step * (w - beta * grad)
    w_new = w
    for i in range(leapfrog):
        w_new = w_new + step * p
        ll_new, grad_new = target.log_lik_and_grad(w_new)
        force = w_new - beta * grad_new
        p = p - (step if i < leapfrog - 1 else 0.5 * step) * force
    h0 = energy(w, ll) + 0.5 * (p0 * p0).sum(1)
    h1 = energy(w_new, ll_new) + 0.5 * (p * p).sum(1)
    log_u = torch.log(torch.rand(len(w), generator=gen, device=w.device, dtype=w.dtype))
    accept = (log_u < (h0 - h1)) & torch.isfinite(h1)  # a NaN or infinite proposal is rejected
    keep = accept[:, None]
    return (torch.where(keep, w_new, w), torch.where(accept, ll_new, ll), torch.where(keep, grad_new, grad),
            accept)


def _anneal(target: _Target, w: torch.Tensor, betas: torch.Tensor, eps: torch.Tensor | None, leapfrog: int,
            gen: torch.Generator, chains: int, *, reverse: bool = False, adapt: bool = False):
    """Run one annealing pass; returns (log-weights (B,) float64, step sizes used (T, images)).

    Forward: for t = 1..T, add (beta_t - beta_{t-1}) ll(w), then an HMC step at beta_t (t < T).
    Reverse (from an exact posterior sample): for t = T..1, add (beta_{t-1} - beta_t) ll(w), then
    an HMC step at beta_{t-1} (t > 1). ``eps`` (T, images) are the frozen step sizes of the
    transitions at each beta_t; ``adapt`` (the pilot) starts at 0.1 and moves each image's step
    toward ``TARGET_ACCEPT`` from its chains' acceptance, recording what it used.
    """
    T = len(betas) - 1
    images = len(w) // chains
    used = torch.zeros(T + 1, images, dtype=torch.float64, device=w.device)
    step = torch.full((images,), 0.1, dtype=torch.float64, device=w.device)
    ll, grad = target.log_lik_and_grad(w)
    log_w = torch.zeros(len(w), dtype=torch.float64, device=w.device)
    order = range(T, 0, -1) if reverse else range(1, T + 1)
    for t in order:
        log_w += (float(betas[t - 1] - betas[t]) if reverse else float(betas[t] - betas[t - 1])) * ll.double()
        at = t - 1 if reverse else t  # the temperature of this transition
        if at == (0 if reverse else T):
            continue  # no transition after the last weight: beta_T forward, beta_0 in reverse
        eps_t = step if adapt else eps[at]
        used[at] = eps_t
        w, ll, grad, accepted = _hmc(target, w, ll, grad, float(betas[at]), eps_t.repeat_interleave(chains).to(w.dtype),
                                     leapfrog, gen)
        if adapt:
            rate = accepted.double().view(images, chains).mean(1)
            step = (step * torch.exp(rate - TARGET_ACCEPT)).clamp(1e-4, 2.0)
    return log_w, used


def _log_mean_exp(log_w: torch.Tensor, chains: int) -> torch.Tensor:
    return torch.logsumexp(log_w.view(-1, chains), dim=1) - math.log(chains)


def _generator_on(device: torch.device, seed: int) -> torch.Generator:
    return torch.Generator(device).manual_seed(seed)


def _prepare(G, x, labels, chains):
    device = next(G.parameters()).device if any(True for _ in G.parameters()) else x.device
    flat = x.reshape(len(x), -1).float().to(device)
    rows = flat.repeat_interleave(chains, dim=0)
    y = None if labels is None else labels.to(device).repeat_interleave(chains)
    return device, rows, y


def _pilot(G, x, labels, sigma, betas, leapfrog, chains, seed) -> torch.Tensor:
    """Step sizes (T + 1, N) from a forward pass with adaptation, on min(chains, 4) chains of its own."""
    pilot_chains = min(chains, 4)
    device, rows, y = _prepare(G, x, labels, pilot_chains)
    gen = _generator_on(device, seed + 7_777_777)
    w = torch.randn(len(rows), G.z_dim, generator=gen, device=device)
    _, used = _anneal(_Target(G, rows, sigma, y), w, betas, None, leapfrog, gen, pilot_chains, adapt=True)
    return used


def ais(G: nn.Module, x: torch.Tensor, *, sigma: float, temperatures: int = 1000, leapfrog: int = 10,
        chains: int = 16, seed: int = 0, labels: torch.Tensor | None = None, batch_size: int = 64) -> torch.Tensor:
    """log p(x) under N(x; G(z), sigma^2 I) and G's prior, by AIS: a stochastic lower bound, nats.

    Args:
        G: a generator with ``z_dim`` (and ``noise``: gaussian or uniform); used in eval mode on
            its own device, its parameters untouched.
        x: data in G's output space, (N, ...) (gankit images: [-1, 1]).
        sigma: the observation model's standard deviation, in x's units.
        temperatures: T, annealing steps from the prior to the posterior (1: importance sampling
            from the prior).
        leapfrog: leapfrog steps per HMC transition.
        chains: independent chains per image (the estimate is their log-mean-exp).
        seed: seeds the pilot and the estimate (their streams differ).
        labels: a conditional G's classes of x, (N,) int64.
        batch_size: images annealed together (memory ~ batch_size x chains rows).

    Returns:
        (N,) float64 log p(x) estimates, on the CPU.

    Raises:
        GankitError: sigma <= 0, temperatures / leapfrog / chains < 1, a G without a prior,
            missing or spurious labels.
    """
    _check(sigma, temperatures, leapfrog, chains)
    check_generator(G, labels)
    betas = sigmoid_schedule(temperatures)
    out = []
    with _frozen_eval(G):
        for start in range(0, len(x), batch_size):
            xb = x[start:start + batch_size]
            yb = None if labels is None else labels[start:start + batch_size]
            eps = _pilot(G, xb, yb, sigma, betas, leapfrog, chains, seed + start)
            device, rows, y = _prepare(G, xb, yb, chains)
            gen = _generator_on(device, seed + start)
            w = torch.randn(len(rows), G.z_dim, generator=gen, device=device)
            log_w, _ = _anneal(_Target(G, rows, sigma, y), w, betas, eps, leapfrog, gen, chains)
            out.append(_log_mean_exp(log_w, chains).cpu())
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.float64)


@dataclass
class BDMC:
    """Bidirectional Monte Carlo on n points simulated from the model (Grosse et al. 2015).

    Attributes:
        x: the simulated data, (n, ...) on the CPU.
        lower: forward AIS, (n,): log p(x) from below (in expectation).
        upper: reverse AIS from the true z, (n,): log p(x) from above (in expectation).
        gap: mean(upper - lower), nats: how far AIS at this budget can be from the truth on such data.
    """

    x: torch.Tensor
    lower: torch.Tensor
    upper: torch.Tensor

    @property
    def gap(self) -> float:
        return float((self.upper - self.lower).mean())


def bdmc(G: nn.Module, *, sigma: float, n: int, temperatures: int = 1000, leapfrog: int = 10, chains: int = 16,
         seed: int = 0, labels: torch.Tensor | None = None) -> BDMC:
    """Simulate x = G(z) + sigma eps (z ~ p_z) and bound log p(x) from both sides.

    The forward estimate is ``ais``'s; the reverse one starts every chain at the true z (an
    exact sample of the posterior p(z | x)) and anneals back to the prior with the same frozen
    step sizes, giving an unbiased estimate of 1 / p(x), hence an upper bound on log p(x).
    """
    _check(sigma, temperatures, leapfrog, chains)
    check_generator(G, labels)
    if n < 1:
        raise GankitError(f"bdmc: n must be >= 1, got {n}")
    betas = sigmoid_schedule(temperatures)
    with _frozen_eval(G):
        device = next(G.parameters()).device
        gen = _generator_on(device, seed + 99_991)
        w_true = torch.randn(n, G.z_dim, generator=gen, device=device)
        with torch.no_grad():
            z = latent(G, w_true)
            mean = G(z) if labels is None else G(z, labels.to(device))
            x = mean + sigma * torch.randn(mean.shape, generator=gen, device=device, dtype=mean.dtype)
        eps = _pilot(G, x, labels, sigma, betas, leapfrog, chains, seed)
        _, rows, y = _prepare(G, x, labels, chains)
        gen = _generator_on(device, seed)
        target = _Target(G, rows, sigma, y)
        w = torch.randn(len(rows), G.z_dim, generator=gen, device=device)
        forward, _ = _anneal(target, w, betas, eps, leapfrog, gen, chains)
        reverse, _ = _anneal(target, w_true.repeat_interleave(chains, dim=0), betas, eps, leapfrog, gen, chains,
                             reverse=True)
    lower = _log_mean_exp(forward, chains).cpu()
    upper = -_log_mean_exp(reverse, chains).cpu()
    return BDMC(x.cpu(), lower, upper)


def _standard_normal_log_pdf(z: torch.Tensor) -> torch.Tensor:
    return -0.5 * (z * z).sum(-1) - 0.5 * z.shape[-1] * LOG_2PI


def iwae(encoder, G: nn.Module, x: torch.Tensor, *, sigma: float, k: int = 5000, seed: int = 0,
         chunk: int = 500) -> torch.Tensor:
    """The importance-weighted bound (Burda et al. 2016) with k samples of q(z | x), (N,) float64 nats.

    log (1/k) sum_i p(x | z_i) p(z_i) / q(z_i | x), z_i ~ q(z | x) = N(mu(x), diag s(x)^2); a
    lower bound on log p(x) that rises with k (k = 1: the ELBO, in expectation). G's prior must
    be N(0, I) (a VAE's).

    Args:
        encoder: x (B, ...) -> (mu, log_s), each (B, z_dim).
        k: importance samples per image, drawn ``chunk`` at a time.
    """
    _check(sigma, 1, 1, 1)
    if k < 1:
        raise GankitError(f"iwae: k must be >= 1, got {k}")
    if getattr(G, "noise", "gaussian") != "gaussian":
        raise GankitError("iwae: needs a generator with a standard normal prior (model.noise=gaussian)")
    device = next(G.parameters()).device
    gen = _generator_on(device, seed)
    out = []
    with torch.no_grad(), _frozen_eval(G), _frozen_eval(encoder):
        for xi in x.to(device):
            mu, log_s = encoder(xi[None])
            terms = []
            for start in range(0, k, chunk):
                m = min(chunk, k - start)
                e = torch.randn(m, mu.shape[1], generator=gen, device=device)
                z = mu + e * log_s.exp()
                log_q = _standard_normal_log_pdf(e) - log_s.sum()
                ll = gaussian_log_lik(G, z, xi.reshape(1, -1).expand(m, -1), sigma)
                terms.append((ll + _standard_normal_log_pdf(z) - log_q).double())
            out.append(torch.logsumexp(torch.cat(terms), 0) - math.log(k))
    return torch.stack(out).cpu() if out else torch.zeros(0, dtype=torch.float64)


def elbo(encoder, G: nn.Module, x: torch.Tensor, *, sigma: float, generator: torch.Generator | None = None
         ) -> torch.Tensor:
    """The evidence lower bound per image, (N,): one reparametrised sample of E_q log p(x | z), minus
    the Gaussian KL(q(z | x) || N(0, I)) in closed form (Kingma & Welling 2014, eq. 10). Differentiable:
    its negative mean is the VAE's training loss."""
    ll, kl = elbo_terms(*encoder(x), G, x, sigma=sigma, generator=generator)
    return ll - kl


def elbo_terms(mu: torch.Tensor, log_s: torch.Tensor, G: nn.Module, x: torch.Tensor, *, sigma: float,
               generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The ELBO's two terms per image for the encoder's output (mu, log_s): (one reparametrised sample of
    E_q log p(x | z), KL(q(z | x) || N(0, I))), each (N,); ``elbo`` is their difference."""
    e = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
    z = mu + e * log_s.exp()
    return gaussian_log_lik(G, z, x.reshape(len(x), -1), sigma), gaussian_kl(mu, log_s)


def gaussian_kl(mu: torch.Tensor, log_s: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag(exp(log_s))^2) || N(0, I)) per row, (N,): 1/2 sum(mu^2 + s^2 - 1 - 2 log s)."""
    return 0.5 * (mu * mu + (2 * log_s).exp() - 1 - 2 * log_s).sum(1)
