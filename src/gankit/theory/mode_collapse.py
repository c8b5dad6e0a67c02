"""Mode collapse on the PacGAN mixtures, and why the GAN loss does not see it.

Part 1 trains the small MLP pair (``gankit.models.mlp``) with Algorithm 1
(``gankit.train.train_step``) on ring8 and grid25 with each generator cost (minimax,
non-saturating, maximum likelihood), and records sample snapshots and the number of modes
covered over time, by the definitions of VEEGAN / PacGAN (Lin et al. 2018, section 5): a
sample is *high quality* when it lies within 3 standard deviations of its nearest mode, and a
mode is *covered* when it is the nearest mode of at least one high-quality sample.

Part 2 is the coverage failure: a generator that covers only half the modes can still
reach a low loss.

(a) Against a fixed discriminator. The generator's cost E_z[-log D(G(z))] is evaluated only
    where G puts its samples; nothing in it counts the modes G misses. So against any D
    (here the final D of the ring8 run) the generator that keeps only the half of the modes D
    scores highest has a cost no larger than the data itself, one mode does better still, and
    the point mass at argmax D best of all: the best response to a fixed D is collapse
    (Goodfellow 2016, NIPS tutorial, section 5.1.1, "mode collapse").

(b) Against the optimal discriminator. The generator's loss is V(G, D*) = -log 4 + 2 JSD
    (Goodfellow et al. 2014, Theorem 1). On ring8 (8 modes, sd 0.01, far apart) ``half``
    puts the data's components on every other mode (4 of 8, weight 1/4 each): its JSD is
    exactly 3/4 log(4/3) ≈ 0.216 (D* = 1/3 on its samples, so its non-saturating cost is
    log 3), *lower* than the 0.326 of ``blurred``, which covers all 8 modes with components
    3x wider than the data's. The objective prefers dropping half the modes to being slightly
    imprecise on all of them. (A small trained D, in turn, cannot resolve the blur at all and
    sees only the missing modes; both numbers are reported.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from gankit.data import Batches, load_dataset
from gankit.data.toy import GaussianMixture2D
from gankit.losses import GENERATOR_COSTS, discriminator_loss
from gankit.objectives import Objective
from gankit.models.mlp import MLPDiscriminator, MLPGenerator
from gankit.theory import _common
from gankit.train import train_step

HQ_SDS = 3.0  # a sample is high quality within 3 sd of its nearest mode (VEEGAN, PacGAN)
N_EVAL = 2500  # samples per mode count (PacGAN's 2D experiments)


def _modes_covered(samples: torch.Tensor, modes: torch.Tensor, sd: float) -> tuple[int, float]:
    """Modes covered and the fraction of high-quality samples (VEEGAN / PacGAN definitions).

    A private helper of this demo (``gankit.metrics.modes`` has the library's version).

    Args:
        samples: generated points, shape (N, 2).
        modes: the mixture's centres, shape (K, 2).
        sd: the components' standard deviation.

    Returns:
        (number of modes that are the nearest mode of >= 1 high-quality sample, fraction of
        samples within 3 sd of their nearest mode).
    """
    dist = torch.cdist(samples.double(), modes.double())
    nearest_dist, nearest = dist.min(dim=1)
    hq = nearest_dist < HQ_SDS * sd
    return int(torch.unique(nearest[hq]).numel()), float(hq.double().mean())


def uniform_baseline(data: GaussianMixture2D, seed: int) -> tuple[int, float]:
    """``_modes_covered`` for N_EVAL samples drawn uniformly on the plots' square.

    The reference the mode counts must beat: one high-quality sample suffices to cover a
    mode, so a structureless cloud already "covers" many of them by chance.
    """
    lim = float(data.modes.abs().max()) * 1.5
    gen = torch.Generator().manual_seed(seed + 5)
    x = (torch.rand(N_EVAL, 2, generator=gen) * 2 - 1) * lim
    return _modes_covered(x, data.modes, data.sd)


# ---------------------------------------------------------------------------------------
# Part 2: exact divergences for isotropic 2D mixtures with shared, well-separated centres.


def _radial_log_pdf(r: torch.Tensor, sd: float) -> torch.Tensor:
    """log N(x; c, sd² I) in 2D as a function of r = |x - c|."""
    return -0.5 * (r / sd) ** 2 - math.log(2 * math.pi * sd * sd)


def separated_mixture_divergences(
    weights_r: torch.Tensor, sd_r: float, weights_g: torch.Tensor, sd_g: float, n: int = 200_001
) -> dict[str, float]:
    """JSD and the generator costs under D* for two 2D mixtures on the same, far-apart centres.

    p_r = Σ_k w_r[k] N(c_k, sd_r² I) and p_g = Σ_k w_g[k] N(c_k, sd_g² I). When the
    components do not overlap (ring8: neighbours are 76 data sds apart) every integral splits
    into one radial integral per mode, ∫ f(r) 2πr dr, done here by quadrature.

    Returns:
        ``jsd`` = JSD(p_r || p_g); ``value`` = V(G, D*) = -log 4 + 2 JSD (Theorem 1);
        ``nonsaturating`` = E_g[-log D*]; ``minimax`` = E_g[log(1 - D*)].
    """
    r = torch.linspace(0.0, 12 * max(sd_r, sd_g), n, dtype=torch.float64)
    area = 2 * math.pi * r
    jsd = ns = mm = 0.0
    for wr, wg in zip(weights_r.tolist(), weights_g.tolist()):
        if wr == 0 and wg == 0:
            continue
        if wg == 0:  # a dropped mode: p_g = 0 there, m = p_r / 2
            jsd += 0.5 * wr * math.log(2.0)
            continue
        log_g = math.log(wg) + _radial_log_pdf(r, sd_g)
        if wr == 0:  # samples where there is no data: D* = 0, so -log D* = inf and log(1 - D*) = 0
            jsd += 0.5 * wg * math.log(2.0)
            ns = math.inf
            continue
        log_r = math.log(wr) + _radial_log_pdf(r, sd_r)
        log_m = torch.logaddexp(log_r, log_g) - math.log(2.0)
        kl_terms = torch.exp(log_r) * (log_r - log_m) + torch.exp(log_g) * (log_g - log_m)
        jsd += 0.5 * float(torch.trapezoid(kl_terms * area, r))
        logit = log_r - log_g  # the logit of D* = p_r / (p_r + p_g)
        ns += float(torch.trapezoid(torch.exp(log_g) * F.softplus(-logit) * area, r))
        mm += float(torch.trapezoid(torch.exp(log_g) * -F.softplus(logit) * area, r))
    return {"jsd": jsd, "value": -math.log(4.0) + 2 * jsd, "nonsaturating": ns, "minimax": mm}


def fixed_generators(data: GaussianMixture2D) -> dict[str, tuple[torch.Tensor, float]]:
    """The fixed generators of part 2 as (mode weights (K,), component sd)."""
    k = len(data.modes)
    half = torch.zeros(k, dtype=torch.float64)
    half[::2] = 2.0 / k
    return {
        "data": (torch.full((k,), 1.0 / k, dtype=torch.float64), data.sd),
        "half": (half, data.sd),
        "blurred": (torch.full((k,), 1.0 / k, dtype=torch.float64), 3 * data.sd),
    }


def sample_mixture(modes: torch.Tensor, weights: torch.Tensor, sd: float, n: int, gen: torch.Generator) -> torch.Tensor:
    """n samples of Σ_k w_k N(modes_k, sd² I), shape (n, 2), float32."""
    k = torch.multinomial(weights, n, replacement=True, generator=gen)
    return modes[k].float() + sd * torch.randn(n, modes.shape[1], generator=gen)


def train_d_against(
    data: GaussianMixture2D, weights: torch.Tensor, sd: float, seed: int, steps: int = 600, m: int = 256,
    hidden: int = 64, depth: int = 3, lr: float = 2e-3,
) -> dict[str, float]:
    """Train the demo's MLP D against a fixed mixture "generator"; report what the losses say.

    Returns:
        ``d_loss`` and the three generator costs, averaged over the last 100 steps' fresh
        minibatches (the numbers a training log would show), and ``jsd_estimate`` =
        (log 4 - d_loss)/2, the JSD that D's loss implies if D were optimal.
    """
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed + 1)
    D = MLPDiscriminator(2, hidden=hidden, depth=depth)
    opt = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999))
    batches = Batches(data, m, seed)
    log: dict[str, list[float]] = {"d_loss": [], **{name: [] for name in GENERATOR_COSTS}}
    for step in range(steps):
        real, _ = batches.next()
        fake = sample_mixture(data.modes, weights, sd, m, gen)
        real_logits, fake_logits = D(real), D(fake)
        loss = discriminator_loss(real_logits, fake_logits)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step >= steps - 100:
            log["d_loss"].append(loss.item())
            for name, cost in GENERATOR_COSTS.items():
                log[name].append(cost(fake_logits.detach()).item())
    out = {key: sum(v) / len(v) for key, v in log.items()}
    out["jsd_estimate"] = (math.log(4.0) - out["d_loss"]) / 2
    return out


def fixed_d_costs(
    D: torch.nn.Module, data: GaussianMixture2D, seed: int, per_mode: int = 500, grid_size: int = 201
) -> dict:
    """Non-saturating generator costs E[-log D(x)] against a fixed D for generators that drop modes.

    The data's modes are sampled ``per_mode`` times each (stratified, so each mode has weight
    exactly 1/K). Per-mode mean costs are sorted; ``half`` keeps the K/2 modes with the lowest
    cost, ``one_mode`` the lowest, and ``point_mass`` is the smallest -log D over a grid
    covering the data and over all the samples. By construction
    point_mass <= one_mode <= half <= all_modes, whatever D is.

    Returns:
        ``all_modes``, ``half``, ``one_mode``, ``point_mass`` (floats), ``half_modes`` (the
        kept mode indices), ``argmax`` (the point mass's location, (2,)) and
        ``per_mode_cost`` (K,).
    """
    gen = torch.Generator().manual_seed(seed + 4)
    k = len(data.modes)
    x = data.modes.repeat_interleave(per_mode, dim=0) + data.sd * torch.randn(k * per_mode, 2, generator=gen)
    lim = float(data.modes.abs().max()) * 1.5
    axis = torch.linspace(-lim, lim, grid_size)
    grid_pts = torch.cartesian_prod(axis, axis)
    with torch.no_grad():
        cost_x = F.softplus(-D(x)).double()  # -log D(x) = softplus(-logit)
        cost_grid = F.softplus(-D(grid_pts)).double()
    per_mode_cost = cost_x.view(k, per_mode).mean(dim=1)
    order = torch.argsort(per_mode_cost)
    candidates = torch.cat([cost_grid, cost_x])
    best = int(torch.argmin(candidates))
    where = torch.cat([grid_pts, x])[best]
    return {
        "all_modes": float(per_mode_cost.mean()),
        "half": float(per_mode_cost[order[: k // 2]].mean()),
        "one_mode": float(per_mode_cost[order[0]]),
        "point_mass": float(candidates[best]),
        "half_modes": sorted(order[: k // 2].tolist()),
        "argmax": where,
        "per_mode_cost": per_mode_cost,
    }


# ---------------------------------------------------------------------------------------
# Part 1: training runs.


@dataclass
class RunRecord:
    """One training run: snapshots of samples and the curves over steps."""

    dataset: str
    cost: str
    eval_steps: list[int] = field(default_factory=list)
    modes: list[int] = field(default_factory=list)
    hq: list[float] = field(default_factory=list)
    g_loss: list[float] = field(default_factory=list)
    d_loss: list[float] = field(default_factory=list)
    snapshots: dict[int, torch.Tensor] = field(default_factory=dict)  # step -> samples (1000, 2)
    snapshot_modes: dict[int, int] = field(default_factory=dict)  # step -> modes covered (all N_EVAL samples)
    G: torch.nn.Module | None = None  # the players after the last step
    D: torch.nn.Module | None = None


def train_run(
    dataset: str, cost: str, seed: int, steps: int = 1000, every: int = 100, snapshot_steps: tuple[int, ...] = (),
    m: int = 128, hidden: int = 64, depth: int = 3, lr: float = 2e-3,
) -> RunRecord:
    """Train the MLP pair on ``dataset`` with the generator cost ``cost`` by Algorithm 1 (k = 1).

    Adam(lr, betas=(0.5, 0.999)) for both players, as in DCGAN and PacGAN's 2D experiments.
    Every ``every`` steps the modes covered by N_EVAL samples from fixed noise are counted;
    the losses logged are those of that step.
    """
    data = load_dataset(dataset)
    torch.manual_seed(seed)
    G, D = MLPGenerator(2, 2, hidden=hidden, depth=depth), MLPDiscriminator(2, hidden=hidden, depth=depth)
    opt_G = torch.optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_D = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999))
    batches = Batches(data, m, seed)
    noise = torch.Generator().manual_seed(seed + 1)
    z_eval = torch.randn(N_EVAL, 2, generator=torch.Generator().manual_seed(seed + 2))
    rec = RunRecord(dataset, cost)

    def record(step: int) -> None:
        if step % every and step not in snapshot_steps:
            return
        with torch.no_grad():
            x = G(z_eval)
        if step % every == 0:
            covered, hq = _modes_covered(x, data.modes, data.sd)
            rec.eval_steps.append(step)
            rec.modes.append(covered)
            rec.hq.append(hq)
        if step in snapshot_steps:
            rec.snapshots[step] = x[:1000].clone()
            rec.snapshot_modes[step] = _modes_covered(x, data.modes, data.sd)[0]

    game = Objective(g_loss=GENERATOR_COSTS[cost])
    record(0)
    for step in range(1, steps + 1):
        stats = train_step(G, D, opt_G, opt_D, batches, k=1, objective=game, noise=noise)
        if step % every == 0:
            rec.g_loss.append(stats.g_loss)
            rec.d_loss.append(stats.d_loss)
        record(step)
    rec.G, rec.D = G, D
    return rec


# ---------------------------------------------------------------------------------------
# Figures.

_COST_LABELS = {"minimax": "minimax", "nonsaturating": "non-saturating", "maximum_likelihood": "max. likelihood"}


def _plot_snapshots(runs: list[RunRecord], data: GaussianMixture2D, steps: tuple[int, ...], out: Path) -> None:
    fig = _common.figure(2.3 * len(steps), 2.3 * len(runs) + 0.3)
    axes = fig.subplots(len(runs), len(steps), squeeze=False)
    lim = float(data.modes.abs().max()) * 1.5
    for i, rec in enumerate(runs):
        for j, s in enumerate(steps):
            ax = axes[i, j]
            x = rec.snapshots[s]
            ax.scatter(x[:, 0], x[:, 1], s=1, color="C0", alpha=0.4)
            ax.scatter(data.modes[:, 0], data.modes[:, 1], s=12, marker="+", color="C3", lw=1)
            ax.set_xlim(-lim, lim)
            ax.set_ylim(-lim, lim)
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
            covered = rec.snapshot_modes[s]
            ax.set_title(f"step {s}: {covered}/{len(data.modes)} modes", fontsize=8)
            if j == 0:
                ax.set_ylabel(_COST_LABELS[rec.cost], fontsize=9)
    fig.suptitle(f"{data.name}: generated samples (blue), the data's modes (red +); a sample counts when it is"
                 f" within 3 sd = {HQ_SDS * data.sd:g} of a mode", fontsize=9)
    _common.save(fig, out)


def _plot_curves(runs: list[RunRecord], baselines: dict[str, tuple[int, float]], out: Path) -> None:
    datasets = sorted({r.dataset for r in runs}, key=lambda n: ["ring8", "grid25"].index(n))
    fig = _common.figure(11, 8.5)
    axes = fig.subplots(3, len(datasets), squeeze=False)
    for j, name in enumerate(datasets):
        total = len(load_dataset(name).modes)
        for i, rec in enumerate(r for r in runs if r.dataset == name):
            axes[0, j].plot(rec.eval_steps, rec.modes, color=f"C{i}", label=_COST_LABELS[rec.cost])
            axes[2, j].plot(rec.eval_steps, rec.hq, color=f"C{i}", label=_COST_LABELS[rec.cost])
            axes[1, j].plot(rec.eval_steps[1:], rec.g_loss, color=f"C{i}", label=f"G cost ({_COST_LABELS[rec.cost]})")
            axes[1, j].plot(rec.eval_steps[1:], rec.d_loss, color=f"C{i}", ls=":", lw=1)
        axes[0, j].axhline(total, color="0.6", ls="--", lw=1)
        axes[0, j].axhline(baselines[name][0], color="k", ls=":", lw=1, label="uniform noise on the square")
        axes[0, j].set_ylim(0, total + 1)
        axes[0, j].set_ylabel("modes covered")
        axes[0, j].set_title(f"{name}: modes covered (of {total})", fontsize=9)
        axes[0, j].legend(fontsize=7)
        axes[2, j].set_xlabel("step")
        axes[2, j].set_ylabel("high-quality fraction")
        axes[2, j].set_ylim(0, 1)
        axes[2, j].set_title(f"{name}: samples within 3 sd of a mode", fontsize=9)
        axes[2, j].legend(fontsize=7)
        axes[1, j].set_ylabel("loss")
        axes[1, j].set_title(f"{name}: G cost (solid) and D loss (dotted)", fontsize=9)
        axes[1, j].legend(fontsize=7)
    _common.save(fig, out)


def _plot_failure(data: GaussianMixture2D, D: torch.nn.Module, fixed: dict, gens: dict, exact: dict,
                  trained: dict, seed: int, out: Path) -> None:
    fig = _common.figure(13, 8)
    gs = fig.add_gridspec(2, 6)
    # (a) the fixed D's landscape and the modes a collapsing generator would keep
    ax = fig.add_subplot(gs[0, :3])
    axis = torch.linspace(-1.5, 1.5, 151)
    pts = torch.cartesian_prod(axis, axis)
    with torch.no_grad():
        dval = torch.sigmoid(D(pts)).view(151, 151)
    im = ax.imshow(dval.T.numpy(), origin="lower", extent=(-1.5, 1.5, -1.5, 1.5), cmap="viridis", vmin=0, vmax=1)
    fig.colorbar(im, ax=ax, label="D(x)", shrink=0.85)
    ax.scatter(data.modes[:, 0], data.modes[:, 1], s=50, facecolors="none", edgecolors="w", lw=1, label="data modes")
    kept = data.modes[fixed["half_modes"]]
    ax.scatter(kept[:, 0], kept[:, 1], s=90, facecolors="none", edgecolors="C3", lw=2, label="D's favourite half")
    ax.plot(*fixed["argmax"].tolist(), "*", color="C1", ms=14, label="argmax D")
    ax.set_aspect("equal")
    ax.legend(fontsize=7, loc="lower left")
    ax.set_title("(a) the final D of the ring8 run (non-saturating), held fixed", fontsize=9)
    ax = fig.add_subplot(gs[0, 3:])
    labels = ["all 8 modes\n(the data)", "D's favourite\n4 modes", "D's favourite\nmode", "point mass\nat argmax D"]
    values = [fixed["all_modes"], fixed["half"], fixed["one_mode"], fixed["point_mass"]]
    ax.bar(range(4), values, color=["C0", "C3", "C3", "C1"])
    for i, v in enumerate(values):
        ax.text(i, v, f"{v:.3f}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(4), labels, fontsize=8)
    ax.set_ylabel("G's cost E[−log D(G(z))]")
    ax.set_title("(a) against a fixed D, dropping modes lowers G's cost", fontsize=9)
    # (b) the optimal D: exact JSD of the half and the blurred generator
    gen = torch.Generator().manual_seed(seed + 3)
    titles = {"half": "'half': 4/8 modes, sharp", "blurred": "'blurred': 8/8 modes, sd × 3"}
    for j, name in enumerate(("half", "blurred")):
        ax = fig.add_subplot(gs[1, 2 * j: 2 * j + 2])
        w, sd = gens[name]
        x = sample_mixture(data.modes, w, sd, N_EVAL, gen)
        covered, hq = _modes_covered(x, data.modes, data.sd)
        ax.scatter(x[:, 0], x[:, 1], s=1, color="C0", alpha=0.5)
        ax.scatter(data.modes[:, 0], data.modes[:, 1], s=40, facecolors="none", edgecolors="C3", lw=1)
        ax.set_aspect("equal")
        ax.set_xlim(-1.3, 1.3)
        ax.set_ylim(-1.3, 1.3)
        ax.set_title(f"(b) {titles[name]}\ncovered {covered}/8, high quality {100 * hq:.0f}%", fontsize=8)
    ax = fig.add_subplot(gs[1, 4:])
    names = ["half", "blurred"]
    width = 0.38
    ax.bar([i - width / 2 for i in range(2)], [exact[n]["jsd"] for n in names], width, color="C0",
           label="exact, optimal D: JSD")
    ax.bar([i + width / 2 for i in range(2)], [trained[n]["jsd_estimate"] for n in names], width, color="C1",
           label="trained MLP D: (log 4 − D loss)/2")
    for i, n in enumerate(names):
        ax.text(i - width / 2, exact[n]["jsd"], f"{exact[n]['jsd']:.3f}", ha="center", va="bottom", fontsize=8)
        ax.text(i + width / 2, trained[n]["jsd_estimate"], f"{trained[n]['jsd_estimate']:.3f}", ha="center",
                va="bottom", fontsize=8)
    ax.axhline(math.log(2.0), color="C3", ls="--", lw=1, label="log 2 (disjoint)")
    ax.set_xticks(range(2), names)
    ax.set_ylim(0, 0.75)
    ax.set_ylabel("JSD(p_data ‖ p_g)")
    ax.set_title("(b) V(G, D*) = −log 4 + 2 JSD prefers 'half'", fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    _common.save(fig, out)


def run(out_dir: Path, seed: int = 0, steps: int = 1000) -> dict:
    """Train 2 data sets x 3 costs and the fixed-generator study; write the figures and ``numbers.json``.

    Figures: ``mode_collapse_ring8.png`` and ``mode_collapse_grid25.png`` (snapshots),
    ``mode_collapse_curves.png`` (modes covered and losses), ``mode_collapse_failure.png``.
    """
    out = _common.prepare(out_dir)
    snap = (0, steps // 5, steps // 2, steps)
    runs = [train_run(d, c, seed, steps=steps, snapshot_steps=snap) for d in ("ring8", "grid25") for c in GENERATOR_COSTS]
    numbers: dict = {"seed": seed, "steps": steps, "runs": {}}
    for rec in runs:
        numbers["runs"][f"{rec.dataset}/{rec.cost}"] = {
            "final_modes": rec.modes[-1],
            "max_modes": max(rec.modes),
            "final_hq_fraction": rec.hq[-1],
            "final_g_loss": rec.g_loss[-1],
            "final_d_loss": rec.d_loss[-1],
            "modes_every_100_steps": rec.modes,
            "hq_fraction_every_100_steps": rec.hq,
        }
    for name in ("ring8", "grid25"):
        data = load_dataset(name)
        _plot_snapshots([r for r in runs if r.dataset == name], data, snap, out / f"mode_collapse_{name}.png")
    baselines = {name: uniform_baseline(load_dataset(name), seed) for name in ("ring8", "grid25")}
    numbers["uniform_noise_baseline"] = {name: {"modes": b[0], "hq_fraction": b[1]} for name, b in baselines.items()}
    _plot_curves(runs, baselines, out / "mode_collapse_curves.png")
    ring = load_dataset("ring8")
    gens = fixed_generators(ring)
    exact = {n: separated_mixture_divergences(gens["data"][0], ring.sd, w, sd) for n, (w, sd) in gens.items()}
    trained = {n: train_d_against(ring, *gens[n], seed) for n in ("half", "blurred")}
    D_final = next(r.D for r in runs if r.dataset == "ring8" and r.cost == "nonsaturating")
    fixed = fixed_d_costs(D_final, ring, seed)
    numbers["coverage_failure"] = {
        "fixed_D_nonsaturating_cost": {key: v for key, v in fixed.items()},
        "optimal_D_exact": exact,
        "trained_D": trained,
        "half_closed_form": {"jsd": 0.75 * math.log(4 / 3), "nonsaturating": math.log(3.0), "minimax": math.log(2 / 3)},
    }
    _plot_failure(ring, D_final, fixed, gens, exact, trained, seed, out / "mode_collapse_failure.png")
    return _common.write_numbers(out, numbers)
