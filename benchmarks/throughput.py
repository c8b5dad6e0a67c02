"""Training speed, like for like: gankit's step against a plain pytorch/examples-style loop.

Both loops train THE SAME nets (one copy of the preset's G and D each, same initial weights;
self-conditioning off, ``model.clusters=0``, since the plain loop has no cluster labels),
on the same data tensor, at the same batch size and thread count, and do the same work per step: a discriminator update on a fresh data minibatch and
m fresh samples, then a generator update on m *fresh* noise samples (Algorithm 1; the
pytorch/examples dcgan reuses the D step's fake batch for G, which is less work, so here it
draws new noise like gankit). The plain loop is written the way pytorch/examples/dcgan
writes it: BCE on D's output with label tensors, separate backward passes for the real and
fake halves, ``netG.zero_grad()``, D not frozen during G's update, default Adam, and torch's
default (NCHW) memory layout. gankit differs in how it runs the same step: channels-last
tensors for the convolutions, fused Adam, no autograd for G in D's update, D's weight
gradients skipped in G's update. A third loop, "plain, channels-last", is the plain loop
given gankit's layout, so the table separates the layout's share from the rest.

Rounds are interleaved (gankit, plain, plain channels-last, then the reverse order, ...), each timing ``--steps`` steps
after a warm-up; the table gives medians and the min-max spread over rounds, at 1 thread
and at all threads. Each round also times a float32 matmul burst, the machine's practical
peak at that thread count, and the achieved GFLOP/s of gankit's step is counted with
``torch.utils.flop_counter.FlopCounterMode`` (FLOPs of one step x steps/s).

    python benchmarks/throughput.py                       # mnist5k-dcgan, 1 and all threads
    python benchmarks/throughput.py --rounds 9 --steps 60 --threads 1,2
    python benchmarks/throughput.py --demo-rss            # also peak RSS of the `make demo` commands
    python benchmarks/throughput.py --device cuda --precision bf16   # on a GPU (fp32/bf16 rows)
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from gankit import config
from gankit.train import Trainer
from gankit.tuning import cpu_model


def plain_loop(trainer: Trainer, seed: int, channels_last: bool = False):
    """A pytorch/examples-style step over copies of the trainer's nets and data; returns step().

    The copies are in torch's default memory layout, as pytorch/examples builds them, unless
    ``channels_last`` (the layout gankit trains its convolutional presets in).
    """
    cfg = trainer.cfg
    layout = torch.channels_last if channels_last else torch.contiguous_format
    netG, netD = (copy.deepcopy(net).to(memory_format=layout) for net in (trainer.sampler, trainer.D))
    data, m, nz, device = trainer.batches.data.x, cfg.data.batch_size, netG.z_dim, trainer.device
    t = cfg.train
    optD = torch.optim.Adam(netD.parameters(), lr=t.lr_d, betas=(t.beta1, t.beta2))
    optG = torch.optim.Adam(netG.parameters(), lr=t.lr_g, betas=(t.beta1, t.beta2))
    gen = torch.Generator().manual_seed(seed)
    state = {"perm": torch.randperm(len(data), generator=gen).to(device), "pos": 0}
    real_label, fake_label = torch.ones(m, device=device), torch.zeros(m, device=device)

    def step() -> None:
        if state["pos"] + m > len(data):
            state["perm"], state["pos"] = torch.randperm(len(data), generator=gen).to(device), 0
        real = data[state["perm"][state["pos"] : state["pos"] + m]]
        state["pos"] += m
        # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
        netD.zero_grad()
        errD_real = F.binary_cross_entropy_with_logits(netD(real).view(-1), real_label)
        errD_real.backward()
        fake = netG(torch.randn(m, nz, device=device))
        errD_fake = F.binary_cross_entropy_with_logits(netD(fake.detach()).view(-1), fake_label)
        errD_fake.backward()
        optD.step()
        # (2) Update G network: maximize log(D(G(z))), on fresh noise as Algorithm 1 has it
        netG.zero_grad()
        fake = netG(torch.randn(m, nz, device=device))
        errG = F.binary_cross_entropy_with_logits(netD(fake).view(-1), real_label)
        errG.backward()
        optG.step()
        (errD_real + errD_fake).item(), errG.item()  # the example prints these every step

    return step


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(step, n: int, device: torch.device) -> float:
    sync(device)
    start = time.perf_counter()
    for _ in range(n):
        step()
    sync(device)
    return time.perf_counter() - start


def flops_per_step(step) -> int:
    with FlopCounterMode(display=False) as counter:
        step()
    return counter.get_total_flops()


def matmul_gflops(device: torch.device, n: int = 1024, reps: int = 8) -> float:
    """float32 GFLOP/s of an n x n matmul, the best of ``reps`` (the practical peak right now)."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    a @ b
    best = float("inf")
    for _ in range(reps):
        sync(device)
        start = time.perf_counter()
        a @ b
        sync(device)
        best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 / best / 1e9


def measure(args, threads: int) -> dict:
    torch.set_num_threads(threads)
    # The plain loop has no cluster labels: the preset's nets without self-conditioning, unless --set says.
    overrides = {"model.clusters": 0, **config.parse_sets(args.set), "train.threads": threads,
                 "train.device": args.device, "train.precision": args.precision, "seed": 0}
    trainer = Trainer(config.resolve(args.preset, overrides))
    m = trainer.cfg.data.batch_size * trainer.cfg.train.k
    torch.set_num_threads(threads)
    loops = {"gankit": trainer.train_step, "plain": plain_loop(trainer, seed=0),
             "plain_cl": plain_loop(trainer, seed=0, channels_last=True)}
    flops = {name: flops_per_step(step) for name, step in loops.items()}
    for step in loops.values():
        timed(step, args.warmup, trainer.device)
    rates: dict[str, list[float]] = {name: [] for name in loops}
    peaks = []
    for r in range(args.rounds):
        order = list(loops) if r % 2 == 0 else list(reversed(loops))
        for name in order:
            rates[name].append(args.steps / timed(loops[name], args.steps, trainer.device))  # steps/s
        peaks.append(matmul_gflops(trainer.device))
    ratios = [g / p for g, p in zip(rates["gankit"], rates["plain"])]
    ratios_cl = [g / p for g, p in zip(rates["gankit"], rates["plain_cl"])]
    achieved = [s * flops["gankit"] / 1e9 for s in rates["gankit"]]
    layout = f"{trainer.cfg.model.memory_format}, {trainer.memory_format_source}"  # model.memory_format=auto's choice
    return {"threads": threads, "layout": layout, "m": m, "rates": rates, "ratios": ratios, "ratios_cl": ratios_cl, "flops": flops,
            "peaks": peaks,
            "achieved": achieved, "share": [a / p for a, p in zip(achieved, peaks)]}


def thread_rounds(args, counts: list[int]) -> dict[int, list[float]]:
    """gankit's images/s at each thread count, the counts interleaved within every round (one
    trainer, torch.set_num_threads switched between the timings): what the default should be."""
    trainer = Trainer(config.resolve(args.preset, {**config.parse_sets(args.set), "train.threads": 0, "seed": 0}))
    m = trainer.cfg.data.batch_size * trainer.cfg.train.k
    rates: dict[int, list[float]] = {n: [] for n in counts}
    timed(trainer.train_step, args.warmup, trainer.device)
    for r in range(args.rounds):
        for n in counts if r % 2 == 0 else list(reversed(counts)):
            torch.set_num_threads(n)
            rates[n].append(m * args.steps / timed(trainer.train_step, args.steps, trainer.device))
    return rates


def precision_rounds(args, precisions: list[str], threads: int) -> dict[str, list[float]]:
    """gankit's images/s in each train.precision, one trainer each (same seed), interleaved within every round."""
    torch.set_num_threads(threads)
    base = {**config.parse_sets(args.set), "train.threads": threads, "train.device": args.device, "seed": 0}
    trainers = {p: Trainer(config.resolve(args.preset, {**base, "train.precision": p})) for p in precisions}
    m = next(iter(trainers.values())).cfg.data.batch_size
    for t in trainers.values():
        timed(t.train_step, args.warmup, t.device)
    rates: dict[str, list[float]] = {p: [] for p in precisions}
    for r in range(args.rounds):
        for p in precisions if r % 2 == 0 else list(reversed(precisions)):
            rates[p].append(m * args.steps / timed(trainers[p].train_step, args.steps, trainers[p].device))
    return rates


def spread(values: list[float], scale: float = 1.0, fmt: str = "{:.0f}") -> str:
    return f"{fmt.format(statistics.median(values) * scale)} ({fmt.format(min(values) * scale)}–" \
           f"{fmt.format(max(values) * scale)})"


def demo_rss(out: str) -> tuple[float, float]:
    """Peak RSS (MiB) of the two commands of `make demo` (train mnist5k-dcgan, then sample), each under
    /usr/bin/time -v; returns (train, sample)."""
    results = []
    for cmd in (["train", "mnist5k-dcgan", "--out", out],
                ["sample", out, "--num", "64", "--out", os.path.join(out, "demo_grid.png"), "--seed", "0"]):
        proc = subprocess.run(["/usr/bin/time", "-v", sys.executable, "-m", "gankit", *cmd], capture_output=True,
                              text=True, check=True)
        kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1))
        results.append(kib / 1024)
    return results[0], results[1]


def ranks_rate(args, ranks: int, steps: int) -> float:
    """images/s of `gankit train` over ``steps`` steps on ``ranks`` torchrun processes (1: a plain process),
    from the steps_per_s of its last metrics line (start-up excluded)."""
    import json

    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "run")
        train = ["-m", "gankit", "train", args.preset, "--steps", str(steps), "--out", out, "--set", f"log.every={steps}",
                 f"log.sample_every={steps}", f"log.checkpoint_every={steps}", f"train.device={args.device}",
                 f"train.precision={args.precision}", *args.set]
        launch = [sys.executable] if ranks == 1 else [sys.executable, "-m", "torch.distributed.run", "--standalone",
                                                      f"--nproc_per_node={ranks}"]
        subprocess.run(launch + train, check=True, capture_output=True)
        rows = [json.loads(line) for line in open(os.path.join(out, "metrics.jsonl"))]
        cfg = config.resolve(args.preset, config.parse_sets(args.set))
    return rows[-1]["steps_per_s"] * cfg.data.batch_size * cfg.train.k


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="mnist5k-dcgan")
    parser.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE")
    parser.add_argument("--threads", default=f"1,{torch.get_num_threads()}",
                        help="comma-separated thread counts (default: 1 and torch's default, all cores)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=40, help="steps per loop per round")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="fp32", help="gankit's train.precision (the plain loop is fp32)")
    parser.add_argument("--demo-rss", action="store_true", help="also run the `make demo` commands for peak RSS")
    parser.add_argument("--ranks", default="", help="e.g. 1,2: images/s of `gankit train` on that many torchrun "
                        "processes (global batch unchanged), interleaved over --rounds, instead of the table")
    parser.add_argument("--precisions", default="", help="e.g. fp32,bf16: gankit's step in each precision, "
                        "interleaved, at the first --threads count, instead of the table")
    parser.add_argument("--threads-only", action="store_true",
                        help="only gankit's step at each --threads count, interleaved (choosing the default)")
    args = parser.parse_args()
    counts = [int(n) for n in args.threads.split(",")]
    if args.precisions:
        names = args.precisions.split(",")
        rates = precision_rounds(args, names, counts[0])
        print(f"{args.preset} on {args.device}, {counts[0]} thread(s): gankit images/s by train.precision, "
              f"{args.rounds} interleaved rounds of {args.steps} steps, load average {os.getloadavg()[0]:.1f}")
        print(f"| precision | images/s, median (min–max) | vs {names[0]} (median of per-round ratios) |")
        print("|---|---|---|")
        for p in names:
            print(f"| {p} | {spread(rates[p])} | {spread([a / b for a, b in zip(rates[p], rates[names[0]])], fmt='{:.2f}')} |")
        return
    if args.ranks:
        ranks = [int(n) for n in args.ranks.split(",")]
        rates: dict[int, list[float]] = {n: [] for n in ranks}
        for r in range(args.rounds):
            for n in ranks if r % 2 == 0 else list(reversed(ranks)):
                rates[n].append(ranks_rate(args, n, args.steps))
        print(f"{args.preset} on {args.device} ({args.precision}): `gankit train` images/s by processes, global batch "
              f"unchanged, {args.rounds} interleaved rounds of {args.steps} steps, load average {os.getloadavg()[0]:.1f}")
        print("| processes | images/s, median (min–max) |")
        print("|---|---|")
        for n in ranks:
            print(f"| {n} | {spread(rates[n])} |")
        return
    if args.threads_only:
        load = os.getloadavg()[0]
        rates = thread_rounds(args, counts)
        print(f"{args.preset}: gankit images/s by torch threads, {args.rounds} interleaved rounds of {args.steps} "
              f"steps, load average {load:.1f} -> {os.getloadavg()[0]:.1f}")
        print("| threads | images/s, median (min–max) | vs 1 thread (median of per-round ratios) |")
        print("|---|---|---|")
        for n in counts:
            ratios = [a / b for a, b in zip(rates[n], rates[counts[0]])]
            print(f"| {n} | {spread(rates[n])} | {spread(ratios, fmt='{:.2f}')} |")
        return

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {cpu_model()} ({platform.machine()}), {os.cpu_count()} logical cores, torch {torch.__version__}, "
          f"device {args.device}, precision {args.precision}, load average at start {load:.1f}; "
          f"{args.rounds} interleaved rounds of {args.steps} steps")
    print()
    print("| threads (gankit's layout) | gankit images/s | plain loop images/s | gankit / plain (per round) | plain, channels-last "
          "images/s | gankit / plain channels-last | GFLOP per step (gankit, plain) | gankit GFLOP/s | "
          "matmul peak GFLOP/s | share of peak |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for threads in counts:
        r = measure(args, threads)
        print(f"| {threads} ({r['layout']}) | {spread(r['rates']['gankit'], r['m'])} | {spread(r['rates']['plain'], r['m'])} | "
              f"{spread(r['ratios'], fmt='{:.2f}')} | {spread(r['rates']['plain_cl'], r['m'])} | "
              f"{spread(r['ratios_cl'], fmt='{:.2f}')} | {r['flops']['gankit'] / 1e9:.2f}, {r['flops']['plain'] / 1e9:.2f} | "
              f"{spread(r['achieved'], fmt='{:.1f}')} | {spread(r['peaks'], fmt='{:.1f}')} | "
              f"{spread(r['share'], 100, '{:.0f}%')} |")
    print()
    print("medians (min–max) over rounds; images/s = data images seen by D per second")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    if args.demo_rss:
        with tempfile.TemporaryDirectory() as tmp:
            train, sample = demo_rss(os.path.join(tmp, "demo"))
        print(f"make demo peak RSS: train {train:.0f} MiB, sample {sample:.0f} MiB")


if __name__ == "__main__":
    main()
