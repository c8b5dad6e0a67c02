"""Nothing lost: atomic checkpoints, exact resume after kill -9 or a failed write."""

import errno
import os
import random
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from gankit import GankitError, checkpoint, config
from gankit.loop import fit

ARGS = ["--set", "model.width=32", "model.depth=2", "data.batch_size=64", "log.every=5", "log.sample_every=50",
        "log.checkpoint_every=3", "train.threads=1"]


def weights(run):
    last = run / "checkpoints" / "last"
    return load_file(str(last / "generator.safetensors")), load_file(str(last / "discriminator.safetensors"))


def assert_bit_identical(run_a, run_b):
    for a, b in zip(weights(run_a), weights(run_b)):
        assert a.keys() == b.keys()
        for key in a:
            assert torch.equal(a[key], b[key]), key


def train_cmd(run, steps, resume):
    cmd = [sys.executable, "-m", "gankit", "train", "ring8", "--steps", str(steps), "--out", str(run), *ARGS]
    return cmd + (["--resume"] if resume else [])


@pytest.mark.slow
def test_kill_9_at_random_moments_then_resume_is_bit_identical(tmp_path):
    steps = 300
    subprocess.run(train_cmd(tmp_path / "straight", steps, False), check=True, capture_output=True)
    run, rng, kills = tmp_path / "killed", random.Random(1234), 0
    while True:
        proc = subprocess.Popen(train_cmd(run, steps, run.exists()), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        if kills < 5:
            time.sleep(rng.uniform(1.5, 4.0))  # interpreter start-up is ~1.5 s, then training
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                kills += 1
            proc.wait()
            continue
        assert proc.wait(timeout=300) == 0
        break
    assert kills == 5
    assert_bit_identical(tmp_path / "straight", run)
    steps_logged = [int(line.split('"step": ')[1].split(",")[0]) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps_logged == sorted(set(steps_logged))  # no duplicate lines from replayed steps


def tiny_cfg(steps):
    # train.ema=0: the fsync counts below assume the three files of a checkpoint without G's average.
    return config.resolve("ring8", {"model.width": 16, "model.depth": 2, "data.batch_size": 32,
                                    "train.steps": steps, "log.every": 2, "log.sample_every": 100,
                                    "log.checkpoint_every": 2, "train.ema": 0.0})


@pytest.mark.parametrize("fail_at", ["generator", "discriminator", "state", "fsync", "link"])
def test_a_failed_checkpoint_write_keeps_the_previous_one_and_resume_stays_exact(tmp_path, monkeypatch, fail_at):
    straight = fit(tiny_cfg(8), tmp_path / "straight")
    run = tmp_path / "run"
    fit(tiny_cfg(4), run)
    before = {p.name: p.read_bytes() for p in (run / "checkpoints" / "last").iterdir()}

    calls = {"save_file": 0}
    real_save_file, real_torch_save, real_fsync, real_replace = (
        checkpoint.save_file, checkpoint.torch.save, checkpoint._fsync, checkpoint.os.replace)

    def full_disk(*a, **kw):
        raise OSError(errno.ENOSPC, "No space left on device")

    def save_file(*a, **kw):
        calls["save_file"] += 1
        if (fail_at, calls["save_file"]) in (("generator", 1), ("discriminator", 2)):
            full_disk()
        return real_save_file(*a, **kw)

    monkeypatch.setattr(checkpoint, "save_file", save_file)
    if fail_at == "state":
        monkeypatch.setattr(checkpoint.torch, "save", full_disk)
    if fail_at == "fsync":
        monkeypatch.setattr(checkpoint, "_fsync", full_disk)
    if fail_at == "link":
        def replace(src, dst):
            if str(src).endswith("last.tmp"):
                full_disk()
            return real_replace(src, dst)

        monkeypatch.setattr(checkpoint.os, "replace", replace)
    with pytest.raises(GankitError, match=r"step 6: could not write the checkpoint \(No space left on device\); "
                                          r"step_0000004 is intact"):
        fit(tiny_cfg(8), run, resume=True)
    monkeypatch.setattr(checkpoint, "save_file", real_save_file)
    monkeypatch.setattr(checkpoint.torch, "save", real_torch_save)
    monkeypatch.setattr(checkpoint, "_fsync", real_fsync)
    monkeypatch.setattr(checkpoint.os, "replace", real_replace)

    last = run / "checkpoints" / "last"
    assert last.resolve().name == "step_0000004"
    assert {p.name: p.read_bytes() for p in last.iterdir()} == before
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["last", "step_0000004"]
    resumed = fit(tiny_cfg(8), run, resume=True)
    for a, b in zip(straight.G.state_dict().values(), resumed.G.state_dict().values()):
        assert torch.equal(a, b)


def test_sigterm_finishes_the_step_saves_and_exits_non_zero(tmp_path):
    run = tmp_path / "run"
    proc = subprocess.Popen(train_cmd(run, 100000, False), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not (run / "metrics.jsonl").exists() and time.time() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    last_line = err.strip().splitlines()[-1]
    assert last_line.startswith("gankit: error: SIGTERM received: stopped after step ")
    step = int(last_line.split("after step ")[1].split(",")[0])
    assert checkpoint.latest(run).name == f"step_{step:07d}"


def test_pickle_that_would_run_code_is_refused(tmp_path):
    run = tmp_path / "run"
    fit(tiny_cfg(2), run)
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    import pickle

    state = run / "checkpoints" / "last" / "state.pt"
    state.write_bytes(pickle.dumps({"step": 2, "evil": Evil()}))
    with pytest.raises(GankitError, match="refused to load: the file holds objects that could run code"):
        fit(tiny_cfg(4), run, resume=True)
    assert not marker.exists()


def test_nan_rollback_restores_the_last_checkpoint_halves_the_learning_rates_and_goes_on(tmp_path, monkeypatch):
    import math

    import gankit.train as train_mod

    real_step, calls = train_mod.train_step, {"n": 0}

    def flaky_step(*args, **kwargs):
        calls["n"] += 1
        stats = real_step(*args, **kwargs)
        if calls["n"] == 5:  # the fifth call (step 5) diverges once
            stats.g_loss = math.nan
        return stats

    monkeypatch.setattr(train_mod, "train_step", flaky_step)
    cfg = config.apply(tiny_cfg(8), {"train.on_nan": "rollback"})
    trainer = fit(cfg, tmp_path / "run")
    assert trainer.step == 8 and trainer.lr_scale == 0.5
    assert calls["n"] == 9  # steps 1-5, rollback to 4, steps 5-8
    assert [g["lr"] for g in trainer.opt_G.param_groups] == [cfg.train.lr_g * 0.5]
    rows = [line for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    steps = [int(r.split('"step": ')[1].split(",")[0]) for r in rows]
    assert steps == [2, 4, 6, 8]


def diverge_from_now_on(monkeypatch, player: str, value: float) -> None:
    """Make every later step report ``value`` as ``player``'s loss ("d_loss" or "g_loss")."""
    import gankit.train as train_mod

    real_step = train_mod.train_step

    def diverging(*args, **kwargs):
        stats = real_step(*args, **kwargs)
        setattr(stats, player, value)
        return stats

    monkeypatch.setattr(train_mod, "train_step", diverging)


def test_nan_stop_names_the_step_and_keeps_the_checkpoint(tmp_path, monkeypatch):
    import math

    fit(tiny_cfg(4), tmp_path / "run")
    diverge_from_now_on(monkeypatch, "d_loss", math.inf)
    with pytest.raises(GankitError, match=r"^step 5: the discriminator loss is inf; stopped") as info:
        fit(tiny_cfg(8), tmp_path / "run", resume=True)
    assert checkpoint.latest(tmp_path / "run").name == "step_0000004"
    message = str(info.value)
    assert "\n" not in message
    assert f"the last good checkpoint, step_0000004, is in {tmp_path / 'run'}/checkpoints/last" in message
    assert "nothing was saved" not in message


def test_nan_stop_before_any_checkpoint_says_nothing_was_saved(tmp_path, monkeypatch):
    import math

    diverge_from_now_on(monkeypatch, "g_loss", math.nan)
    with pytest.raises(GankitError, match=r"^step 1: the generator loss is nan; stopped") as info:
        fit(tiny_cfg(8), tmp_path / "run")
    message = str(info.value)
    assert checkpoint.latest(tmp_path / "run") is None
    assert "\n" not in message and "checkpoints/last" not in message
    assert "nothing was saved" in message
    assert "train.on_nan=rollback" in message and "train.lr_g" in message


KILL_DRIVER = """
import pathlib, sys, time
from gankit import checkpoint, config
from gankit.loop import fit

run, marker, at = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), int(sys.argv[3])
real_fsync, calls = checkpoint._fsync, [0]

def fsync_then_hang(path):
    calls[0] += 1
    if calls[0] == at:  # the parent sends SIGKILL while we sit inside the checkpoint write
        marker.touch()
        time.sleep(60)
    real_fsync(path)

checkpoint._fsync = fsync_then_hang
cfg = config.resolve("ring8", {"model.width": 16, "model.depth": 2, "data.batch_size": 32, "train.steps": 8,
                               "log.every": 2, "log.sample_every": 100, "log.checkpoint_every": 2, "train.threads": 1,
                               "train.ema": 0.0})
fit(cfg, run)
"""


# Each save fsyncs the three files, the folder, then (after the link swap) the checkpoints folder:
# calls 6-10 belong to the second checkpoint (step 4). 6: generator written, nothing linked;
# 9: all written and fsynced, link not swapped; 10: link swapped, old folder not yet removed.
@pytest.mark.parametrize("at", [6, 9, 10])
def test_kill_9_inside_a_checkpoint_write_then_resume_is_bit_identical(tmp_path, at):
    straight = fit(tiny_cfg(8), tmp_path / "straight")
    run, marker = tmp_path / "run", tmp_path / "inside-write"
    proc = subprocess.Popen([sys.executable, "-c", KILL_DRIVER, str(run), str(marker), str(at)])
    deadline = time.time() + 120
    while not marker.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert marker.exists()
    proc.kill()
    proc.wait()
    expected_last = "step_0000004" if at == 10 else "step_0000002"
    assert checkpoint.latest(run).name == expected_last
    resumed = fit(tiny_cfg(8), run, resume=True)
    for a, b in zip(straight.G.state_dict().values(), resumed.G.state_dict().values()):
        assert torch.equal(a, b)
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["last", "step_0000008"]
