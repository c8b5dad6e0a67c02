"""train.micro_batches: a minibatch through G and D in parts, their gradients summed, one update."""

import pytest
import torch
from torch.testing import assert_close

from gankit import GankitError, config
from gankit.distributed import Shard
from gankit.train import Trainer, discriminator_step, generator_step


def twins(preset, **over):
    """Two Trainers built alike (same weights, same data and noise streams)."""
    cfg = config.resolve(preset, {"train.optimizer": "sgd", "train.ema": 0, **over})
    return Trainer(cfg), Trainer(cfg)


def grads(module):
    return [p.grad.clone() for p in module.parameters()]


# Nets without BatchNorm (MLPs): a part's rows then meet no other part's in any forward pass, so the parts'
# summed gradient is the whole minibatch's up to the order of the float sums. (With BatchNorm, as in DCGAN's G,
# each part is normalised over its own rows, as each rank is under DDP: another step, on purpose.)
CASES = [
    ("ring8", {}),  # self-conditioned MLPs: the data's clusters are read part by part
    ("digits-acgan", {"model.family": "mlp", "model.width": 32, "data.batch_size": 24}),  # labels and classes
]


@pytest.mark.parametrize("preset, over", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("parts", [2, 4])
def test_the_parts_gradients_sum_to_the_whole_minibatchs(preset, over, parts):
    one, split = twins(preset, **over)
    real, y = one.batches.next()
    labels = {"real_labels": y, "labels": one.labels} if one.labels is not None else {}
    whole = discriminator_step(one.G, one.D, one.opt_D, real, one.noise, objective=one.objective, **labels)
    labels = {"real_labels": y, "labels": split.labels} if split.labels is not None else {}
    pieces = discriminator_step(split.G, split.D, split.opt_D, real, split.noise, objective=split.objective,
                                parts=parts, **labels)
    for a, b in zip(grads(split.D), grads(one.D)):
        assert_close(a, b, rtol=1e-4, atol=1e-6)
    for a, b in zip(pieces, whole):  # the loss (the mean of the parts' means) and the logits of all m rows
        assert a.shape == b.shape
        assert_close(a, b, rtol=1e-5, atol=1e-6)
    m = one.batches.m
    g_whole = generator_step(one.G, one.D, one.opt_G, m, one.noise, objective=one.objective, labels=one.labels)
    g_pieces = generator_step(split.G, split.D, split.opt_G, m, split.noise, objective=split.objective,
                              labels=split.labels, parts=parts)
    assert_close(g_pieces, g_whole, rtol=1e-5, atol=1e-6)
    for a, b in zip(grads(split.G), grads(one.G)):
        assert_close(a, b, rtol=1e-4, atol=1e-6)
    assert max(float(g.abs().max()) for g in grads(one.G)) > 1e-4  # not trivially: G got a gradient
    for a, b in zip(split.G.parameters(), one.G.parameters()):
        assert_close(a, b, rtol=1e-5, atol=1e-7)


def test_a_run_in_parts_trains_and_records_the_setting(tmp_path):
    from gankit.loop import fit

    cfg = config.resolve("ring8", {"train.steps": 6, "train.micro_batches": 4, "log.every": 2})
    trainer = fit(cfg, tmp_path / "run")
    assert trainer.step == 6
    assert '"micro_batches": 4' in (tmp_path / "run" / "config.json").read_text()


@pytest.mark.parametrize("over, message", [
    ({"train.micro_batches": 0}, r"^train.micro_batches: must be >= 1, got 0$"),
    ({"train.micro_batches": 3}, r"^train.micro_batches: 3 parts must split data.batch_size=256 evenly$"),
    ({"train.micro_batches": 64, "model.pack": 8, "model.clusters": 0},
     r"^model.pack: pack=8 must divide the 4 rows of each part \(train.micro_batches=64\)"),
    ({"train.micro_batches": 8, "model.mbstd": 64}, r"^model.mbstd: group size 64 must divide the 32 inputs D sees "
                                                    r"per part \(train.micro_batches=8\)"),
])
def test_parts_that_do_not_split_the_minibatch_are_one_line_naming_the_key(over, message):
    with pytest.raises(GankitError, match=message):
        config.resolve("ring8", over)


@pytest.mark.parametrize("over, message", [
    ({"data.batch_size": 8, "train.micro_batches": 8},
     r"^train.micro_batches=8: must split each of the 2 processes' 4 rows of the minibatch evenly$"),
    ({"data.batch_size": 64, "train.micro_batches": 4, "model.pack": 16, "model.clusters": 0},
     r"^model.pack: pack=16 must divide the 8 rows D sees at once \(2 processes, train.micro_batches=4\)$"),
    ({"data.batch_size": 64, "train.micro_batches": 2, "model.mbstd": 32},
     r"^model.mbstd: group size 32 must divide the 16 inputs D sees at once \(2 processes, train.micro_batches=2, "
     r"model.pack=1\)$"),
])
def test_parts_packs_and_groups_must_split_each_ranks_rows(over, message):
    cfg = config.resolve("ring8", over)  # one process could train these
    with pytest.raises(GankitError, match=message):
        Trainer(cfg, shard=Shard(0, 2))  # (checked before any process group is needed)


@pytest.mark.parametrize("parts", [0, 3])
def test_a_step_refuses_parts_that_do_not_split_its_minibatch(parts):
    t = Trainer(config.resolve("ring8", {"data.batch_size": 16}))
    real, _ = t.batches.next()
    with pytest.raises(GankitError, match=rf"^train.micro_batches={parts}: must split the 16 rows"):
        discriminator_step(t.G, t.D, t.opt_D, real, t.noise, objective=t.objective, parts=parts)
    with pytest.raises(GankitError, match=rf"^train.micro_batches={parts}: must split the 16 rows"):
        generator_step(t.G, t.D, t.opt_G, 16, t.noise, objective=t.objective, parts=parts)


def test_the_vae_trains_whole_minibatches_only():
    with pytest.raises(GankitError, match=r"^train.micro_batches: train.method=vae needs the default here"):
        config.resolve("mnist5k-vae", {"train.micro_batches": 2})
