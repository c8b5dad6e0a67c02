import math

import pytest
import torch
from torch.testing import assert_close

from gankit.data import load_dataset
from gankit.models.mlp import MLPDiscriminator
from gankit.theory import mode_collapse as mc


def f64(v):
    return torch.tensor(v, dtype=torch.float64)


def test_modes_covered_uses_three_sd_and_the_nearest_mode():
    ring = load_dataset("ring8")
    sd = ring.sd
    m = ring.modes
    samples = torch.stack([
        m[0], m[0] + torch.tensor([2.9 * sd, 0.0]),  # two high-quality samples of mode 0
        m[3] + torch.tensor([0.0, -2.9 * sd]),  # one of mode 3
        m[5] + torch.tensor([3.1 * sd, 0.0]),  # just outside: mode 5 is not covered
        torch.tensor([0.0, 0.0]),  # the centre of the ring: nearest to a mode, but far
    ])
    covered, hq = mc._modes_covered(samples, m, sd)
    assert covered == 2
    assert hq == pytest.approx(3 / 5, abs=1e-12)


def test_half_coverage_divergences_have_closed_forms():
    ring = load_dataset("ring8")
    gens = mc.fixed_generators(ring)
    w_data = gens["data"][0]
    half = mc.separated_mixture_divergences(w_data, ring.sd, *gens["half"])
    # covered modes: p_r = 1/8, p_g = 1/4 -> D* = 1/3; missing modes: p_g = 0
    assert_close(f64(half["jsd"]), f64(0.75 * math.log(4 / 3)), atol=1e-7, rtol=0)
    assert_close(f64(half["nonsaturating"]), f64(math.log(3.0)), atol=1e-7, rtol=0)
    assert_close(f64(half["minimax"]), f64(math.log(2 / 3)), atol=1e-7, rtol=0)
    assert_close(f64(half["value"]), f64(-math.log(4.0) + 1.5 * math.log(4 / 3)), atol=1e-7, rtol=0)
    perfect = mc.separated_mixture_divergences(w_data, ring.sd, *gens["data"])
    assert_close(f64(perfect["jsd"]), f64(0.0), atol=1e-9, rtol=0)
    assert_close(f64(perfect["nonsaturating"]), f64(math.log(2.0)), atol=1e-7, rtol=0)
    # a single mode: p_g = 1 there -> D* = (1/8) / (1/8 + 1) = 1/9
    one = torch.zeros(8, dtype=torch.float64)
    one[0] = 1.0
    single = mc.separated_mixture_divergences(w_data, ring.sd, one, ring.sd)
    jsd_single = 0.5 * (math.log(16 / 9) + 0.125 * math.log(2 / 9) + 0.875 * math.log(2.0))
    assert_close(f64(single["jsd"]), f64(jsd_single), atol=1e-7, rtol=0)
    assert_close(f64(single["nonsaturating"]), f64(math.log(9.0)), atol=1e-7, rtol=0)


def test_half_has_lower_jsd_than_the_blurred_generator_that_covers_everything():
    ring = load_dataset("ring8")
    gens = mc.fixed_generators(ring)
    w = gens["data"][0]
    half = mc.separated_mixture_divergences(w, ring.sd, *gens["half"])["jsd"]
    blurred = mc.separated_mixture_divergences(w, ring.sd, *gens["blurred"])["jsd"]
    # blurred, per mode: JSD(N(0, s²I), N(0, 9s²I)) in 2D, by an independent 2D grid quadrature
    s = ring.sd
    ax = torch.linspace(-15 * s, 15 * s, 1501, dtype=torch.float64)
    X, Y = torch.meshgrid(ax, ax, indexing="ij")
    r2 = X**2 + Y**2
    p = torch.exp(-r2 / (2 * s * s)) / (2 * math.pi * s * s)
    q = torch.exp(-r2 / (18 * s * s)) / (18 * math.pi * s * s)
    m = 0.5 * (p + q)
    f = 0.5 * (p * torch.log(p / m) + q * torch.log(q / m))
    ref = torch.trapezoid(torch.trapezoid(f, ax), ax)
    assert_close(f64(blurred), ref, rtol=1e-4, atol=0)
    assert half < blurred


def test_fixed_d_costs_reward_dropping_modes():
    torch.manual_seed(0)
    D = MLPDiscriminator(2, hidden=16, depth=2)
    ring = load_dataset("ring8")
    c = mc.fixed_d_costs(D, ring, seed=0, per_mode=50, grid_size=41)
    per_mode = c["per_mode_cost"]
    assert_close(f64(c["all_modes"]), per_mode.mean())
    assert_close(f64(c["half"]), per_mode.sort().values[:4].mean())
    assert_close(f64(c["one_mode"]), per_mode.min())
    assert c["point_mass"] <= c["one_mode"] <= c["half"] <= c["all_modes"]
    with torch.no_grad():
        at = torch.nn.functional.softplus(-D(c["argmax"].unsqueeze(0))).double()
    assert_close(at[0], f64(c["point_mass"]))


def test_a_trained_d_sees_the_missing_modes():
    ring = load_dataset("ring8")
    gens = mc.fixed_generators(ring)
    r = mc.train_d_against(ring, *gens["half"], seed=0, steps=400)
    assert_close(f64(r["jsd_estimate"]), f64(0.75 * math.log(4 / 3)), atol=0.03, rtol=0)
    assert_close(f64(r["nonsaturating"]), f64(math.log(3.0)), atol=0.05, rtol=0)


def test_train_run_records_curves_and_snapshots():
    rec = mc.train_run("ring8", "nonsaturating", seed=0, steps=20, every=10, snapshot_steps=(0, 20))
    assert rec.eval_steps == [0, 10, 20]
    assert len(rec.modes) == 3 and len(rec.g_loss) == 2 and len(rec.d_loss) == 2
    assert set(rec.snapshots) == {0, 20} and rec.snapshots[20].shape == (1000, 2)
    assert all(0 <= k <= 8 for k in rec.modes)


def test_uniform_noise_covers_modes_by_chance_as_poisson_predicts():
    # expected covered fraction 1 - exp(-N * area(3 sd disc) / area(square)), modes well inside
    grid = load_dataset("grid25")
    covered, hq = mc.uniform_baseline(grid, seed=0)
    lam = mc.N_EVAL * math.pi * (3 * grid.sd) ** 2 / 12.0**2
    assert covered == pytest.approx(25 * (1 - math.exp(-lam)), abs=3.5)
    assert hq == pytest.approx(25 * math.pi * (3 * grid.sd) ** 2 / 12.0**2, abs=0.007)
