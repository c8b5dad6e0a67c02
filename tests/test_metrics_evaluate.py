import json

import pytest
import torch

from gankit import GankitError
from gankit.data import load_dataset
from gankit.metrics import METRICS, describe_metrics, evaluate


def test_unknown_metric_lists_the_valid_names():
    with pytest.raises(GankitError) as err:
        evaluate(torch.zeros(10, 2), "ring8", ["fid_cnn", "nope"])
    assert "'nope'" in str(err.value) and all(name in str(err.value) for name in METRICS)


def test_ring8_defaults_to_mode_counts_and_is_strict_json():
    ring = load_dataset("ring8")
    out = evaluate(ring.sample(800, torch.Generator().manual_seed(0)), "ring8")
    assert out["modes"] == 8 and out["modes_total"] == 8 and out["n"] == 800
    collapsed = evaluate(torch.zeros(100, 2), "ring8")
    assert collapsed["modes"] == 0 and collapsed["reverse_kl"] is None
    json.dumps(collapsed, allow_nan=False)


def test_metric_that_does_not_fit_the_data_and_wrong_shapes_are_user_errors():
    with pytest.raises(GankitError, match="28x28"):
        evaluate(torch.zeros(10, 2), "ring8", ["fid_cnn"])
    with pytest.raises(GankitError, match="shape"):
        evaluate(torch.zeros(10, 3), "ring8")
    with pytest.raises(GankitError, match="NaN"):
        evaluate(torch.full((10, 2), float("nan")), "ring8")


def test_gauss1d_has_no_sample_metrics_by_default():
    assert evaluate(torch.randn(50, 1), "gauss1d") == {"n": 50}


def test_every_metric_has_a_description():
    assert set(describe_metrics()) == set(METRICS) and all(describe_metrics().values())


def test_held_out_real_digits_score_exactly_their_floor():
    test = load_dataset("mnist5k", "test")
    out = evaluate(test.x, "mnist5k", ["fid_cnn", "classes", "memorisation", "cond_accuracy"], fake_labels=test.y)
    assert out["fid_n"] == 1000
    assert out["fid_cnn"] == out["fid_cnn_floor"]
    assert out["classes_missing"] == 0
    assert out["mem_heldout_nn_median"] == 0.0  # the samples are the held-out set itself
    assert out["cond_accuracy"] >= 0.97  # the classifier's own test accuracy
    json.dumps(out, allow_nan=False)


def test_inversion_metric_per_class_and_train(monkeypatch):
    from gankit.data import load_dataset
    from gankit.errors import GankitError
    from gankit.metrics import evaluate, evaluation
    from gankit.models.mlp import MLPGenerator

    monkeypatch.setattr(evaluation, "INVERSION_STEPS", 20)
    torch.manual_seed(0)
    G = MLPGenerator(4, (1, 8, 8), hidden=16, depth=1, tanh=True)
    with torch.no_grad():
        fake = G(torch.randn(50, 4))
    result = evaluate(fake, "digits", ["inversion"], G=G, train_classes="0,1")
    test = load_dataset("digits", "test")
    per_class = result["inversion_per_class"]
    assert sorted(per_class) == [str(c) for c in range(10)] and result["inversion_n"] == len(test)
    counts = torch.bincount(test.y, minlength=10).double()
    weighted = sum(per_class[str(c)] * float(counts[c]) for c in range(10)) / float(counts.sum())
    torch.testing.assert_close(result["inversion"], weighted)
    worst = max(range(10), key=lambda c: per_class[str(c)])
    assert result["inversion_worst_class"] == worst
    torch.testing.assert_close(result["inversion_worst_class_error"], per_class[str(worst)])
    assert result["inversion_train"] > 0
    assert "inversion" not in evaluation.default_metrics("mnist5k", True)
    with pytest.raises(GankitError, match="metric 'inversion' needs the generator itself"):
        evaluate(fake, "digits", ["inversion"])
