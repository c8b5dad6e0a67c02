"""What the page draws, computed from the running players without touching the run.

Every frame uses noise of its own (fixed for the session, so the samples move only because G
does), the players in eval mode and no gradient to their weights: watching a run never changes it.

- D's output on a grid x grid lattice over the data (1D: a curve on 256 points), as in fig. 15.1
  of Prince and GAN Lab's heat map.
- D* = p_data / (p_data + p_g) (Goodfellow et al. 2014, Proposition 1), with p_data the data's
  known density and p_g a Gaussian kernel density estimate of G's samples. A KDE blurs, so the
  data's density is blurred by the same kernel (for a Gaussian mixture: each component's variance
  plus h^2, exact), and D* and the JSD are those of the blurred pair: at p_g = p_data, D* = 1/2 and
  JSD = 0 up to the KDE's sampling noise, whatever h.
- JSD(p_data || p_g) of that pair by quadrature on the same lattice (``gankit.theory.quadrature``).
- G's manifold: G on a lattice of z (the first two noise dimensions; the rest 0).
- The arrows: -∇x of G's cost at each sample, the direction the G update moves it.
- ring8/grid25: modes covered and the high-quality fraction (``gankit.metrics.modes``).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import math

import torch

from gankit.distributed import unwrap
from gankit.data.toy import Gauss1D, GaussianMixture2D
from gankit.metrics.modes import mixture_modes
from gankit.metrics.parzen import parzen_log_density
from gankit.models.clusters import cluster_code, cluster_of
from gankit.models import sample_noise
from gankit.objectives import discriminate
from gankit.theory.quadrature import integrate, jsd_quadrature, mixture_log_pdf, optimal_logit

SAMPLES = 256  # samples drawn and arrows computed each frame
KDE_SAMPLES = 1024  # G's samples behind the KDE of p_g and the mode count (the drawn ones among them)
CURVE = 256  # points of D's curve in 1D
VIEW_SEED = 12_345  # the views' own noise (the run's streams are never drawn from)


def _encode(values: torch.Tensor) -> str:
    """Values in [0, 1] as base64 bytes 0..255 (a 64 x 64 map in 5.5 kB instead of 40 kB of JSON)."""
    return base64.b64encode((values.clamp(0, 1) * 255).round().to(torch.uint8).numpy().tobytes()).decode()


def _round(x: torch.Tensor, digits: int = 4) -> list:
    return torch.round(x.detach().float().cpu(), decimals=digits).tolist()


def _kde_log_pdf(points: torch.Tensor, centres: torch.Tensor, h: float) -> torch.Tensor:
    """log of the Gaussian KDE with bandwidth h of ``centres`` (N, d) at ``points`` (P, d), float64: the Parzen
    window of ``gankit.metrics.parzen`` with one bandwidth."""
    return parzen_log_density(points, centres, [h])[0]


def binned_kde(samples: torch.Tensor, axes: list[torch.Tensor], h: float) -> torch.Tensor:
    """The Gaussian KDE of ``samples`` (N, d), d = 1 or 2, on the lattice ``axes``, by binning.

    Each sample goes to its nearest lattice point, and the histogram is convolved with the
    Gaussian of width h, one axis after the other: the binned KDE (Wand & Jones 1995, appendix D),
    within a fraction of a cell of the exact one when h spans cells, in a millisecond instead
    of a (lattice x samples) matrix. Samples off the lattice are left out. Returns the density
    on the lattice, float64, shape (n,) or (n_y * n_x,) row-major from the lowest y.
    """
    n = len(axes[0])
    cells = [float(a[1] - a[0]) for a in axes]
    idx = [((samples[:, i].double() - float(a[0])) / cells[i]).round().long() for i, a in enumerate(axes)]
    inside = torch.ones(len(samples), dtype=torch.bool)
    for i in idx:
        inside &= (i >= 0) & (i < n)
    flat = idx[0] if len(axes) == 1 else idx[1] * n + idx[0]
    hist = torch.bincount(flat[inside], minlength=n ** len(axes)).double().reshape([n] * len(axes))
    for axis, cell in enumerate(cells):
        half = min(n - 1, math.ceil(5 * h / cell))
        t = torch.arange(-half, half + 1, dtype=torch.float64) * cell
        kernel = torch.exp(-0.5 * (t / h) ** 2) / (h * math.sqrt(2 * math.pi))
        dim = len(axes) - 1 - axis  # axis 0 (x) is the last dimension of the (y, x) histogram
        moved = hist.movedim(dim, -1)
        rows = moved.reshape(-1, 1, n)
        conv = torch.nn.functional.conv1d(rows, kernel.view(1, 1, -1), padding=half)
        hist = conv.reshape(moved.shape).movedim(-1, dim)
    return hist.reshape(-1) / len(samples)


@contextlib.contextmanager
def _evaluating(*modules: torch.nn.Module):
    """The players in eval mode (no BatchNorm statistics or spectral-norm vectors updated), then back."""
    was = [m.training for m in modules]
    for m in modules:
        m.eval()
    try:
        yield
    finally:
        for m, mode in zip(modules, was):
            m.train(mode)


class View:
    """The fixed parts of a session's views (lattices, data sample, noise) and ``frame(trainer)``."""

    def __init__(self, trainer, grid: int = 64):
        data, cfg = trainer.data, trainer.cfg
        self.dim = int(data.shape[0])
        self.device = trainer.device
        gen = torch.Generator().manual_seed(VIEW_SEED)
        if hasattr(data, "sample"):
            self.real = data.sample(SAMPLES, gen)
        else:  # data in memory (an uploaded npz): a fixed subset
            idx = torch.randperm(len(data.x), generator=gen)[:SAMPLES]
            self.real = data.x[idx].float()
        G = unwrap(trainer.G)
        self.z = sample_noise(G, SAMPLES, gen)
        if isinstance(data, GaussianMixture2D):
            lo, hi = data.modes.min(0).values - 3 * data.sd, data.modes.max(0).values + 3 * data.sd
            span = hi - lo
        else:
            lo, hi = self.real.min(0).values, self.real.max(0).values
            span = (hi - lo).clamp_min(1e-3)
            with torch.no_grad(), _evaluating(G):  # the view spans G's first samples too (toy1d starts off the data)
                first = G(self.z.to(trainer.device)).float().cpu()
            first = torch.maximum(torch.minimum(first, hi + 2 * span), lo - 2 * span)
            lo, hi = torch.minimum(lo, first.min(0).values), torch.maximum(hi, first.max(0).values)
            span = (hi - lo).clamp_min(1e-3)
        lo, hi = lo - 0.25 * span, hi + 0.25 * span
        if self.dim == 2:  # square cells
            centre, half = (lo + hi) / 2, float((hi - lo).max()) / 2
            lo, hi = centre - half, centre + half
        self.lo, self.hi = lo.tolist(), hi.tolist()
        n = grid if self.dim == 2 else CURVE
        self.axes = [torch.linspace(self.lo[i], self.hi[i], n, dtype=torch.float64) for i in range(self.dim)]
        if self.dim == 2:
            ys, xs = torch.meshgrid(self.axes[1], self.axes[0], indexing="ij")  # row-major from the bottom row
            self.points = torch.stack([xs.reshape(-1), ys.reshape(-1)], 1)
        else:
            self.points = self.axes[0][:, None]
        self.grid = n
        cell = float((hi - lo).max()) / (n - 1)
        sd = float(getattr(data, "sd", 0.0))
        # The KDE's bandwidth: at least 1.5 cells (the lattice resolves it); 2D mixtures: their own width.
        self.h = max(1.5 * cell, sd if self.dim == 2 else 0.25 * sd, 1e-3)
        self.log_p_data = self._log_p_data(data)
        # What every frame shows or uses of the data, the same each time: computed here once.
        self._log_p_unit = self.log_p_data - self._log_integral(self.log_p_data)  # mass 1 on the lattice
        self._no_mass = float(self.log_p_data.max()) - math.log(1e3)
        self._fixed = {"real": _round(self.real)}
        if self.dim == 1:
            self._fixed["p_data"] = _round(self.log_p_data.exp())
        self.z_kde = torch.cat([self.z, sample_noise(G, KDE_SAMPLES - SAMPLES, gen)])
        self.z_lattice = self._z_lattice(G)
        self.mixture = data if isinstance(data, GaussianMixture2D) else None
        self.pack = cfg.model.pack
        # The lattice and the noise as every frame feeds them to the players, with their clusters (buffers fixed
        # when the run is built; a restart builds a new view): moved and assigned here once.
        x = self.points.float().to(self.device)
        self._d_points = x.repeat_interleave(self.pack, 0) if self.pack > 1 else x  # a pack of copies per point
        self._d_clusters = cluster_of(unwrap(trainer.D), self._d_points)
        self._z, self._z_kde, self._z_lattice_dev = (z.to(self.device) for z in (self.z, self.z_kde, self.z_lattice))
        self._z_codes = cluster_code(G, self._z)

    def _log_p_data(self, data) -> torch.Tensor:
        """log of the data's density blurred by the KDE kernel, on the lattice (a KDE for data in memory)."""
        if isinstance(data, Gauss1D):
            return mixture_log_pdf(self.points[:, 0], (data.mean,), (math.hypot(data.sd, self.h),), (1.0,))
        if isinstance(data, GaussianMixture2D):  # equal modes of sd s blurred by h: a KDE of bandwidth hypot(s, h)
            return _kde_log_pdf(self.points, data.modes, math.hypot(data.sd, self.h))
        return _kde_log_pdf(self.points, data.x.reshape(len(data.x), -1)[:20_000], self.h)

    def _z_lattice(self, G) -> torch.Tensor:
        """z on a lattice spanning +-2 (Gaussian) or +-sqrt 3 (uniform) along the first two dimensions."""
        r = math.sqrt(3) if getattr(G, "noise", "gaussian") == "uniform" else 2.0
        zd = G.z_dim
        if zd == 1:
            return torch.linspace(-r, r, 64)[:, None]
        t = torch.linspace(-r, r, 17)
        a, b = torch.meshgrid(t, t, indexing="ij")
        z = torch.zeros(len(t) ** 2, zd)
        z[:, 0], z[:, 1] = a.reshape(-1), b.reshape(-1)
        return z

    def _log_integral(self, log_f: torch.Tensor) -> float:
        f = log_f.exp()
        if self.dim == 2:
            f = integrate(f.reshape(self.grid, self.grid), self.axes[0])
        return math.log(max(float(integrate(f, self.axes[-1])), 1e-300))

    def _jsd(self, log_q: torch.Tensor) -> float:
        """JSD(p || q) for the data's density p (mass 1 on the lattice, which spans the data) and G's q.

        G's samples may leave the lattice; there p is ~0, so the mass of q off the lattice adds
        (1/2) log 2 per unit (the JSD of disjoint parts), instead of being dropped.
        """
        log_p = self._log_p_unit
        outside = max(0.0, 1.0 - math.exp(self._log_integral(log_q)))
        if self.dim == 1:
            value = jsd_quadrature(log_p, log_q, self.axes[0])
        else:
            rows = jsd_quadrature(log_p.reshape(self.grid, self.grid), log_q.reshape(self.grid, self.grid),
                                  self.axes[0])
            value = integrate(rows, self.axes[1])
        return float((value + 0.5 * math.log(2) * outside).clamp(0.0, math.log(2)))

    def frame(self, G: torch.nn.Module, D: torch.nn.Module, objective) -> dict:
        """The views of players G and D (copies of the training ones: ``Session``) under ``objective``."""
        objective = dataclasses.replace(objective, noise=0.0, augment=(), rng=torch.Generator())
        with _evaluating(G, D), torch.no_grad():
            d_map = torch.sigmoid(discriminate(D, self._d_points, self._d_clusters).float().cpu())  # D's logit per point
            fake_kde = G(self._z_kde).float()
            manifold = G(self._z_lattice_dev).float().cpu()
        with _evaluating(G, D):
            fake = fake_kde[:SAMPLES].clone().requires_grad_(True)  # the drawn samples: G(z) for the first z
            logits = discriminate(D, fake, self._z_codes).float()
            cost = objective.g_loss(logits) * len(logits)  # the sum: each sample's own gradient
            (grad,) = torch.autograd.grad(cost, fake)
        fake_kde = fake_kde.cpu()
        log_p_g = binned_kde(fake_kde, self.axes, self.h).clamp_min(1e-30).log()
        d_star = torch.sigmoid(optimal_logit(self.log_p_data, log_p_g))
        # Where neither distribution has mass D* is 0/0: drawn as 1/2 (neither side), not as the
        # ratio of two tails that no sample reaches.
        mass = torch.logaddexp(self.log_p_data, log_p_g)
        d_star = torch.where(mass < self._no_mass, 0.5, d_star)
        now = {"jsd": self._jsd(log_p_g), "modes": None, "hq": None}
        if self.mixture is not None:
            count = mixture_modes(fake_kde, self.mixture.modes, self.mixture.sd)
            now.update(modes=count.modes, total=count.total, hq=count.hq_fraction)
        out = {"dim": self.dim, "lo": self.lo, "hi": self.hi, "grid": self.grid, "h": self.h, "now": now,
               **self._fixed, "fake": _round(fake), "arrows": _round(-grad, 5),
               "manifold": _round(manifold), "manifold_shape": [len(self.z_lattice)] if G.z_dim == 1 else [17, 17]}
        if self.dim == 2:
            out.update(d=_encode(d_map), d_star=_encode(d_star))
        else:
            out.update(d=_round(d_map), d_star=_round(d_star), p_g=_round(log_p_g.exp()))
        return out
