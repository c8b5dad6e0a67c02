"""Mixed precision: autocast per player, float32 losses, one GradScaler per player, the NaN guard."""

import pytest
import torch
from torch.testing import assert_close
from safetensors.torch import load_file

from gankit import GankitError, config
from gankit.data import Batches
from gankit.objectives import Objective
from gankit.precision import Precision
from gankit.loop import fit
from gankit.train import Trainer


def tiny(precision, **over):
    return config.resolve("ring8", {"model.width": 16, "model.depth": 2, "data.batch_size": 32, "train.steps": 8,
                                    "train.precision": precision, "log.every": 2, "log.sample_every": 100,
                                    "log.checkpoint_every": 2, **over})


def test_bf16_runs_the_players_in_bfloat16_and_the_losses_in_float32():
    t = Trainer(config.resolve("mnist5k-dcgan", {"train.precision": "bf16"}))
    z = torch.randn(4, t.G.z_dim)
    with t.precision.autocast():
        fake = t.G(z)
        assert fake.dtype == torch.bfloat16
        loss, real_logits, fake_logits = Objective().discriminator_loss(t.D, t.batches.next()[0][:4], fake)
    assert loss.dtype == real_logits.dtype == fake_logits.dtype == torch.float32
    assert Precision().autocast().__class__.__name__ == "nullcontext"


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_trains_on_the_cpu_and_resumes_bit_identically(tmp_path, precision):
    straight = fit(tiny(precision), tmp_path / "straight")
    fit(tiny(precision, **{"train.steps": 4}), tmp_path / "run")
    resumed = fit(tiny(precision), tmp_path / "run", resume=True)
    assert straight.step == resumed.step == 8
    a = load_file(str(tmp_path / "straight/checkpoints/last/generator.safetensors"))
    b = load_file(str(tmp_path / "run/checkpoints/last/generator.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert all(torch.isfinite(v).all() for v in a.values())
    # ... and the precision changed the computation: fp32 trains other weights
    fit(tiny("fp32"), tmp_path / "fp32")
    c = load_file(str(tmp_path / "fp32/checkpoints/last/generator.safetensors"))
    assert any(not torch.equal(a[k], c[k]) for k in a)


def test_fp16_has_one_scaler_per_player_and_an_overflow_in_one_leaves_the_other():
    w_g, w_d = torch.nn.Parameter(torch.ones(3)), torch.nn.Parameter(torch.ones(3))
    opt_G, opt_D = torch.optim.SGD([w_g], lr=0.1), torch.optim.SGD([w_d], lr=0.1)
    p = Precision("fp16", "cpu", (opt_G, opt_D))
    scale = p.state_dict()[0]["scale"]
    p.backward((w_d * 1e38).sum() * 1e38, opt_D)  # D's gradients overflow: D's step is skipped, its scale halved
    p.update(opt_D)
    assert torch.equal(w_d.detach(), torch.ones(3))
    p.backward(w_g.sum(), opt_G)  # G's update goes on at G's own scale
    p.update(opt_G)
    assert torch.equal(w_g.detach(), torch.full((3,), 0.9))
    (g_state, d_state) = p.state_dict()
    assert g_state["scale"] == scale and d_state["scale"] == scale * 0.5


@pytest.mark.parametrize("mode", ["fp32", "fp16"])
def test_backward_per_part_then_one_update_is_the_update_of_the_summed_loss(mode):
    x = torch.tensor([[1.0, 2.0, -1.0], [0.5, -3.0, 2.0], [4.0, 0.0, 1.0], [-2.0, 1.0, 0.25]])
    ws = [torch.nn.Parameter(torch.tensor([0.5, -1.0, 2.0])) for _ in range(2)]
    opts = [torch.optim.SGD([w], lr=0.125) for w in ws]
    whole, parts = (Precision(mode, "cpu", (opt,)) for opt in opts)
    opts[0].zero_grad()
    whole.backward(((x @ ws[0]) ** 2).mean(), opts[0])
    whole.update(opts[0])
    opts[1].zero_grad()
    for rows in (slice(0, 2), slice(2, 4)):  # two parts, each loss halved (train.micro_batches=2)
        parts.backward(((x[rows] @ ws[1]) ** 2).mean() / 2, opts[1])
    parts.update(opts[1])
    assert_close(ws[1].detach(), ws[0].detach(), rtol=1e-6, atol=1e-6)
    assert not torch.equal(ws[0].detach(), torch.tensor([0.5, -1.0, 2.0]))  # it moved


@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
def test_the_nan_guard_catches_the_first_bad_step_in_every_precision(tmp_path, monkeypatch, precision):
    real_next, calls = Batches.next, [0]

    def poisoned(self):
        calls[0] += 1
        x, y = real_next(self)
        return (x * float("nan"), y) if calls[0] == 3 else (x, y)

    monkeypatch.setattr(Batches, "next", poisoned)
    with pytest.raises(GankitError, match=r"^step 3: the discriminator loss is nan; stopped"):
        fit(tiny(precision), tmp_path / "run")


def test_an_unknown_precision_is_one_line_naming_the_key():
    with pytest.raises(GankitError, match=r"^train.precision: must be one of fp32, bf16, fp16, got 'fp8'$"):
        config.resolve("ring8", {"train.precision": "fp8"})
