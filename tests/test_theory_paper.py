"""The 2014 paper's MNIST experiment: Figure 2's layout, its nearest neighbours, the demo's files,
and the preset training past the point where it used to diverge."""

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image
from torch.testing import assert_close

from gankit import GankitError, config
from gankit.theory import run_demo
from gankit.metrics.memorisation import nearest_distances
from gankit.theory.paper import PAPER_PARZEN_MNIST, figure2_grid

YELLOW = [255, 220, 0]


def test_nearest_neighbours_match_brute_force():
    g = torch.Generator().manual_seed(0)
    samples, train = torch.rand(37, 1, 5, 5, generator=g), torch.rand(301, 1, 5, 5, generator=g)
    brute = torch.cdist(samples.flatten(1).double(), train.flatten(1).double()).argmin(1)
    assert torch.equal(nearest_distances(samples, train, batch_size=8)[1], brute)
    # an exact copy of a training image finds that image
    assert nearest_distances(train[[7, 300]], train)[1].tolist() == [7, 300]


def test_figure2_puts_the_nearest_training_image_in_a_yellow_last_column():
    g = torch.Generator().manual_seed(1)
    train = torch.rand(50, 1, 28, 28, generator=g) * 2 - 1
    samples = torch.rand(30, 1, 28, 28, generator=g) * 2 - 1
    samples[4] = train[11]  # row 0's last sample is a training image: its neighbour is that image
    grid = figure2_grid(samples, train, rows=6, cols=5)
    scale, pad, side = 2, 4, 56  # 28x28 tiles are drawn at 2x, with 2-pixel padding scaled too
    assert grid.shape == (6 * (side + pad) + pad, 6 * (side + pad) + pad, 3)
    left = 5 * (side + pad) + pad
    tile = grid[pad : pad + side, left : left + side, 0]
    expected = ((train[11, 0] + 1) * 127.5).round().to(torch.uint8).numpy().repeat(2, 0).repeat(2, 1)
    assert np.array_equal(tile, expected)
    # yellow frame just outside the neighbour's tile, none around the samples' tiles
    assert grid[pad - 1, left + 10].tolist() == YELLOW and grid[pad + side, left + 10].tolist() == YELLOW
    assert grid[pad + 10, left - 1].tolist() == YELLOW and grid[pad + 10, left + side].tolist() == YELLOW
    assert YELLOW not in grid[:, : left - scale].reshape(-1, 3).tolist()


def test_paper_demo_writes_figure_and_parzen_row_and_continues_its_run(tmp_path, monkeypatch):
    from gankit.theory import paper

    monkeypatch.setattr(paper, "NUM_SAMPLES", 600)  # the paper's 10,000 take a minute on a busy CPU
    quick = {"train.steps": 3, "data.batch_size": 8, "log.checkpoint_every": 3}
    numbers = run_demo("paper", tmp_path / "paper", 0, quick)
    out = tmp_path / "paper"
    assert Image.open(out / "figure2.png").size == (6 * 60 + 4, 6 * 60 + 4)
    assert json.loads((out / "numbers.json").read_text()) == numbers
    assert numbers["paper_mnist"] == PAPER_PARZEN_MNIST and numbers["comparable_with_paper"] is False
    assert numbers["train_split"] == "train-minus-valid" and numbers["train_size"] == 3500
    assert numbers["samples"] == 600 and numbers["parzen_n_test"] == 1000  # sigma chosen on 'valid'
    assert math.isfinite(numbers["parzen_ll"]) and numbers["steps"] == 3
    again = run_demo("paper", out, 0, {**quick, "train.steps": 4})  # continues the run: one more step
    assert again["steps"] == 4


def test_only_the_paper_demo_takes_overrides(tmp_path):
    with pytest.raises(GankitError, match=r"^--set: demo 'saddle' trains no preset; only paper and likelihood take --set$"):
        run_demo("saddle", tmp_path, 0, {"train.steps": 3})


@pytest.mark.slow
@pytest.mark.parametrize("g_batchnorm", [True, False], ids=["preset", "released-code"])
def test_mnist_mlp_trains_past_the_step_where_it_used_to_diverge(tmp_path, g_batchnorm):
    """Issue 13: the preset stopped with a NaN loss at steps 58-63 on every seed, with D(x) = 1
    and D(G(z)) = 1 just before. 400 steps take it past that and through D's take-off (~step 250
    with SGD), with and without the preset's one change to the released code."""
    from gankit.loop import check_finite, fit

    cfg = config.resolve("mnist-mlp", {"train.steps": 400, "train.threads": 1, "log.checkpoint_every": 400,
                                       "log.sample_every": 400, "model.g_batchnorm": g_batchnorm})
    seen = []
    fit(cfg, tmp_path / "run", progress=lambda step, stats: seen.append(stats))
    assert len(seen) == 400
    assert all(check_finite(s, i) is None for i, s in enumerate(seen, 1))
    last = seen[-100:]
    d_real = sum(s.d_real for s in last) / len(last)
    d_fake = sum(s.d_fake for s in last) / len(last)
    # D leads, as in the paper's early training, but neither player's output is pinned at 0 or 1
    assert 0.5 < d_real < 0.995
    assert 0.005 < d_fake < 0.5
    assert all(0.0 < s.d_real < 1.0 and 0.0 < s.d_fake < 1.0 for s in seen)


def test_parzen_on_full_mnist_files_follows_the_papers_splits(tmp_path, monkeypatch):
    """With the user's MNIST files: train on train-minus-valid, sigma on valid, LL on all of test."""
    import importlib

    from gankit.data import files
    from gankit.data.files import idx_files
    from gankit.metrics import evaluate

    evaluation = importlib.import_module("gankit.metrics.evaluation")
    idx_tests = importlib.import_module("test_data_files")
    monkeypatch.setattr(idx_files, "IDX_VALID_START", 30)  # as if 30 of the 40 images were the paper's 50,000
    monkeypatch.setattr(evaluation, "PARZEN_VALID_LIMIT", 6)
    idx_tests.write_mnist(tmp_path, "train", n=40)
    idx_tests.write_mnist(tmp_path, "test", n=12)
    fake = torch.rand(50, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    out = evaluate(fake, "mnist", ["parzen"], data_path=str(tmp_path), train_split="train-minus-valid")
    assert out["parzen_n_test"] == 12  # all of test: sigma came from the disjoint valid split

    from gankit.metrics.parzen import parzen_log_likelihood

    valid = files.idx(str(tmp_path), "valid", "mnist").x[:6]
    test = files.idx(str(tmp_path), "test", "mnist").x
    ll, se, sigma = parzen_log_likelihood((fake + 1) / 2, (valid + 1) / 2, (test + 1) / 2)
    assert_close(out["parzen_ll"], ll)
    assert_close(out["parzen_sigma"], sigma)
