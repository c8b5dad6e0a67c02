import copy
import json

import pytest
import torch
from torch.testing import assert_close

from gankit import GankitError, config
from gankit.averaging import ema_update, standing_statistics
from gankit.data import Batches, TensorData
from gankit.loop import fit
from gankit.train import Trainer, discriminator_step, generator_step, train_step


def tiny(preset="ring8", **over):
    base = {"model.width": 16, "model.depth": 2, "data.batch_size": 32, "train.steps": 20,
            "log.every": 5, "log.sample_every": 10, "log.checkpoint_every": 10, "log.grid": 64}
    return config.resolve(preset, {**base, **over})


def params(module):
    return [p.detach().clone() for p in module.parameters()]


def assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert torch.equal(x, y)


def assert_changed(a, b):
    assert any(not torch.equal(x, y) for x, y in zip(a, b))


def test_discriminator_step_leaves_generator_bit_identical():
    t = Trainer(tiny())
    g0, d0 = params(t.G), params(t.D)
    real, _ = t.batches.next()
    discriminator_step(t.G, t.D, t.opt_D, real, t.noise, objective=t.objective)
    assert_same(params(t.G), g0)
    assert_changed(params(t.D), d0)


def test_generator_step_leaves_discriminator_bit_identical():
    t = Trainer(tiny())
    g0, d0 = params(t.G), params(t.D)
    generator_step(t.G, t.D, t.opt_G, 32, t.noise, objective=t.objective)
    assert_same(params(t.D), d0)
    assert_changed(params(t.G), g0)
    assert all(p.requires_grad for p in t.D.parameters())  # unfrozen afterwards


class CountingBatches(Batches):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.calls = 0

    def next(self):
        self.calls += 1
        return super().next()


@pytest.mark.parametrize("k", [1, 3])
def test_k_discriminator_updates_on_fresh_minibatches_per_generator_update(k):
    t = Trainer(tiny(**{"train.k": k}))
    batches = CountingBatches(t.data, 32, seed=0)
    d_steps, g_steps = [], []
    t.opt_D.register_step_post_hook(lambda *a: d_steps.append(1))
    t.opt_G.register_step_post_hook(lambda *a: g_steps.append(1))
    for _ in range(4):
        train_step(t.G, t.D, t.opt_G, t.opt_D, batches, k=k, objective=t.objective, noise=t.noise)
    assert (len(d_steps), len(g_steps), batches.calls) == (4 * k, 4, 4 * k)


def test_finite_data_minibatches_are_fresh_and_cover_an_epoch():
    x = torch.arange(10, dtype=torch.float32).view(10, 1)
    b = Batches(TensorData(x), m=3, seed=0)
    seen = torch.cat([b.next()[0] for _ in range(3)]).flatten()
    assert len(set(seen.tolist())) == 9  # an epoch: no repeats, last incomplete batch dropped
    assert (b.epoch, b.pos) == (0, 9)
    b.next()
    assert (b.epoch, b.pos) == (1, 3)


def test_batches_state_restores_the_same_stream():
    x = torch.randn(50, 2)
    a = Batches(TensorData(x), m=8, seed=3)
    for _ in range(9):
        a.next()
    b = Batches(TensorData(x), m=8, seed=3)
    b.load_state_dict(copy.deepcopy(a.state_dict()))
    for _ in range(10):
        assert torch.equal(a.next()[0], b.next()[0])


def test_step_stats_are_probabilities_and_losses_match_their_definitions():
    t = Trainer(tiny())
    s = t.train_step()
    assert 0 < s.d_real < 1 and 0 < s.d_fake < 1
    assert s.d_loss > 0 and s.g_loss > 0


def run_steps(cfg, n):
    t = Trainer(cfg)
    for _ in range(n):
        t.train_step()
    return t


# Every remedy on at once: penalties, smoothing, packing, minibatch stddev, spectral norm (its
# power-iteration buffers), instance noise and DiffAugment (the objective's random stream) and the
# weight average.
ALL_TOY_REMEDIES = {"train.gp": 1.0, "train.r1": 1.0, "train.label_smoothing": 0.1, "model.pack": 2,
                    "model.mbstd": 4, "model.spectral_norm": True, "train.ema": 0.9, "model.clusters": 0,
                    "train.instance_noise": 0.2, "train.instance_noise_steps": 5}
ALL_IMAGE_REMEDIES = {**ALL_TOY_REMEDIES, "train.augment": "translation,cutout,color"}
# Self-conditioning refuses packs (a pack would mix clusters): every other remedy with it.
SELF_CONDITIONED_TOY = {**ALL_TOY_REMEDIES, "model.pack": 1, "model.clusters": 5}
SELF_CONDITIONED_IMAGE = {**ALL_IMAGE_REMEDIES, "model.pack": 1, "model.clusters": 5}


@pytest.mark.parametrize("preset, over", [
    ("ring8", {}),
    ("mnist-mlp", {"data.batch_size": 8}),  # maxout + dropout: the global RNG matters
    ("mnist-mlp", {"data.batch_size": 8, "train.optimizer": "adam"}),  # the same nets with Adam
    ("mnist5k-dcgan", {"model.width": 4, "data.batch_size": 8}),  # BatchNorm buffers
    ("ring8", ALL_TOY_REMEDIES),
    ("ring8", {"train.loss": "wgan", "train.gp": 10.0}),
    ("mnist5k-dcgan", {"model.width": 4, "data.batch_size": 8, **ALL_IMAGE_REMEDIES}),
    ("ring8", SELF_CONDITIONED_TOY),
    ("mnist5k-dcgan", {"model.width": 4, "data.batch_size": 8, **SELF_CONDITIONED_IMAGE}),
    ("mnist5k-acgan", {"model.width": 4, "data.batch_size": 8, "train.loss": "hinge", "train.gp": 1.0,
                       "train.r1": 1.0, "model.spectral_norm": True, "model.mbstd": 4, "train.augment": "color"}),
])
def test_two_seeded_runs_are_bit_identical(preset, over):
    cfg = tiny(preset, **over) if preset == "ring8" else config.resolve(preset, over)
    a, b = run_steps(cfg, 3), run_steps(cfg, 3)
    for x, y in zip(a.G.state_dict().values(), b.G.state_dict().values()):
        assert torch.equal(x, y)
    for x, y in zip(a.D.state_dict().values(), b.D.state_dict().values()):
        assert torch.equal(x, y)
    c = run_steps(config.apply(cfg, {"seed": 1}), 3)
    assert not torch.equal(next(a.G.parameters()), next(c.G.parameters()))


@pytest.mark.parametrize("preset, over", [
    ("ring8", ALL_TOY_REMEDIES),
    ("mnist5k-dcgan", {"model.width": 4, "data.batch_size": 8, **ALL_IMAGE_REMEDIES}),
    ("ring8", SELF_CONDITIONED_TOY),
    ("mnist5k-dcgan", {"model.width": 4, "data.batch_size": 8, **SELF_CONDITIONED_IMAGE}),
])
def test_resume_with_every_remedy_on_is_bit_identical(tmp_path, preset, over):
    base = {"train.steps": 6, "log.checkpoint_every": 3, "log.sample_every": 3, "log.every": 1}
    cfg = tiny(preset, **over, **base) if preset == "ring8" else config.resolve(preset, {**over, **base})
    straight = fit(cfg, tmp_path / "a")
    fit(config.apply(cfg, {"train.steps": 3}), tmp_path / "b")
    resumed = fit(cfg, tmp_path / "b", resume=True)
    for a, b in ((straight.G, resumed.G), (straight.D, resumed.D), (straight.sampler, resumed.sampler)):
        assert a.state_dict().keys() == b.state_dict().keys()
        for x, y in zip(a.state_dict().values(), b.state_dict().values()):
            assert torch.equal(x, y)
    assert torch.equal(straight.objective.rng.get_state(), resumed.objective.rng.get_state())
    lines_a = [json.loads(s) for s in (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()]
    lines_b = [json.loads(s) for s in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert [r["d_loss"] for r in lines_a] == [r["d_loss"] for r in lines_b]


def test_fit_writes_the_run_directory_contract(tmp_path):
    run = tmp_path / "run"
    fit(tiny(), run)
    assert json.loads((run / "config.json").read_text())["preset"] == "ring8"
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [5, 10, 15, 20]
    assert {"d_loss", "g_loss", "d_real", "d_fake"} <= set(rows[0])
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step_0000010.png", "step_0000020.png"]
    assert (run / "checkpoints" / "last" / "generator.safetensors").is_file()
    assert any((run / "tb").iterdir())


def test_resume_is_bit_identical_to_an_uninterrupted_run(tmp_path):
    cfg = tiny("mnist-mlp", **{"data.batch_size": 8, "train.steps": 6, "log.checkpoint_every": 3,
                               "log.sample_every": 3, "log.every": 1})
    straight = fit(cfg, tmp_path / "a")
    fit(config.apply(cfg, {"train.steps": 3}), tmp_path / "b")
    resumed = fit(cfg, tmp_path / "b", resume=True)
    for x, y in zip(straight.G.state_dict().values(), resumed.G.state_dict().values()):
        assert torch.equal(x, y)
    for x, y in zip(straight.opt_D.state_dict()["state"].values(), resumed.opt_D.state_dict()["state"].values()):
        assert torch.equal(x["momentum_buffer"], y["momentum_buffer"])
    lines_a = [json.loads(s) for s in (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()]
    lines_b = [json.loads(s) for s in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert [r["d_loss"] for r in lines_a] == [r["d_loss"] for r in lines_b]


def test_fit_refuses_a_non_empty_run_directory(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(GankitError, match="not empty"):
        fit(tiny(), tmp_path)
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_nan_loss_stops_naming_step_and_player(tmp_path):
    cfg = tiny(**{"train.lr_d": 1e30, "train.lr_g": 1e30, "train.steps": 50})
    with pytest.raises(GankitError, match=r"step \d+: the (discriminator|generator) loss is nan"):
        fit(cfg, tmp_path / "run")


def test_sgd_schedule_follows_the_paper():
    from gankit.optimizers import schedule

    t = config.resolve("mnist-mlp").train
    per_epoch = 4000 // 100  # mnist5k's training split in minibatches of 100
    lr_g, lr_d, mom = schedule(t, 0, per_epoch)
    assert (lr_g, lr_d, mom) == (0.1, 0.05, 0.5)  # lr_d: the released code's D loss is halved
    lr_g, _, mom = schedule(t, 125 * per_epoch, per_epoch)  # half of the 250 epochs of the momentum ramp
    assert_close(mom, 0.6)
    assert_close(lr_g, 0.1 / 1.000004 ** (125 * per_epoch))
    assert schedule(t, 250 * per_epoch, per_epoch)[2] == 0.7
    assert_close(schedule(t, 250 * 500, 500)[2], 0.7)  # full MNIST: 500 minibatches an epoch
    assert_close(schedule(t, 125 * 500, 500)[2], 0.6)
    assert schedule(t, 10**8, per_epoch)[0] == 1e-6


# -- moving average of G's weights (train.ema) ---------------------------------------------

@pytest.mark.parametrize("n, decay_n", [(1, 2 / 11), (2, 0.2), (50, 0.2)])  # warm-up, then the cap
def test_average_update_moves_by_one_minus_the_warmed_up_decay(n, decay_n):
    avg, cur = torch.tensor([1.0, -2.0], dtype=torch.float64), torch.tensor([3.0, 2.0], dtype=torch.float64)
    ema_update(0.2)([avg], [cur], torch.tensor(n))
    assert_close(avg, torch.tensor([1.0, -2.0], dtype=torch.float64) * decay_n + cur * (1 - decay_n))


def test_trainer_averages_g_after_every_step_and_samples_with_the_averages_own_batchnorm_statistics():
    t = Trainer(config.resolve("mnist5k-dcgan", {"model.width": 4, "data.batch_size": 8, "train.ema": 0.9}))
    avg = t.G_avg.module
    t.train_step()  # the first update copies G
    assert_same(params(avg), params(t.G))
    for n in range(1, 4):
        before = params(avg)
        t.train_step()
        w = 1 - min(0.9, (1 + n) / (10 + n))
        for a, old, new in zip(params(avg), before, params(t.G), strict=True):
            assert_close(a, old + w * (new - old), rtol=1e-6, atol=1e-7)
        assert_changed(params(avg), params(t.G))
    own = dict(t.G.named_buffers())
    assert len(own) > 0 and all(torch.equal(b, own[k]) for k, b in avg.named_buffers())  # the update copies G's
    expected = copy.deepcopy(avg)
    standing_statistics(expected, 8, seed=t.cfg.seed + 5)
    assert t.sampler is avg  # its statistics now measured on the average itself
    for (name, b), e in zip(avg.named_buffers(), expected.buffers(), strict=True):
        assert torch.equal(b, e), name
    means = [k for k in own if k.endswith("running_mean")]
    assert means and not any(torch.equal(dict(avg.named_buffers())[k], own[k]) for k in means)


def _bn_inputs(G, batches):
    """Each BatchNorm's inputs over G's training-mode passes on ``batches`` (a list of argument tuples)."""
    seen, hooks = {}, []
    for name, m in G.named_modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            hooks.append(m.register_forward_pre_hook(lambda mod, args, name=name: seen.setdefault(name, []).append(
                args[0].detach().clone())))
    G.train()
    with torch.no_grad():
        for args in batches:
            G(*args)
    for h in hooks:
        h.remove()
    return seen


@pytest.mark.parametrize("classes", [0, 3])
def test_standing_statistics_are_the_nets_own_batch_statistics_and_leave_the_global_rng_alone(classes):
    from gankit.models.dcgan import DCGANGenerator

    torch.manual_seed(0)
    G = DCGANGenerator(z_dim=5, image_size=16, channels=1, width=4, num_classes=classes).eval()
    gen = torch.Generator().manual_seed(7)  # what standing_statistics draws: z, then the classes
    batches = []
    for _ in range(3):
        z = torch.randn(16, 5, generator=gen)
        batches.append((z,) if not classes else (z, torch.randint(classes, (16,), generator=gen)))
    seen = _bn_inputs(copy.deepcopy(G), batches)
    rng = torch.get_rng_state()
    standing_statistics(G, 16, batches=3, seed=7)
    assert torch.equal(torch.get_rng_state(), rng) and not G.training
    norms = dict(G.named_modules())
    assert len(seen) == 2  # 16 = 4 * 2^2: two BatchNorm layers
    for name, xs in seen.items():  # equal weights per pass: the mean of the passes' mean and unbiased variance
        bn = norms[name]
        assert_close(bn.running_mean, torch.stack([x.mean((0, 2, 3)) for x in xs]).mean(0))
        assert_close(bn.running_var, torch.stack([x.var((0, 2, 3)) for x in xs]).mean(0))
        assert int(bn.num_batches_tracked) == 3 and bn.momentum == 0.1


def test_standing_statistics_leave_a_g_without_batchnorm_as_it_was():
    from gankit.models.mlp import MLPGenerator

    G = MLPGenerator(2, (2,), hidden=8, depth=2)
    before = copy.deepcopy(G.state_dict())
    standing_statistics(G, 16)
    assert all(torch.equal(v, before[k]) for k, v in G.state_dict().items())


def test_without_ema_the_sampler_is_g_itself():
    t = Trainer(tiny(**{"train.ema": 0.0}))
    assert t.G_avg is None and t.sampler is t.G


def test_resume_with_ema_is_bit_identical_and_sampling_uses_the_average(tmp_path):
    from gankit.runs import load_run

    cfg = config.resolve("mnist5k-dcgan", {"model.width": 4, "data.batch_size": 8, "train.ema": 0.99,
                                           "train.steps": 6, "log.checkpoint_every": 3, "log.sample_every": 3})
    straight = fit(cfg, tmp_path / "a")
    fit(config.apply(cfg, {"train.steps": 3}), tmp_path / "b")
    resumed = fit(cfg, tmp_path / "b", resume=True)
    for a, b in ((straight.G, resumed.G), (straight.sampler, resumed.sampler)):
        assert a.state_dict().keys() == b.state_dict().keys()
        for x, y in zip(a.state_dict().values(), b.state_dict().values()):
            assert torch.equal(x, y)
    assert int(resumed.G_avg.n_averaged) == 6
    loaded = load_run(tmp_path / "b").G
    assert_same(params(loaded), params(straight.sampler))
    assert_changed(params(loaded), params(straight.G))


def test_switching_ema_on_at_a_resume_starts_the_average_from_g(tmp_path):
    cfg = config.resolve("mnist5k-dcgan", {"model.width": 4, "data.batch_size": 8, "train.steps": 3,
                                           "train.ema": 0.0, "log.checkpoint_every": 3, "log.sample_every": 3})
    fit(cfg, tmp_path / "run")
    resumed = fit(config.apply(cfg, {"train.steps": 4, "train.ema": 0.99}), tmp_path / "run", resume=True)
    assert int(resumed.G_avg.n_averaged) == 1
    assert_same(params(resumed.sampler), params(resumed.G))  # the first update copies G
