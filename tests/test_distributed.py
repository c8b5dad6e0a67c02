"""Devices and torchrun DDP: N ranks compute one process's step; preemption and resume are exact."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file
from torch.testing import assert_close

from gankit import GankitError, config
from gankit.data import Batches, Prior, TensorData, load_dataset
from gankit.distributed import SINGLE, Shard, agree, resolve_device
from gankit.loop import fit
from gankit.train import Trainer

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")

# The issue's acceptance commands; log.every=1 only adds lines to metrics.jsonl (no weight changes).
TRAIN = ["train", "ring8", "--steps", "60", "--seed", "3"]


def torchrun(out, *extra):
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "gankit",
            *TRAIN, "--out", str(out), *extra]


def generator(run):
    return load_file(str(run / "checkpoints" / "last" / "generator.safetensors"))


def players(run):
    last = run / "checkpoints" / "last"
    return {f"{name}/{k}": v for name in ("generator", "discriminator")
            for k, v in load_file(str(last / f"{name}.safetensors")).items()}


@pytest.fixture(scope="module")
def two_rank_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("ddp") / "straight"
    subprocess.run(torchrun(run), check=True, capture_output=True, timeout=300)
    return run


# The DDP equivalence check trains ring8 self-conditioned (so the clusters, set up from the seed, are
# checked too) with SGD rather than the preset's Adam, for a reason measured on this check (60 steps,
# two ranks against one process): the ranks sum each gradient in another order (two means of 128
# against one of 256), ~1e-7 apart, and now and then that turns a pre-activation at a ReLU kink the
# other way. SGD's step is linear in the gradient, so such a flip moves a weight by lr / 256 of one
# sample's share and the runs stay float-close (SGD, lr 0.01: 8e-7 to 1.7e-5 on seeds 0, 1, 3, 4, while G moves by 0.04;
# at lr 0.03 a flip reaches 4e-4).
# Adam divides each element by its own running RMS, so a flip in an element whose gradient is small
# becomes a step of up to lr: with the preset's Adam, seed 3 agrees to 5e-8 for 12 steps, then
# diverges to 1e-3 (seed 0: 3e-3; seed 1 stays at 5e-8) -- the float order, amplified, not the set-up.
SGD = ["--set", "train.optimizer=sgd", "train.lr_g=0.01", "train.lr_d=0.01", "train.ema=0"]  # G itself saved


@pytest.fixture(scope="module")
def two_rank_sgd_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("ddp") / "sgd"
    subprocess.run(torchrun(run, *SGD), check=True, capture_output=True, timeout=300)
    return run


@pytest.fixture(scope="module")
def preempted_run(tmp_path_factory):
    """A 2-rank run sent SIGTERM (to torchrun, as a cluster does) after its 5th step, then resumed."""
    run = tmp_path_factory.mktemp("ddp") / "preempted"
    proc = subprocess.Popen(torchrun(run, "--set", "log.every=1"), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    metrics, deadline = run / "metrics.jsonl", time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if metrics.exists() and len(metrics.read_text().splitlines()) >= 5:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    # Each rank says so, naming the signal if it reached that rank before the ranks agreed to stop.
    # (Searched in the whole stream: rank 0's progress bar shares stderr and has no line ends.)
    stopped = re.findall(r"gankit: error: ([^:]*): stopped after step (\d+), checkpoint saved", err)
    saved = (run / "checkpoints" / "last").resolve().name
    resumed = subprocess.run(torchrun(run, "--set", "log.every=1", "--resume"), capture_output=True, text=True,
                             timeout=300)
    return run, proc.returncode, stopped, saved, resumed


def test_two_ranks_train_the_generator_of_one_process(tmp_path, two_rank_sgd_run):
    sets = dict(item.split("=") for item in SGD[1:])
    one = fit(config.resolve("ring8", {**sets, "train.steps": 60, "seed": 3}), tmp_path / "one")
    assert one.step == 60
    single = players(tmp_path / "one")
    ranks = players(two_rank_sgd_run)
    assert single.keys() == ranks.keys()
    for key in ("generator/centroids", "generator/cdf", "discriminator/centroids"):  # set up from the seed
        assert torch.equal(ranks[key], single[key]), key
    for key in single:  # equal up to the order of the float sums (the mean over 256 vs two means of 128)
        assert_close(ranks[key], single[key], rtol=0, atol=1e-4)
    # ... and not trivially: the weights moved away from their initial values
    initial = Trainer(config.resolve("ring8", {"seed": 3})).G.state_dict()
    moved = max((single[f"generator/{key}"] - value).abs().max() for key, value in initial.items())
    assert moved > 1e-2  # G moved 0.037: 2,000x the tolerance


def test_the_issues_two_rank_command_is_one_process_in_two_parts_bit_for_bit(tmp_path, two_rank_run):
    # `torchrun --nproc_per_node=2 -m gankit train ring8 --steps 60 --seed 3` with the preset's Adam: one process
    # whose minibatches go through G and D in two parts (train.micro_batches=2) computes each rank's slice as that
    # rank does and sums the halved gradients as the all-reduce does, so nothing is left to amplify. (Its own
    # thread count: torchrun gives each rank one thread, and a BLAS may split a sum by threads.)
    one = fit(config.resolve("ring8", {"train.micro_batches": 2, "train.threads": 1, "train.steps": 60, "seed": 3}),
              tmp_path / "one")
    assert one.step == 60
    single, ranks = players(tmp_path / "one"), players(two_rank_run)
    assert single.keys() == ranks.keys()
    for key in single:
        assert torch.equal(ranks[key], single[key]), key
    fit(config.resolve("ring8", {"train.steps": 60, "seed": 3}), tmp_path / "plain")
    plain = players(tmp_path / "plain")
    far = max(float((plain[key] - single[key]).abs().max()) for key in single)
    assert far > 1e-4  # ... where the unsplit minibatch drifts away under Adam (1.8e-2 here): see SGD above


def test_two_ranks_in_two_parts_each_train_one_process_in_four(tmp_path):
    # DDP and micro-batches together: each rank sums its two parts' gradients locally (no_sync) and the ranks
    # exchange that sum once. Minibatch stddev (model.mbstd=4, groups strided over the rows D sees at once) makes
    # the parts matter: 2 ranks x 2 parts of 64 rows is 4 parts of 64 in one process, not 2 parts of 128 (what
    # ranks ignoring the setting would train). Not bit for bit against four parts in one process ((a + b) +
    # (c + d) against ((a + b) + c) + d), so with SGD, as above: float-close after 20 steps.
    extra = ["--steps", "20", *SGD, "train.micro_batches=2", "model.mbstd=4"]
    subprocess.run(torchrun(tmp_path / "ddp", *extra), check=True, capture_output=True, timeout=300)
    sets = {**dict(item.split("=") for item in SGD[1:]), "model.mbstd": 4, "train.steps": 20, "seed": 3}
    fit(config.resolve("ring8", {**sets, "train.micro_batches": 4}), tmp_path / "four")
    fit(config.resolve("ring8", {**sets, "train.micro_batches": 2}), tmp_path / "two")
    ranks, four, two = players(tmp_path / "ddp"), players(tmp_path / "four"), players(tmp_path / "two")
    for key in four:
        assert_close(ranks[key], four[key], rtol=0, atol=1e-6)
    near = max(float((ranks[key] - four[key]).abs().max()) for key in four)
    far = max(float((ranks[key] - two[key]).abs().max()) for key in four)
    assert far > 1e-5 and far > 100 * near  # the parts did matter (4.1e-5 against 6.7e-8 here)


def test_sigterm_to_torchrun_then_resume_is_bit_identical_to_an_uninterrupted_run(two_rank_run, preempted_run):
    run, code, stopped, saved, resumed = preempted_run
    assert code != 0 and len(stopped) == 2  # both ranks finished their step and said so
    assert stopped[0][1] == stopped[1][1]  # the same step on both
    assert ("SIGTERM received", stopped[0][1]) in stopped
    step = int(stopped[0][1])
    assert 5 <= step < 60 and saved == f"step_{step:07d}"  # rank 0 saved the step they stopped after
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    a, b = players(run), players(two_rank_run)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_a_preempted_and_resumed_run_logs_every_step_once(preempted_run):
    run = preempted_run[0]
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == list(range(1, 61))  # rank 0 alone writes; nothing replayed twice
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["last", "step_0000060"]


@pytest.mark.parametrize("world", [2, 4])
def test_rank_slices_of_the_data_and_noise_streams_make_up_the_global_batches(world):
    data = TensorData(torch.randn(40, 3))
    whole, parts = Batches(data, 8, seed=1), [Batches(data, 8, seed=1, shard=Shard(r, world)) for r in range(world)]
    noise, noises = Prior(5), [Prior(5, shard=Shard(r, world)) for r in range(world)]
    for _ in range(7):  # across an epoch boundary
        assert all(p.m == 8 // world for p in parts)
        assert torch.equal(torch.cat([p.next()[0] for p in parts]), whole.next()[0])
        assert torch.equal(torch.cat([n.normal(8 // world, 2) for n in noises]), noise.normal(8, 2))
        assert torch.equal(torch.cat([n.classes(8 // world, 10) for n in noises]), noise.classes(8, 10))
    toy = load_dataset("ring8")
    whole, parts = Batches(toy, 8, seed=2), [Batches(toy, 8, seed=2, shard=Shard(r, world)) for r in range(world)]
    assert torch.equal(torch.cat([p.next()[0] for p in parts]), whole.next()[0])


def test_a_single_process_agrees_with_itself():
    values, flag = agree([1.5, -2.0], False, SINGLE)
    assert values == [1.5, -2.0] and flag is False


def test_the_cpu_device_trains_and_checkpoints_hold_cpu_tensors(tmp_path):
    cfg = config.resolve("ring8", {"train.steps": 4, "train.device": "cpu", "log.checkpoint_every": 2})
    trainer = fit(cfg, tmp_path / "run")
    assert trainer.device == torch.device("cpu") and trainer.step == 4


def test_auto_is_the_cpu_without_an_accelerator_and_names_are_checked():
    if not torch.cuda.is_available() and not torch.backends.mps.is_available():
        assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(GankitError, match="train.device"):
        config.resolve("ring8", {"train.device": "gpu"})


@no_cuda
def test_a_missing_cuda_device_is_one_line_naming_cuda(tmp_path):
    cfg = config.resolve("ring8", {"train.steps": 2, "train.device": "cuda"})
    with pytest.raises(GankitError, match=r"^train.device=cuda: no CUDA device is available$"):
        fit(cfg, tmp_path / "run")
    assert not (tmp_path / "run").exists()  # nothing written
    proc = subprocess.run([sys.executable, "-m", "gankit", *TRAIN, "--out", str(tmp_path / "cli"), "--set",
                           "train.device=cuda"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["gankit: error: train.device=cuda: no CUDA device is available"]


def test_batch_size_must_split_over_the_ranks(monkeypatch, tmp_path):
    monkeypatch.setenv("WORLD_SIZE", "3")
    monkeypatch.setenv("RANK", "0")
    with pytest.raises(GankitError, match=r"data.batch_size=256: the global minibatch must split evenly over 3"):
        fit(config.resolve("ring8", {"train.steps": 2}), tmp_path / "run")


@needs_cuda
def test_cuda_training_saves_cpu_checkpoints_that_sample_on_the_cpu(tmp_path):
    cfg = config.resolve("mnist5k-dcgan", {"train.steps": 3, "train.device": "cuda", "log.sample_every": 3})
    trainer = fit(cfg, tmp_path / "run")
    assert trainer.batches.data.x.device.type == "cuda" and trainer.noise.device.type == "cuda"
    assert all(p.device.type == "cuda" for p in trainer.G.parameters())
    assert all(t.device.type == "cpu" for t in generator(tmp_path / "run").values())
    from gankit.runs import generate, load_run

    on_cpu, on_gpu = load_run(tmp_path / "run"), load_run(tmp_path / "run", "cuda")
    assert_close(generate(on_gpu.G, 8, seed=1), generate(on_cpu.G, 8, seed=1), rtol=1e-3, atol=1e-3)


@needs_cuda
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_trains_on_cuda(tmp_path, precision):
    cfg = config.resolve("mnist5k-dcgan", {"train.steps": 5, "train.device": "cuda", "train.precision": precision})
    trainer = fit(cfg, tmp_path / "run")
    assert trainer.step == 5
    assert all(torch.isfinite(t).all() for t in generator(tmp_path / "run").values())


def test_two_ranks_train_a_batchnorm_dcgan_with_evaluation_on_rank_0_without_deadlock(tmp_path):
    run = tmp_path / "dcgan"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "gankit",
           "train", "mnist5k-dcgan", "--steps", "4", "--out", str(run), "--set", "eval.every=2", "eval.num=200",
           "eval.metrics=fid_cnn", "log.every=1", "log.sample_every=2", "log.checkpoint_every=2"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if r.get("kind") == "eval"] == [2, 4]  # once each, by rank 0
    assert [r["step"] for r in rows if "kind" not in r] == [1, 2, 3, 4]
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["fakes_init.png", "reals.png",  # rank 0 only
                                                                   "step_0000002.png", "step_0000004.png"]
    assert proc.stdout.count("trained mnist5k-dcgan to step 4") == 1


def test_sample_and_eval_take_a_device_and_a_missing_one_is_one_line(tmp_path, capsys):
    import numpy as np

    from gankit.cli import main

    fit(config.resolve("ring8", {"train.steps": 2}), tmp_path / "run")
    assert main(["sample", str(tmp_path / "run"), "--num", "16", "--out", str(tmp_path / "a.npz")]) == 0
    assert main(["sample", str(tmp_path / "run"), "--num", "16", "--out", str(tmp_path / "b.npz"),
                 "--device", "cpu"]) == 0
    assert np.array_equal(np.load(tmp_path / "a.npz")["samples"], np.load(tmp_path / "b.npz")["samples"])
    if not torch.cuda.is_available():
        capsys.readouterr()
        assert main(["eval", str(tmp_path / "run"), "--num", "100", "--device", "cuda"]) == 2
        assert capsys.readouterr().err == "gankit: error: --device=cuda: no CUDA device is available\n"
    assert main(["sample", str(tmp_path / "run"), "--num", "4", "--out", str(tmp_path / "c.npz"), "--device", "tpu"]) == 2
    assert capsys.readouterr().err.startswith("gankit: error: --device=tpu: must be auto, cpu")


def test_sync_bn_needs_cuda_and_a_single_process_is_not_wrapped():
    from gankit.distributed import unwrap, wrap

    net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    assert wrap(net, torch.device("cpu"), SINGLE, sync_bn=True) is net and unwrap(net) is net
    with pytest.raises(GankitError, match=r"^model.sync_bn=true needs CUDA devices"):
        wrap(net, torch.device("cpu"), Shard(0, 2), sync_bn=True)
