"""gankit eval --features FILE (a TorchScript network, anything else refused unread) and --real/--fake."""

import hashlib
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from gankit.cli import main
from gankit.errors import GankitError
from gankit.metrics.features import FeatureSpec, check_torchscript_archive, load_feature_net


class TinyFeatures(nn.Module):
    """uint8 (N, 3, H, W) -> 6 features: a conv, a ReLU, global pooling (deterministic weights)."""

    num_features = 6  # read by torchmetrics for a custom feature module

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv(x.float())).mean(dim=(2, 3))


class WritesAFile:
    """A pickle whose loading writes ``path`` (the attack a feature file must not get to run)."""

    def __init__(self, path):
        self.path = Path(path)

    def __reduce__(self):
        return (self.path.write_text, ("this code ran",))


pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")


@pytest.fixture(scope="module")
def net_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("net") / "features.pt"
    torch.jit.script(TinyFeatures()).save(str(path))
    return path


def _npz(path, seed, n=40, side=16, low=0, high=256):
    rng = np.random.default_rng(seed)
    x = rng.integers(low, high, (n, 3, side, side)).astype(np.uint8)
    np.savez(path, x=x)
    return torch.from_numpy(x)


def _eval(capsys, *argv):
    code = main(["eval", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_features_fid_equals_torchmetrics_with_the_same_network(net_file, tmp_path, capsys):
    from torchmetrics.image.fid import FrechetInceptionDistance

    real, fake = _npz(tmp_path / "real.npz", 0), _npz(tmp_path / "fake.npz", 1, low=64)
    code, out, _ = _eval(capsys, "--real", str(tmp_path / "real.npz"), "--fake", str(tmp_path / "fake.npz"),
                         "--features", str(net_file))
    assert code == 0
    result = json.loads(out)
    reference = FrechetInceptionDistance(feature=TinyFeatures())
    reference.update(real, real=True)
    reference.update(fake, real=False)
    torch.testing.assert_close(result["fid"], float(reference.compute()), rtol=1e-6, atol=1e-9)
    assert result["fid"] > 1e-2  # the sets differ (brighter pixels): a real distance, not zero
    assert result["features"]["sha256"] == hashlib.sha256(net_file.read_bytes()).hexdigest()
    assert result["features"]["input_size"] == "native" and result["features"]["dim"] == 6
    assert result["n_real"] == result["n_fake"] == 40

    # resized for the network: the same as resizing first, then torchmetrics
    code, out, _ = _eval(capsys, "--real", str(tmp_path / "real.npz"), "--fake", str(tmp_path / "fake.npz"),
                         "--features", str(net_file), "--feature-size", "12")
    resized = json.loads(out)

    def resize(x):
        y = nn.functional.interpolate(x.float() / 127.5 - 1, size=(12, 12), mode="bilinear", antialias=True)
        return ((y.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)

    reference = FrechetInceptionDistance(feature=TinyFeatures())
    reference.update(resize(real), real=True)
    reference.update(resize(fake), real=False)
    torch.testing.assert_close(resized["fid"], float(reference.compute()), rtol=1e-6, atol=1e-9)
    assert resized["features"]["input_size"] == 12 and "bilinear" in resized["features"]["resize_filter"]

    code, out, _ = _eval(capsys, "--real", str(tmp_path / "real.npz"), "--fake", str(tmp_path / "real.npz"),
                         "--features", str(net_file))
    torch.testing.assert_close(json.loads(out)["fid"], 0.0, rtol=0, atol=1e-6)  # FID(x, x) = 0


@pytest.mark.parametrize("kind", ["pickle", "torch.save"])
def test_a_pickle_as_features_runs_no_code_and_fails_in_one_line(tmp_path, capsys, kind):
    # the attack is real: loading such a pickle does write its file
    probe = tmp_path / "probe.txt"
    pickle.loads(pickle.dumps(WritesAFile(probe)))
    assert probe.read_text() == "this code ran"

    marker = tmp_path / "pwned.txt"
    evil = tmp_path / "features.pt"
    if kind == "pickle":
        evil.write_bytes(pickle.dumps(WritesAFile(marker)))
    else:
        torch.save({"net": WritesAFile(marker)}, evil)
    _npz(tmp_path / "a.npz", 0)
    code, out, err = _eval(capsys, "--real", str(tmp_path / "a.npz"), "--fake", str(tmp_path / "a.npz"),
                           "--features", str(evil))
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "not a TorchScript file" in err and "Traceback" not in err
    assert not marker.exists()
    with pytest.raises(GankitError, match="not a TorchScript file"):
        check_torchscript_archive(evil)
    assert not marker.exists()


def test_load_feature_net_reports_the_hash(net_file):
    net, digest = load_feature_net(net_file)
    assert digest == hashlib.sha256(net_file.read_bytes()).hexdigest()
    assert net(torch.zeros(2, 3, 8, 8, dtype=torch.uint8)).shape == (2, 6)
    with pytest.raises(GankitError, match="--feature-input"):
        FeatureSpec(0, "int16").check()


def test_sets_without_features_need_digits(tmp_path, capsys):
    _npz(tmp_path / "a.npz", 0)
    code, _, err = _eval(capsys, "--real", str(tmp_path / "a.npz"), "--fake", str(tmp_path / "a.npz"))
    assert code == 2 and "bundled digit CNN applies to 28x28 grey digits only" in err
    code, _, err = _eval(capsys, "--real", str(tmp_path / "a.npz"))
    assert code == 2 and "--real and --fake" in err


def test_colour_run_without_features_says_so_and_reports_pixel_checks(photo_run, capsys):
    code, out, err = _eval(capsys, str(photo_run), "--num", "20")
    assert code == 0
    assert "bundled digit CNN applies to 28x28 grey digits only, not to this run's 3x32x32 images" in err
    result = json.loads(out)
    assert result["n"] == 20 and 0 <= result["pixel_copies"] <= 1
    assert result["pixel_nn_fake_median"] > 0 and result["pixel_nn_train_median"] > 0
    assert "fid" not in result


def test_run_with_features_reports_fid_and_what_fixes_it(photo_run, net_file, capsys):
    code, out, _ = _eval(capsys, str(photo_run), "--num", "24", "--features", str(net_file), "--feature-size", "24")
    assert code == 0
    result = json.loads(out)
    assert result["n_fake"] == 24 and result["n_real"] == 32 and result["fid"] > 0
    assert result["features"]["sha256"] == hashlib.sha256(net_file.read_bytes()).hexdigest()
    rows = [json.loads(line) for line in (photo_run / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["kind"] == "eval" and rows[-1]["fid"] == result["fid"]
    # another reference set than the training images
    _npz(photo_run.parent / "other.npz", 3, n=10, side=32)
    code, out, _ = _eval(capsys, str(photo_run), "--num", "24", "--features", str(net_file),
                         "--real", str(photo_run.parent / "other.npz"))
    other = json.loads(out)
    assert code == 0 and other["n_real"] == 10 and other["real"].endswith("other.npz") and other["fid"] != result["fid"]
    code, _, err = _eval(capsys, str(photo_run), "--real", str(photo_run.parent / "other.npz"))
    assert code == 2 and "--features" in err
