"""model.memory_format=auto and model.thin_deconv=auto: measured once per machine and setting, cached, recorded;
never a shifted seed."""

import json

import pytest
import torch

from gankit import GankitError, config, tuning
from gankit.loop import fit
from gankit.models import build
from gankit.models.layers import ThinConvTranspose2d
from gankit.runs import load_run
from gankit.train import Trainer

SMALL = {"model.width": 4, "data.batch_size": 8, "model.clusters": 0, "train.ema": 0.0, "train.steps": 2,
         "log.sample_every": 2, "log.checkpoint_every": 2, "log.grid": 4}


@pytest.fixture
def measuring(monkeypatch, tmp_path):
    """auto really measures (the suite pins it), into a cache of this test's own; counts the measurements."""
    monkeypatch.delenv("GANKIT_MEMORY_FORMAT", raising=False)
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache" / "tuning.json"))
    calls = []
    real = tuning.time_candidates

    def counted(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(tuning, "time_candidates", counted)
    return calls


def test_auto_measures_once_then_reads_the_cache_and_the_run_records_the_choice(measuring, tmp_path):
    cfg = config.resolve("digits-dcgan", SMALL)
    assert cfg.model.memory_format == "auto"
    first = Trainer(cfg)
    assert first.memory_format_source == "measured" and len(measuring) == 1
    assert first.cfg.model.memory_format in tuning.LAYOUTS and first.cfg.model.thin_deconv in tuning.KERNELS
    cache = json.loads((tmp_path / "cache" / "tuning.json").read_text())
    (entry,) = cache.values()
    assert (entry["memory_format"], entry["thin_deconv"]) == (first.cfg.model.memory_format,
                                                               first.cfg.model.thin_deconv)
    assert set(entry["seconds_per_pass"]) == {f"{a}+{b}" for a in tuning.LAYOUTS for b in tuning.KERNELS}
    assert all(0 < s < 10 for s in entry["seconds_per_pass"].values())
    second = Trainer(cfg)
    assert second.memory_format_source == "cached" and len(measuring) == 1  # no second measurement
    assert second.cfg.model.memory_format == first.cfg.model.memory_format
    assert second.cfg.model.thin_deconv == first.cfg.model.thin_deconv
    thin = next(m for m in second.G.modules() if isinstance(m, ThinConvTranspose2d))
    assert thin.native == (first.cfg.model.thin_deconv == "native")
    # another batch size is another setting: measured anew
    Trainer(config.apply(cfg, {"data.batch_size": 16}))
    assert len(measuring) == 2
    run = fit(cfg, tmp_path / "run")
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["model"]["memory_format"] == first.cfg.model.memory_format
    assert saved["model"]["thin_deconv"] == first.cfg.model.thin_deconv
    assert load_run(tmp_path / "run").cfg.model.memory_format == run.cfg.model.memory_format


def test_measuring_leaves_the_seeded_run_alone(measuring):
    # the measurement builds nets and draws tensors; the run's weights must not notice
    cfg = config.resolve("digits-dcgan", {**SMALL, "model.memory_format": "channels_last"})
    fixed = Trainer(cfg)
    measured = Trainer(config.apply(cfg, {"model.memory_format": "auto"}))
    assert measured.memory_format_source == "measured"
    for (key, a), b in zip(fixed.G.state_dict().items(), measured.G.state_dict().values()):
        assert torch.equal(a, b), key  # the same initial weights (values; the layout may differ)
    fixed.train_step()
    measured.train_step()
    for (key, a), b in zip(fixed.D.state_dict().items(), measured.D.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5, msg=key)


def test_the_layouts_compute_the_same_step_up_to_float_order():
    base = config.resolve("digits-dcgan", {**SMALL, "model.thin_deconv": "onednn"})
    steps = {}
    for layout in tuning.LAYOUTS:
        trainer = Trainer(config.apply(base, {"model.memory_format": layout}))
        conv = next(m for m in trainer.G.modules() if isinstance(m, torch.nn.modules.conv._ConvNd))
        assert conv.weight.is_contiguous(memory_format=torch.channels_last) == (layout == "channels_last")
        assert trainer.memory_format_source == "set"
        trainer.train_step()
        steps[layout] = trainer.G.state_dict()
    for key, value in steps["contiguous"].items():
        torch.testing.assert_close(steps["channels_last"][key], value, rtol=1e-4, atol=1e-5, msg=key)


def test_nets_without_convolutions_and_pinned_settings_are_not_measured(measuring, monkeypatch):
    mlp = Trainer(config.resolve("ring8", {"train.steps": 2, "model.clusters": 0}))
    assert (mlp.cfg.model.memory_format, mlp.memory_format_source) == ("contiguous", "rule")
    monkeypatch.setenv("GANKIT_MEMORY_FORMAT", "contiguous")
    pinned = Trainer(config.resolve("digits-dcgan", SMALL))
    assert (pinned.cfg.model.memory_format, pinned.memory_format_source) == ("contiguous", "pinned")
    assert measuring == []


def test_a_setting_given_is_kept_and_only_the_other_is_measured(measuring):
    kept = Trainer(config.resolve("digits-dcgan", {**SMALL, "model.thin_deconv": "native"}))
    assert kept.cfg.model.thin_deconv == "native" and kept.memory_format_source == "measured"
    (call,) = measuring
    assert call[3] == [("channels_last", "native"), ("contiguous", "native")]  # the candidates timed
    both = Trainer(config.resolve("digits-dcgan", {**SMALL, "model.thin_deconv": "onednn",
                                                   "model.memory_format": "contiguous"}))
    assert (both.cfg.model.memory_format, both.cfg.model.thin_deconv, both.memory_format_source) == \
        ("contiguous", "onednn", "set") and len(measuring) == 1


def test_choose_keeps_the_default_on_a_near_tie_and_takes_a_clear_winner():
    candidates = [(a, b) for a in tuning.LAYOUTS for b in tuning.KERNELS]
    times = {"channels_last+onednn": 1.0, "channels_last+native": 0.99, "contiguous+onednn": 1.2,
             "contiguous+native": 0.98}
    assert tuning.choose(times, candidates, tuning.DEFAULT) == tuning.DEFAULT  # 2% is within the margin
    times["contiguous+native"] = 0.9
    assert tuning.choose(times, candidates, tuning.DEFAULT) == ("contiguous", "native")


def test_an_unwritable_cache_costs_a_measurement_not_the_run(measuring, monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("GANKIT_CACHE", str(blocker / "tuning.json"))
    cfg = config.resolve("digits-dcgan", SMALL)
    assert Trainer(cfg).memory_format_source == "measured"
    assert Trainer(cfg).memory_format_source == "measured"
    assert len(measuring) == 2


def test_a_bad_memory_format_or_kernel_is_one_line_naming_the_key():
    with pytest.raises(GankitError, match=r"^model.memory_format: must be one of auto, channels_last, contiguous"):
        config.resolve("digits-dcgan", {"model.memory_format": "nhwc"})
    with pytest.raises(GankitError, match=r"^model.thin_deconv: must be one of auto, onednn, native, got 'mkl'"):
        config.resolve("digits-dcgan", {"model.thin_deconv": "mkl"})


def test_old_runs_without_the_setting_keep_channels_last():
    G, D = build(config.resolve("digits-dcgan", SMALL).model, (1, 8, 8))  # "auto", unresolved
    conv = next(m for m in G.modules() if isinstance(m, torch.nn.modules.conv._ConvNd))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last) and not conv.weight.is_contiguous()
    assert not next(m for m in G.modules() if isinstance(m, ThinConvTranspose2d)).native  # PyTorch's default kernel
    assert tuning.cpu_model() and isinstance(tuning.cpu_model(), str)
