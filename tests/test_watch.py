import json

import numpy as np
import pytest
import torch
from PIL import Image
from torch.testing import assert_close

from gankit import GankitError, config, loop
from gankit.loop import fit
from gankit.train import Trainer
from gankit.viz import save_samples
from gankit.watch import format_tick, improves


@pytest.fixture(scope="module")
def images32(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "images32.npz"
    rng = np.random.default_rng(0)
    np.savez(path, x=rng.integers(0, 256, (64, 32, 32, 3), dtype=np.uint8))
    return str(path)


def tiny_images(path, **over):
    base = {"data.path": path, "model.width": 2, "model.z_dim": 8, "data.batch_size": 4, "train.k": 2,
            "train.steps": 4, "log.every": 1, "log.sample_every": 100, "log.checkpoint_every": 2, "log.grid": 4,
            "train.ada_interval": 1, "train.ada_kimg": 0.05, "train.ada_target": 0.0}
    return config.resolve("images64", {**base, **over})


def rows(run):
    return [json.loads(s) for s in (run / "metrics.jsonl").read_text().splitlines()]


def test_images64_needs_data_path_in_one_line(tmp_path):
    with pytest.raises(GankitError, match=r"^data set 'npz' reads your files: give --set data.path=PATH$"):
        fit(config.resolve("images64"), tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_resnet_with_ada_resumes_bit_identically_with_p_saved_and_logged(tmp_path, images32):
    cfg = tiny_images(images32)
    straight = fit(cfg, tmp_path / "a")
    fit(config.apply(cfg, {"train.steps": 2}), tmp_path / "b")
    resumed = fit(cfg, tmp_path / "b", resume=True)
    for a, b in ((straight.G, resumed.G), (straight.D, resumed.D), (straight.sampler, resumed.sampler)):
        for x, y in zip(a.state_dict().values(), b.state_dict().values()):
            assert torch.equal(x, y)
    assert straight.objective.ada.state_dict() == resumed.objective.ada.state_dict()
    assert 0 < straight.augment_p < 1  # p moved, so its saved state mattered
    ra, rb = rows(tmp_path / "a"), rows(tmp_path / "b")
    assert [r["augment_p"] for r in ra] == [r["augment_p"] for r in rb]
    assert ra[-1]["augment_p"] == straight.augment_p
    assert [r["d_loss"] for r in ra] == [r["d_loss"] for r in rb]


def test_start_grids_and_the_tick_row(tmp_path, images32):
    cfg = tiny_images(images32)
    run = tmp_path / "run"
    seen = []
    fit(cfg, run, tick=seen.append)
    grid = tmp_path / "init.png"  # the untrained G's samples, drawn the same way
    save_samples(Trainer(cfg).sample(cfg.log.grid, seed=cfg.seed + 2), grid)
    assert (run / "samples" / "fakes_init.png").read_bytes() == grid.read_bytes()
    reals = np.asarray(Image.open(run / "samples" / "reals.png"))
    assert reals.shape == np.asarray(Image.open(grid)).shape
    logged = rows(run)
    assert seen == logged and [r["step"] for r in logged] == [1, 2, 3, 4]
    for r in logged:
        assert_close(r["images_per_s"], r["steps_per_s"] * 2 * 4)  # k x m real images per step
        assert_close(r["eta_s"], (4 - r["step"]) / r["steps_per_s"])
        assert r["peak_mem_mb"] > 10
        assert 0 <= r["augment_p"] <= 1
    line = format_tick(logged[-1])
    assert line.startswith("img/s ") and " | ETA 0:00:00 | mem " in line and " | p " in line


def test_improves_by_min_or_max_and_names_a_missing_key():
    best = {}
    assert improves(best, {"fid": 5.0}, "fid", "min", 10) and best == {"key": "fid", "value": 5.0, "step": 10}
    assert not improves(best, {"fid": 6.0}, "fid", "min", 20) and best["step"] == 10
    assert improves(best, {"fid": 4.0}, "fid", "min", 30) and best["step"] == 30
    assert not improves(best, {"fid": float("nan")}, "fid", "min", 40)
    up = {}
    assert improves(up, {"acc": 0.5}, "acc", "max", 1) and not improves(up, {"acc": 0.4}, "acc", "max", 2)
    with pytest.raises(GankitError, match=r"^eval.best: the evaluation has no number 'fid'; it has: kid$"):
        improves({}, {"kid": 0.1, "note": "x"}, "fid", "min", 1)


@pytest.mark.parametrize("mode, values, best_step", [
    ("min", [3.0, 1.0, 2.0, 4.0], 4),
    ("max", [3.0, 1.0, 2.0, 4.0], 8),
    ("min", [3.0, 2.0, 1.0, 0.5], 8),
])
def test_best_checkpoint_by_the_metric_and_only_keep_step_checkpoints(tmp_path, monkeypatch, mode, values, best_step):
    scores = iter(values)
    monkeypatch.setattr(loop, "evaluate_generator", lambda *a, **kw: {"n": 2, "score": next(scores)})
    cfg = config.resolve("ring8", {"model.width": 8, "model.depth": 1, "data.batch_size": 16, "train.steps": 8,
                                   "log.every": 2, "log.checkpoint_every": 2, "log.sample_every": 8,
                                   "eval.every": 2, "eval.best": "score", "eval.best_mode": mode, "log.keep": 1})
    run = tmp_path / "run"
    trainer = fit(cfg, run)
    ckpts = run / "checkpoints"
    assert (ckpts / "best").resolve().name == f"step_{best_step:07d}"
    assert (ckpts / "last").resolve().name == "step_0000008"
    assert sorted(p.name for p in ckpts.iterdir()) == sorted({"best", "last", f"step_{best_step:07d}", "step_0000008"})
    assert trainer.best == {"key": "score", "value": values[best_step // 2 - 1], "step": best_step}
    assert [r for r in rows(run) if "kind" not in r][-1]["last_eval"] == {"step": 6, "score": values[2]}  # the row precedes step 8's evaluation


def test_log_keep_keeps_the_newest_step_checkpoints(tmp_path):
    cfg = config.resolve("ring8", {"model.width": 8, "model.depth": 1, "data.batch_size": 16, "train.steps": 10,
                                   "log.checkpoint_every": 2, "log.sample_every": 10, "log.keep": 3})
    fit(cfg, tmp_path / "run")
    names = sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir())
    assert names == ["last", "step_0000006", "step_0000008", "step_0000010"]


@pytest.mark.parametrize("over, message", [
    ({"eval.best": "fid_cnn"}, r"^eval.best: keeps the best checkpoint by 'fid_cnn' among evaluations: set eval.every"),
    ({"eval.best": "fid_cnn", "eval.every": 300, "log.checkpoint_every": 200},
     r"^eval.best: the best evaluation's checkpoint must exist: eval.every \(300\) must be a multiple"),
    ({"eval.best_mode": "lowest"}, r"^eval.best_mode: must be min or max, got 'lowest'$"),
    ({"log.keep": 0}, r"^log.keep: must be >= 1, got 0$"),
    ({"train.ada_target": 1.5}, r"^train.ada_target: must be in \[0, 1\], got 1.5$"),
    ({"train.ada_kimg": 0}, r"^train.ada_kimg: must be > 0, got 0"),
    ({"train.ada_interval": 0}, r"^train.ada_interval: must be >= 1, got 0$"),
])
def test_bad_values_name_the_key(over, message):
    with pytest.raises(GankitError, match=message):
        config.resolve("mnist5k-dcgan", over)


def test_cli_progress_shows_the_tick(capsys, tmp_path, images32):
    from gankit.cli import main

    over = ["data.path=" + images32, "model.width=2", "model.z_dim=8", "data.batch_size=4", "train.k=1",
            "log.every=1", "log.sample_every=100", "log.checkpoint_every=100", "log.grid=4"]
    assert main(["train", "images64", "--steps", "3", "--out", str(tmp_path / "run"),
                 *[a for o in over for a in ("--set", o)]]) == 0
    err = capsys.readouterr().err
    assert "images64 [img/s " in err and " | p 0.000]" in err


def test_best_survives_a_resume(tmp_path, monkeypatch):
    # The score is a function of the weights, which a resumed run reproduces bit for bit.
    monkeypatch.setattr(loop, "evaluate_generator",
                        lambda cfg, G, *a, **kw: {"n": 2, "score": float(sum(p.detach().sum() for p in G.parameters()))})
    cfg = config.resolve("ring8", {"model.width": 8, "model.depth": 1, "data.batch_size": 16, "train.steps": 8,
                                   "log.checkpoint_every": 2, "log.sample_every": 8, "eval.every": 2,
                                   "eval.best": "score", "eval.best_mode": "max"})
    straight = fit(cfg, tmp_path / "a")
    fit(config.apply(cfg, {"train.steps": 4}), tmp_path / "b")
    resumed = fit(cfg, tmp_path / "b", resume=True)
    assert straight.best == resumed.best and straight.best["step"] in (2, 4, 6, 8)
    for run in ("a", "b"):
        assert (tmp_path / run / "checkpoints" / "best").resolve().name == f"step_{straight.best['step']:07d}"


def test_a_conditional_resnet_trains_on_labelled_images(tmp_path):
    path = tmp_path / "labelled.npz"
    rng = np.random.default_rng(1)
    np.savez(path, x=rng.integers(0, 256, (16, 32, 32, 3), dtype=np.uint8), y=np.arange(16) % 2)
    cfg = tiny_images(str(path), **{"model.conditional": "cgan", "train.steps": 2, "log.checkpoint_every": 2})
    trainer = fit(cfg, tmp_path / "run")
    assert trainer.num_classes == 2 and trainer.D.conditional == "cgan"
    assert (tmp_path / "run" / "samples" / "fakes_init.png").is_file()
