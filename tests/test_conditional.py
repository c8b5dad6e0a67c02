"""Conditional GAN and ACGAN end to end: Algorithm 1 with labels, unlabelled data, CLI, resume, metrics.

The players are tested in test_models_conditional.py, the ACGAN losses in test_losses.py.
"""

import json

import numpy as np
import pytest
import torch
from PIL import Image
from torch.testing import assert_close

from gankit import GankitError, config
from gankit.cli import main
from gankit.data import Batches, TensorData, load_dataset
from gankit.losses import class_cross_entropy
from gankit.metrics import evaluate
from gankit.loop import fit
from gankit.train import Trainer, sample_labels, train_step

C = 3  # classes of the tiny data set


def tiny_data(n=48, classes=C):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(n, 1, 8, 8, generator=g) * 2 - 1
    return TensorData(x, torch.arange(n) % classes, num_classes=classes, name="tiny")


def tiny_cfg(conditional, family="dcgan", **over):
    base = {"model.width": 4, "model.depth": 1, "model.z_dim": 5, "data.batch_size": 8, "train.steps": 6,
            "log.every": 1, "log.sample_every": 3, "log.checkpoint_every": 3, "log.grid": 6,
            "model.family": family, "model.conditional": conditional}
    return config.resolve("digits-acgan", {**base, **over})


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# -- Algorithm 1 with labels ---------------------------------------------------------------

@pytest.mark.parametrize("conditional", ["cgan", "acgan"])
@pytest.mark.parametrize("k", [1, 2])
def test_train_step_feeds_real_labels_and_fresh_uniform_fake_labels(conditional, k):
    data = tiny_data()
    t = Trainer(tiny_cfg(conditional), data=data)
    g_calls, d_calls = [], []
    t.G.register_forward_pre_hook(lambda mod, args: g_calls.append(args))
    t.D.register_forward_pre_hook(lambda mod, args: d_calls.append(args))
    twin = Batches(data, 8, seed=t.cfg.seed)  # replays the minibatches train_step will draw
    labels_twin = torch.Generator().set_state(t.labels.get_state())
    d_out = []
    t.D.register_forward_hook(lambda mod, args, out: d_out.append(out))
    train_step(t.G, t.D, t.opt_G, t.opt_D, t.batches, k=k, objective=t.objective, noise=t.noise, labels=t.labels)
    # k D-updates (G on fresh labels, D on real and on fake), then one G-update.
    assert len(g_calls) == k + 1 and len(d_calls) == 2 * k + 1
    expected_fake = [sample_labels(8, C, labels_twin) for _ in range(k + 1)]
    for (z, y), want in zip(g_calls, expected_fake):
        assert z.shape == (8, t.G.z_dim) and y.dtype == torch.int64 and torch.equal(y, want)
    for i in range(k):
        real, real_y = twin.next()
        real_args, fake_args = d_calls[2 * i], d_calls[2 * i + 1]
        assert torch.equal(real_args[0], real)
        if conditional == "cgan":  # D judges (x, y) pairs
            assert torch.equal(real_args[1], real_y) and torch.equal(fake_args[1], expected_fake[i])
        else:  # ACGAN: D sees x only and predicts the class
            assert len(real_args) == 1 and len(fake_args) == 1
    assert all(o.shape == ((8, 1 + C) if conditional == "acgan" else (8,)) for o in d_out)


def test_conditional_training_reduces_the_acgan_class_loss_on_real_data():
    torch.manual_seed(0)
    data = tiny_data(96)
    # Make the classes easy: class c is a bright row at height c.
    for c in range(C):
        data.x[data.y == c, :, 2 * c] = 1.0
    t = Trainer(tiny_cfg("acgan", "mlp", **{"model.width": 32, "train.lr_d": 1e-2, "train.lr_g": 1e-3}), data=data)

    def real_class_loss():
        with torch.no_grad():
            return float(class_cross_entropy(t.D(data.x)[:, 1:], data.y))

    before = real_class_loss()
    for _ in range(40):
        t.train_step()
    assert real_class_loss() < 0.5 * before


# -- data without labels -------------------------------------------------------------------

@pytest.mark.parametrize("preset", ["ring8", "toy1d"])
def test_conditional_on_a_toy_data_set_is_refused_by_the_config(preset):
    over = {"model.conditional": "cgan"}
    if preset == "toy1d":
        over["model.family"] = "mlp"
    with pytest.raises(GankitError, match="model.conditional: cgan needs a data set with class labels"):
        config.resolve(preset, over)


def test_conditional_needs_the_mlp_or_dcgan_family():
    with pytest.raises(GankitError, match="model.conditional: acgan needs model.family mlp, dcgan or resnet"):
        config.resolve("mnist-mlp", {"model.conditional": "acgan"})
    with pytest.raises(GankitError, match="model.conditional: must be"):
        config.resolve("mnist5k-acgan", {"model.conditional": "infogan"})


def test_conditional_on_label_less_npz_is_one_line_and_leaves_no_run(capsys, tmp_path):
    np.savez(tmp_path / "x.npz", x=np.zeros((20, 8, 8), np.uint8))
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, "train", "digits-acgan", "--steps", "1", "--out", str(run),
                           "--set", "data.name=npz", f"data.path={tmp_path / 'x.npz'}", "data.batch_size=4")
    assert code == 2 and err.count("\n") == 1
    assert "model.conditional=acgan needs labelled data with at least 2 classes; npz/train has no class labels" in err
    assert not run.exists()


# -- the command line ----------------------------------------------------------------------

TINY_CLI = ["--set", "model.width=4", "model.z_dim=5", "data.batch_size=8", "log.sample_every=2",
            "log.checkpoint_every=2"]


@pytest.fixture(scope="module")
def acgan_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("cond") / "run"
    assert main(["train", "digits-acgan", "--steps", "2", "--out", str(run), *TINY_CLI]) == 0
    return run


def test_sample_label_generates_that_class(capsys, acgan_run, tmp_path):
    code, out, _ = run_cli(capsys, "sample", str(acgan_run), "--num", "7", "--label", "3",
                           "--out", str(tmp_path / "s.npz"))
    assert code == 0 and "wrote 7 samples" in out
    with np.load(tmp_path / "s.npz") as f:
        assert f["samples"].shape == (7, 1, 8, 8) and f["samples"].dtype == np.float32
        assert f["labels"].dtype == np.int64 and f["labels"].tolist() == [3] * 7


def test_sample_without_label_cycles_the_classes_in_the_npz(capsys, acgan_run, tmp_path):
    code, _, _ = run_cli(capsys, "sample", str(acgan_run), "--num", "12", "--out", str(tmp_path / "s.npz"))
    with np.load(tmp_path / "s.npz") as f:
        assert code == 0 and f["labels"].tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]


def test_conditional_png_has_one_row_per_class(capsys, acgan_run, tmp_path):
    code, out, _ = run_cli(capsys, "sample", str(acgan_run), "--num", "25", "--out", str(tmp_path / "g.png"))
    # 10 classes, ceil(25 / 10) = 3 per row; 8x8 tiles with 2 px padding, upscaled 64 // 8 = 8 times.
    assert code == 0 and "wrote 30 samples" in out
    with Image.open(tmp_path / "g.png") as im:
        assert im.size == ((3 * (8 + 2) + 2) * 8, (10 * (8 + 2) + 2) * 8)


def test_sample_label_out_of_range_names_the_valid_range(capsys, acgan_run, tmp_path):
    code, _, err = run_cli(capsys, "sample", str(acgan_run), "--num", "2", "--label", "10",
                           "--out", str(tmp_path / "s.npz"))
    assert code == 2 and err == "gankit: error: --label 10: out of range; this run's classes are 0..9\n"
    assert not (tmp_path / "s.npz").exists()


def test_label_on_an_unconditional_run_is_refused(capsys, tmp_path):
    run = tmp_path / "run"
    run_cli(capsys, "train", "digits-dcgan", "--steps", "1", "--out", str(run), *TINY_CLI)
    code, _, err = run_cli(capsys, "sample", str(run), "--num", "2", "--label", "1", "--out", str(tmp_path / "s.npz"))
    assert code == 2 and err.count("\n") == 1 and "unconditional" in err


def test_checkpoint_records_the_number_of_classes(acgan_run):
    from gankit import checkpoint
    from gankit.runs import load_run

    meta = checkpoint.read_metadata(acgan_run / "checkpoints" / "last" / checkpoint.GENERATOR)
    assert meta["num_classes"] == "10"
    assert load_run(acgan_run).num_classes == 10 == load_run(acgan_run).G.num_classes


def test_fake_class_weight_reaches_the_discriminator_update():
    def d_after_one_step(u):
        over = {} if u is None else {"train.fake_class_weight": u}
        t = Trainer(tiny_cfg("acgan", **over), data=tiny_data())
        t.train_step()
        return [p.detach().clone() for p in t.D.parameters()]

    odena, default, data_only = d_after_one_step(1.0), d_after_one_step(None), d_after_one_step(0.0)
    assert all(torch.equal(a, b) for a, b in zip(odena, default, strict=True))
    assert any(not torch.equal(a, b) for a, b in zip(odena, data_only, strict=True))


# -- resume --------------------------------------------------------------------------------

@pytest.mark.parametrize("conditional", ["cgan", "acgan"])
def test_resume_of_a_conditional_run_is_bit_identical(tmp_path, conditional):
    cfg = tiny_cfg(conditional)
    straight = fit(cfg, tmp_path / "a")
    fit(config.apply(cfg, {"train.steps": 3}), tmp_path / "b")
    resumed = fit(cfg, tmp_path / "b", resume=True)
    for a, b in ((straight.G, resumed.G), (straight.D, resumed.D)):
        for x, y in zip(a.state_dict().values(), b.state_dict().values()):
            assert torch.equal(x, y)
    assert torch.equal(straight.labels.get_state(), resumed.labels.get_state())
    lines = [[json.loads(s)["d_loss"] for s in (p / "metrics.jsonl").read_text().splitlines()]
             for p in (tmp_path / "a", tmp_path / "b")]
    assert lines[0] == lines[1] and len(lines[0]) == 6


# -- metrics -------------------------------------------------------------------------------

def test_per_class_fid_of_held_out_digits_equals_its_floor():
    test = load_dataset("mnist5k", "test")
    out = evaluate(test.x, "mnist5k", ["fid_cnn_per_class", "cond_accuracy"], fake_labels=test.y)
    per_class = [out[f"fid_cnn_class_{c}"] for c in range(10)]
    assert out["fid_cnn_per_class"] == out["fid_cnn_per_class_floor"]
    assert_close(out["fid_cnn_per_class"], sum(per_class) / 10)
    assert out["fid_cnn_per_class_n_min"] == 100
    assert_close(out["cond_accuracy"], sum(out[f"cond_accuracy_class_{c}"] for c in range(10)) / 10)


def test_eval_of_a_conditional_run_reports_class_accuracy_and_histogram(capsys, tmp_path):
    run = tmp_path / "run"
    code, _, _ = run_cli(capsys, "train", "mnist5k-cgan", "--steps", "1", "--out", str(run), *TINY_CLI)
    assert code == 0
    code, out, _ = run_cli(capsys, "eval", str(run), "--num", "300",
                           "--metrics", "cond_accuracy,classes,fid_cnn_per_class")
    result = json.loads(out)
    accuracies = [result[f"cond_accuracy_class_{c}"] for c in range(10)]
    assert code == 0 and result["n"] == 300
    assert result["cond_accuracy_min"] == min(accuracies)
    assert 0 <= result["classes_missing"] <= 10 and result["class_kl_uniform"] >= 0
    assert_close(result["fid_cnn_per_class"], sum(result[f"fid_cnn_class_{c}"] for c in range(10)) / 10)
