import json
import subprocess
import sys

import numpy as np
import pytest

from gankit.cli import main

TINY = ["--set", "model.width=16", "model.depth=2", "data.batch_size=32", "log.every=5",
        "log.sample_every=10", "log.checkpoint_every=10"]


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_presets_lists_every_preset(capsys):
    from gankit.config import PRESETS

    code, out, _ = run_cli(capsys, "presets")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == list(PRESETS)


def test_dry_run_prints_the_resolved_config(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "train", "ring8", "--set", "train.k=2", "--steps", "7", "--seed", "3",
                           "--dry-run", "--out", str(tmp_path / "r"))
    cfg = json.loads(out)
    assert (code, cfg["train"]["k"], cfg["train"]["steps"], cfg["seed"]) == (0, 2, 7, 3)
    assert not (tmp_path / "r").exists()


def test_train_then_sample_npz_and_png(capsys, tmp_path):
    run = tmp_path / "run"
    code, out, _ = run_cli(capsys, "train", "ring8", "--steps", "20", "--out", str(run), *TINY)
    assert code == 0 and "step 20" in out
    code, _, _ = run_cli(capsys, "sample", str(run), "--num", "50", "--out", str(tmp_path / "s.npz"), "--seed", "1")
    assert code == 0
    with np.load(tmp_path / "s.npz") as f:
        assert f["samples"].shape == (50, 2) and f["samples"].dtype == np.float32
        first = f["samples"].copy()
    run_cli(capsys, "sample", str(run), "--num", "50", "--out", str(tmp_path / "t.npz"), "--seed", "1")
    with np.load(tmp_path / "t.npz") as f:
        np.testing.assert_array_equal(f["samples"], first)  # the seed fixes the samples
    code, _, _ = run_cli(capsys, "sample", str(run), "--num", "100", "--out", str(tmp_path / "s.png"))
    assert code == 0 and (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"


def test_image_run_samples_are_images_in_range(capsys, tmp_path):
    run = tmp_path / "run"
    code, _, _ = run_cli(capsys, "train", "digits-dcgan", "--steps", "3", "--out", str(run),
                         "--set", "model.width=8", "data.batch_size=16")
    assert code == 0
    run_cli(capsys, "sample", str(run), "--num", "10", "--out", str(tmp_path / "s.npz"))
    with np.load(tmp_path / "s.npz") as f:
        x = f["samples"]
    assert x.shape == (10, 1, 8, 8) and x.min() >= -1 and x.max() <= 1


@pytest.mark.parametrize("argv, message", [
    (["train", "ring9"], "unknown preset 'ring9'; did you mean 'ring8'?"),
    (["train", "ring8", "--set", "train.kk=2"], "did you mean 'train.k'?"),
    (["train", "mnist-dcgan"], "give --set data.path=PATH"),
    (["train", "mnist-dcgan", "--set", "data.path=/nonexistent/mnist"], "/nonexistent/mnist"),
    (["train", "ring8", "--resume"], "--resume needs --out"),
    (["sample", "/nonexistent/run", "--num", "3", "--out", "x.png"], "no such run directory"),
])
def test_user_errors_are_one_line_without_traceback(capsys, argv, message):
    code, _, err = run_cli(capsys, *argv)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("gankit: error: ")
    assert message in err


def test_bad_data_leaves_no_run_directory(capsys, tmp_path):
    run = tmp_path / "run"
    code, _, _ = run_cli(capsys, "train", "mnist-dcgan", "--set", f"data.path={tmp_path}/none", "--out", str(run))
    assert code == 2 and not run.exists()


def test_sample_refuses_bad_output_suffix(capsys, tmp_path):
    code, _, err = run_cli(capsys, "sample", str(tmp_path), "--num", "3", "--out", "x.jpg")
    assert code == 2 and ".png or .npz" in err


def test_console_entry_point_prints_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "gankit", "train", "ring8", "--set", "data.batch_size=-1"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "gankit: error: data.batch_size: must be >= 1, got -1"


def test_eval_prints_one_json_object_and_appends_it_to_metrics(capsys, tmp_path):
    run = tmp_path / "run"
    run_cli(capsys, "train", "ring8", "--steps", "10", "--out", str(run), *TINY)
    code, out, _ = run_cli(capsys, "eval", str(run), "--num", "500")
    result = json.loads(out)
    assert code == 0 and result["n"] == 500 and result["modes_total"] == 8
    assert 0 <= result["modes"] <= 8 and 0.0 <= result["hq_fraction"] <= 1.0
    last = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert last == {"step": 10, "kind": "eval", **result}
    code, _, err = run_cli(capsys, "eval", str(run), "--metrics", "fid")
    assert code == 2 and "unknown metric 'fid'; valid: fid_cnn" in err


def test_toy1d_eval_reports_exact_divergences(capsys, tmp_path):
    run = tmp_path / "run"
    run_cli(capsys, "train", "toy1d", "--steps", "1", "--out", str(run))
    code, out, _ = run_cli(capsys, "eval", str(run), "--num", "10")
    result = json.loads(out)
    # theta is still about 3 after one step; W1 between N(theta, 1) and N(5, 1) is |5 - theta|.
    assert code == 0
    from torch.testing import assert_close

    assert_close(result["w1"], abs(5.0 - result["theta"]), rtol=0, atol=1e-3)
    assert 0 < result["jsd"] < 0.6931


def test_periodic_evaluation_during_training(capsys, tmp_path):
    run = tmp_path / "run"
    code, _, _ = run_cli(capsys, "train", "ring8", "--steps", "10", "--out", str(run), *TINY,
                         "eval.every=5", "eval.num=200")
    rows = [json.loads(s) for s in (run / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in rows if r.get("kind") == "eval"]
    assert code == 0 and [r["step"] for r in evals] == [5, 10] and all(r["n"] == 200 for r in evals)


def test_demo_writes_figures_and_numbers(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "demo", "saddle", "--out", str(tmp_path / "d"))
    numbers = json.loads(out)
    assert code == 0
    assert json.loads((tmp_path / "d" / "numbers.json").read_text()) == numbers
    assert any(p.suffix == ".png" for p in (tmp_path / "d").iterdir())
    code, _, err = run_cli(capsys, "demo", "saddles")
    assert code == 2 and "unknown demo 'saddles'; valid: toy1d" in err


def test_report_writes_a_self_contained_html_page(capsys, tmp_path):
    import base64
    import re

    run = tmp_path / "run"
    run_cli(capsys, "train", "ring8", "--steps", "20", "--out", str(run), *TINY)
    run_cli(capsys, "eval", str(run), "--num", "300")
    code, out, _ = run_cli(capsys, "report", str(run))
    page = (run / "report.html").read_text()
    assert code == 0 and str(run / "report.html") in out
    images = re.findall(r"src='data:image/png;base64,([^']+)'", page)
    assert len(images) == 1 + 2 + 1  # the curves, the two sample grids (steps 10, 20), D's decision surface
    assert all(base64.b64decode(i)[:4] == b"\x89PNG" for i in images)
    gifs = re.findall(r"src='data:image/gif;base64,([^']+)'", page)
    assert len(gifs) == 1 and base64.b64decode(gifs[0])[:6] == b"GIF89a"
    assert sorted(p.name for p in (run / "figures").iterdir()) == ["decision.png", "samples.gif"]
    assert "Latest evaluation (step 20)" in page and "hq_fraction" in page and '"preset": "ring8"' in page
    code, _, err = run_cli(capsys, "report", str(tmp_path / "nope"))
    assert code == 2 and "no such run directory" in err


# -- gankit invert and sample --interpolate ----------------------------------------------------

@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("digits") / "run"
    assert main(["train", "digits-dcgan", "--steps", "3", "--out", str(run), "--set", "model.width=8",
                 "data.batch_size=16"]) == 0
    return run


def _heldout_npz(path, n=12, labels=True):
    from gankit.data import load_dataset

    test = load_dataset("digits", "test")
    arrays = {"x": test.x[:n].numpy()}
    if labels:
        arrays["y"] = test.y[:n].numpy()
    np.savez(path, **arrays)
    return test.x[:n], test.y[:n]


def test_invert_writes_z_reconstructions_error_and_labels(capsys, tmp_path, digits_run):
    x, y = _heldout_npz(tmp_path / "x.npz")
    argv = ["invert", str(digits_run), "--images", str(tmp_path / "x.npz"), "--steps", "5", "--seed", "3"]
    code, out, _ = run_cli(capsys, *argv, "--out", str(tmp_path / "a.npz"))
    assert code == 0 and json.loads(out)["n"] == 12
    with np.load(tmp_path / "a.npz") as f:
        assert sorted(f.files) == ["error", "labels", "reconstructions", "z"]
        assert f["z"].shape == (12, 32) and f["reconstructions"].shape == (12, 1, 8, 8) and f["error"].shape == (12,)
        np.testing.assert_array_equal(f["labels"], y.numpy())
        np.testing.assert_allclose(f["error"], ((f["reconstructions"] - x.numpy()) ** 2).reshape(12, -1).mean(1),
                                   rtol=1e-5, atol=1e-7)
        first = {k: f[k].copy() for k in f.files}
    run_cli(capsys, *argv, "--out", str(tmp_path / "b.npz"), "--device", "cpu")
    with np.load(tmp_path / "b.npz") as f:  # deterministic under --seed
        for k in first:
            np.testing.assert_array_equal(f[k], first[k])


def test_invert_bad_input_is_one_line_and_writes_nothing(capsys, tmp_path, digits_run):
    out = tmp_path / "out.npz"
    empty_run = tmp_path / "untrained"
    assert main(["train", "digits-dcgan", "--dry-run"]) == 0
    empty_run.mkdir()
    (empty_run / "config.json").write_text(capsys.readouterr().out)
    _heldout_npz(tmp_path / "ok.npz")
    np.savez(tmp_path / "nox.npz", images=np.zeros((2, 1, 8, 8), np.float32))
    np.savez(tmp_path / "shape.npz", x=np.zeros((2, 1, 28, 28), np.float32))
    np.savez(tmp_path / "label.npz", x=np.zeros((2, 1, 8, 8), np.float32), y=np.array([3, 10]))
    cases = [
        (empty_run, "ok.npz", "no checkpoint yet"),
        (digits_run, "nox.npz", "no array 'x' (found: images)"),
        (digits_run, "shape.npz", "x has shape (2, 1, 28, 28), but the generator makes samples of shape (1, 8, 8)"),
        (digits_run, "label.npz", "label 10 is outside the classes 0..9"),
        (digits_run, "missing.npz", "no such file"),
    ]
    for run, images, message in cases:
        code, _, err = run_cli(capsys, "invert", str(run), "--images", str(tmp_path / images), "--out", str(out))
        assert code == 2 and err.count("\n") == 1 and err.startswith("gankit: error: ") and message in err, err
        assert not out.exists() and not list(tmp_path.glob("*.tmp"))
    code, _, err = run_cli(capsys, "invert", str(digits_run), "--images", str(tmp_path / "ok.npz"),
                           "--out", str(tmp_path / "o.png"))
    assert code == 2 and "must end in .npz" in err
    code, _, err = run_cli(capsys, "invert", str(digits_run), "--images", str(tmp_path / "ok.npz"),
                           "--out", str(out), "--steps", "0")
    assert code == 2 and "--steps 0" in err and not out.exists()


def test_sample_interpolate_writes_latent_walks(capsys, tmp_path, digits_run):
    code, out, _ = run_cli(capsys, "sample", str(digits_run), "--interpolate", "6", "--num", "3",
                           "--out", str(tmp_path / "walk.npz"), "--seed", "2")
    assert code == 0 and "3 latent walks of 6 points" in out
    with np.load(tmp_path / "walk.npz") as f:
        walk = f["samples"]
    assert walk.shape == (18, 1, 8, 8)
    from PIL import Image

    code, _, _ = run_cli(capsys, "sample", str(digits_run), "--interpolate", "6", "--out", str(tmp_path / "walk.png"))
    assert code == 0
    with Image.open(tmp_path / "walk.png") as im:  # 8 walks (the default) of 6 images, 8x8 pixels upscaled 8x
        assert im.size == (6 * (64 + 2 * 8) + 2 * 8, 8 * (64 + 2 * 8) + 2 * 8)
    code, _, err = run_cli(capsys, "sample", str(digits_run), "--interpolate", "1", "--out", str(tmp_path / "w.png"))
    assert code == 2 and "K >= 2" in err
    code, _, err = run_cli(capsys, "sample", str(digits_run), "--out", str(tmp_path / "w.png"))
    assert code == 2 and "--num N is required" in err
