import functools

import pytest
import torch
from torch import nn
from torch.testing import assert_close

from gankit import config, losses
from gankit.augment import diff_augment
from gankit.objectives import Objective, build_objective
from gankit.train import Trainer


def cfg(preset="ring8", **over):
    return config.resolve(preset, {"model.width": 8, "model.depth": 2, "data.batch_size": 8, **over})


@pytest.mark.parametrize("loss, g_cost, d_fn, g_fn", [
    ("gan", "minimax", losses.discriminator_loss, losses.minimax_generator_loss),
    ("gan", "nonsaturating", losses.discriminator_loss, losses.nonsaturating_generator_loss),
    ("lsgan", "nonsaturating", losses.least_squares_discriminator_loss, losses.least_squares_generator_loss),
    ("wgan", "nonsaturating", losses.wasserstein_discriminator_loss, losses.wasserstein_generator_loss),
    ("hinge", "nonsaturating", losses.hinge_discriminator_loss, losses.hinge_generator_loss),
])
def test_build_objective_takes_the_loss_pair_from_the_config(loss, g_cost, d_fn, g_fn):
    obj = build_objective(cfg(**{"train.loss": loss, "train.g_cost": g_cost}))
    assert obj.d_loss is d_fn and obj.g_loss is g_fn
    assert (obj.gp, obj.r1, obj.augment) == (0.0, 0.0, ())


def test_label_smoothing_is_bound_into_the_d_loss():
    obj = build_objective(cfg(**{"train.label_smoothing": 0.2}))
    r, f = torch.randn(7), torch.randn(7)
    assert_close(obj.d_loss(r, f), losses.discriminator_loss(r, f, label_smoothing=0.2))


class First(nn.Module):
    """D(x) = x[:, 0]: shows the input D is given."""

    def forward(self, x):
        return x[:, 0]


def test_instance_noise_is_gaussian_with_the_annealed_sd():
    obj = build_objective(cfg(**{"train.instance_noise": 0.4, "train.steps": 1000}))
    assert (obj.noise, obj.noise_steps) == (0.4, 1000)
    x = torch.full((200_000, 2), 3.0)
    for step, sd in [(0, 0.4), (250, 0.3), (500, 0.2), (999, 0.0004)]:
        seen = obj.at(step)._see(First(), x, None) - 3.0
        assert_close(seen.std(), torch.tensor(sd), rtol=0.01, atol=0)
        assert_close(seen.mean(), torch.tensor(0.0), rtol=0, atol=4 * sd / 200_000 ** 0.5)
    for step in (1000, 1500):  # annealed away: D sees the inputs themselves
        assert torch.equal(obj.at(step)._see(First(), x, None), x[:, 0])
    assert build_objective(cfg(**{"train.instance_noise": 0.4, "train.instance_noise_steps": 600})).noise_steps == 600
    off = build_objective(cfg())
    assert off.at(0) is off and torch.equal(off._see(First(), x, None), x[:, 0])


def test_instance_noise_reaches_both_players_from_the_objectives_stream():
    """D's step noises data and samples independently, G's step its samples, all drawn from the
    objective's own stream: the same stream state gives the same draws."""
    D, x = First(), torch.zeros(5000, 1)
    a = Objective(noise=0.5, rng=torch.Generator().manual_seed(3))
    twin = torch.Generator().manual_seed(3)
    _, real_logits, fake_logits = a.discriminator_loss(D, x, x)
    assert torch.equal(real_logits, 0.5 * torch.randn(x.shape, generator=twin)[:, 0])
    assert torch.equal(fake_logits, 0.5 * torch.randn(x.shape, generator=twin)[:, 0])
    assert_close(torch.corrcoef(torch.stack([real_logits, fake_logits]))[0, 1], torch.tensor(0.0), rtol=0, atol=0.06)
    fake = torch.zeros(5000, 1, requires_grad=True)
    g_loss = a.generator_loss(D, fake)
    seen = (0.5 * torch.randn(x.shape, generator=twin)[:, 0]).requires_grad_(True)
    expected = losses.nonsaturating_generator_loss(seen)
    assert_close(g_loss, expected)
    g_loss.backward()  # the noise is additive: G's gradient is D's gradient at the noised sample
    expected.backward()
    assert_close(fake.grad[:, 0], seen.grad)


class Linear(nn.Module):
    """D(x) = w . x: the penalties have closed forms."""

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(w)

    def forward(self, x):
        return x.flatten(1) @ self.w


def test_penalties_add_with_their_weights():
    w = torch.tensor([0.6, 0.3], dtype=torch.float64)
    D = Linear(w.clone())
    real, fake = torch.randn(8, 2, dtype=torch.float64), torch.randn(8, 2, dtype=torch.float64)
    plain, _, _ = Objective().discriminator_loss(D, real, fake)
    both, r_logits, f_logits = Objective(gp=10.0, r1=4.0).discriminator_loss(D, real, fake)
    # ||grad D|| = ||w|| everywhere: GP = (||w|| - 1)^2, R1 = ||w||^2 (times gamma/2).
    assert_close(both - plain, 10.0 * (w.norm() - 1) ** 2 + 2.0 * w.norm() ** 2)
    assert_close(r_logits, real @ w)
    assert not r_logits.requires_grad and not f_logits.requires_grad
    both.backward()  # the penalties reach D's weights
    expected = Linear(w.clone())
    (Objective().discriminator_loss(expected, real, fake)[0] + 10 * (expected.w.norm() - 1) ** 2
     + 2.0 * expected.w.norm() ** 2).backward()
    assert_close(D.w.grad, expected.w.grad)


def test_augmentation_reaches_d_in_both_players_losses_from_the_objectives_generator():
    seen = []
    D = Linear(torch.randn(2 * 8 * 8, dtype=torch.float64))
    D.register_forward_pre_hook(lambda mod, args: seen.append(args[0].detach()))
    obj = Objective(augment=("translation", "cutout"), rng=torch.Generator().manual_seed(7))
    real, fake = torch.randn(4, 2, 8, 8, dtype=torch.float64), torch.randn(4, 2, 8, 8, dtype=torch.float64)
    obj.discriminator_loss(D, real, fake)
    obj.generator_loss(D, fake)
    twin = torch.Generator().manual_seed(7)
    for got, x in zip(seen, (real, fake, fake), strict=True):  # independent draws, in call order
        assert torch.equal(got, diff_augment(x, ("translation", "cutout"), twin))
    assert not torch.equal(seen[1], seen[2])


@pytest.mark.parametrize("dtype, loss_dtype", [(torch.bfloat16, torch.float32), (torch.float16, torch.float32),
                                               (torch.float32, torch.float32), (torch.float64, torch.float64)])
def test_half_precision_d_outputs_are_cast_to_float32_before_the_losses(dtype, loss_dtype):
    D = Linear(torch.randn(3, dtype=dtype))
    x = torch.randn(4, 3, dtype=dtype)
    seen = []
    obj = Objective(d_loss=lambda r, f: seen.append((r.dtype, f.dtype)) or r.sum() + f.sum(),
                    g_loss=lambda f: seen.append((f.dtype,)) or f.sum())
    loss, real_logits, _ = obj.discriminator_loss(D, x, x)
    obj.generator_loss(D, x)
    assert seen == [(loss_dtype, loss_dtype), (loss_dtype,)] and real_logits.dtype == loss_dtype


def test_acgan_objective_uses_the_chosen_source_loss_and_class_terms():
    t = Trainer(cfg("mnist5k-acgan", **{"train.loss": "hinge", "model.width": 4}))
    real, y = t.batches.next()
    fake, c = real.flip(0), y.flip(0)
    loss, real_logits, _ = t.objective.discriminator_loss(t.D, real, fake, y, c)
    with torch.no_grad():
        r_out, f_out = t.D(real), t.D(fake)
    expected = losses.acgan_discriminator_loss(r_out, f_out, y, c, 2.0, 0.0,
                                               source_loss=losses.hinge_discriminator_loss)
    assert_close(loss, expected)
    assert_close(real_logits, r_out[:, 0])


def test_the_default_objective_is_the_paper_game():
    obj = build_objective(cfg())
    assert obj == Objective(d_loss=losses.discriminator_loss, g_loss=losses.nonsaturating_generator_loss)
    assert isinstance(obj.d_loss, type(losses.discriminator_loss)) and not isinstance(obj.d_loss, functools.partial)
