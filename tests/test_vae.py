"""A VAE around a gankit generator: trained by `gankit train`, read back by sample / eval / report."""

import json

import numpy as np
import pytest
import torch
from torch.testing import assert_close

from gankit import GankitError, config
from gankit.cli import main
from gankit.runs import load_run
from gankit.vae import fit_vae, load_encoder

TINY = ["data.name=digits", "model.width=8", "model.z_dim=4", "data.batch_size=16", "log.every=2",
        "log.sample_every=3", "log.checkpoint_every=3", "train.threads=1"]


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("vae") / "run"
    assert main(["train", "mnist5k-dcvae", "--steps", "6", "--out", str(out), "--set", *TINY]) == 0
    return out


def test_the_run_directory_follows_the_contract(vae_run):
    assert (vae_run / "config.json").exists()
    assert (vae_run / "checkpoints" / "last" / "generator.safetensors").exists()
    rows = [json.loads(line) for line in (vae_run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 4, 6]
    for r in rows:
        assert_close(r["elbo"], r["recon"] - r["kl"], rtol=0, atol=1e-3)
    run = load_run(vae_run)
    assert run.step == 6 and run.cfg.train.method == "vae"
    assert load_encoder(vae_run, run.cfg, run.shape)(torch.zeros(2, 1, 8, 8))[0].shape == (2, 4)


def test_sample_eval_and_report_read_it(vae_run, tmp_path, capsys):
    assert main(["sample", str(vae_run), "--num", "5", "--out", str(tmp_path / "s.npz")]) == 0
    samples = np.load(tmp_path / "s.npz")["samples"]
    assert samples.shape == (5, 1, 8, 8) and np.abs(samples).max() <= 1
    capsys.readouterr()
    assert main(["eval", str(vae_run), "--metrics", "ais", "--ais-temperatures", "3", "--ais-chains", "2",
                 "--ais-points", "2", "--ais-valid-points", "2", "--ais-valid-temperatures", "2", "--ais-bdmc", "1",
                 "--ais-leapfrog", "2", "--ais-sigmas", "0.2,0.4"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["ais_sigma"] in (0.2, 0.4) and result["ais_n_test"] == 2
    assert_close(result["ais_ll_01"], result["ais_ll"] + 64 * np.log(2))
    assert main(["report", str(vae_run)]) == 0
    assert (vae_run / "report.html").exists()


def test_resume_continues_to_the_same_weights(tmp_path):
    sets = dict(s.split("=") for s in TINY)
    cfg = config.resolve("mnist5k-dcvae", {**sets, "train.steps": 4})
    straight = fit_vae(cfg, tmp_path / "a")
    half = fit_vae(config.resolve("mnist5k-dcvae", {**sets, "train.steps": 3}), tmp_path / "b")
    assert half.step == 3
    resumed = fit_vae(cfg, tmp_path / "b", resume=True)
    for a, b in zip(straight.G.state_dict().values(), resumed.G.state_dict().values()):
        assert_close(a, b)


@pytest.mark.parametrize("key, value", [("model.noise", "uniform"), ("model.clusters", "10"),
                                        ("model.conditional", "cgan"), ("train.vae_sigma", "0")])
def test_bad_vae_settings_are_one_line(key, value):
    with pytest.raises(GankitError, match=key) as info:
        config.resolve("mnist5k-vae", config.parse_sets([f"{key}={value}"]))
    assert "\n" not in str(info.value)


def test_bad_ais_options_write_nothing(vae_run, capsys):
    before = (vae_run / "metrics.jsonl").read_text()
    assert main(["eval", str(vae_run), "--metrics", "ais", "--ais-temperatures", "0"]) == 2
    assert main(["eval", str(vae_run), "--metrics", "ais", "--ais-sigmas", "-1"]) == 2
    err = capsys.readouterr().err
    assert "temperatures: must be >= 1" in err and "every sigma must be > 0" in err
    assert (vae_run / "metrics.jsonl").read_text() == before
    assert main(["eval", str(vae_run.parent / "missing"), "--metrics", "ais"]) == 2
    assert main(["demo", "toy1d", "--quick", "--out", str(vae_run.parent / "d")]) == 2
    assert not (vae_run.parent / "d").exists()
