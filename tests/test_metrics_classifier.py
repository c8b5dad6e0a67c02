import importlib.util
from pathlib import Path

import pytest
import torch
from torch.testing import assert_close

from gankit import GankitError
from gankit.data import load_dataset
from gankit.metrics import classifier
from gankit.metrics.classifier import FeatureNet, classifier_info, classify, load_classifier

ROOT = Path(__file__).resolve().parents[1]


def test_bundled_weights_are_small_and_load_frozen_in_eval_mode():
    path = Path(classifier._asset(classifier.WEIGHTS_FILE))
    assert path.stat().st_size <= 1_000_000
    net = load_classifier()
    assert not net.training
    assert not any(p.requires_grad for p in net.parameters())


def test_features_and_logits_shapes_and_feature_module():
    net = load_classifier()
    x = torch.rand(3, 1, 28, 28) * 2 - 1
    f, logits = classify(net, x, batch_size=2)
    assert f.shape == (3, 128) and logits.shape == (3, 10)
    assert_close(logits, net(x), rtol=1e-4, atol=1e-5)
    feature = FeatureNet(net)
    assert feature.num_features == 128
    assert feature(x).dtype == torch.float64
    assert_close(feature(x).float(), f, rtol=1e-4, atol=1e-5)  # batch size changes float32 rounding


def test_bundled_record_matches_the_weights_on_the_test_split():
    info = classifier_info()
    test = load_dataset("mnist5k", "test")
    _, logits = classify(load_classifier(), test.x)
    accuracy = (logits.argmax(1) == test.y).double().mean().item()
    assert round(accuracy, 4) == info["test_accuracy"]
    assert info["test_accuracy"] >= 0.97  # the bar for the bundled network


def test_wrong_shapes_and_bad_weights_are_user_errors(tmp_path):
    with pytest.raises(GankitError, match=r"\(N, 1, 28, 28\)"):
        classify(load_classifier(), torch.zeros(2, 3, 28, 28))
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"nope")
    with pytest.raises(GankitError, match="not DigitCNN weights"):
        load_classifier(bad)
    with pytest.raises(GankitError, match="not found"):
        load_classifier(tmp_path / "missing.safetensors")


@pytest.mark.slow
def test_training_script_is_deterministic(tmp_path):
    spec = importlib.util.spec_from_file_location("train_classifier", ROOT / "scripts/train_classifier.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    threads = torch.get_num_threads()
    try:
        for run in ("a", "b"):
            assert script.main(["--epochs", "1", "--out", str(tmp_path / run)]) == 0
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(False)
    a = load_classifier(tmp_path / "a" / classifier.WEIGHTS_FILE).state_dict()
    b = load_classifier(tmp_path / "b" / classifier.WEIGHTS_FILE).state_dict()
    for key in a:
        assert torch.equal(a[key], b[key]), key
