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
    assert len(images) == 1 + 2  # the curves and the two sample grids (steps 10, 20)
    assert all(base64.b64decode(i)[:4] == b"\x89PNG" for i in images)
    assert "Latest evaluation (step 20)" in page and "hq_fraction" in page and '"preset": "ring8"' in page
    code, _, err = run_cli(capsys, "report", str(tmp_path / "nope"))
    assert code == 2 and "no such run directory" in err
