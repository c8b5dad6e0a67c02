"""Quality at equal wall time: `gankit train mnist5k-dcgan` (the `make demo` preset) against a plain
pytorch/examples-style DCGAN loop trained for the same number of seconds on the same data.

gankit runs as a user runs it (`gankit train mnist5k-dcgan --out DIR --seed S`, torch's default
threads); its wall time T is measured around the command (start-up and the k-means of
self-conditioning included). The plain loop then trains for T seconds in this process, at the same
thread count: the preset's nets (28x28 DCGAN, width 32) as plain unconditional nets, built fresh
with the same seed, torch's default layout, pytorch/examples' dcgan hyperparameters
(Adam 2e-4, beta1 0.5, batch 64, BCE with label tensors) and its step (D on a real batch and a
fake batch, then G on that same fake batch, relabelled real); no weight average. Both generators
are then scored by FID-CNN on 10,000 samples against the held-out digits (floor 5.4).

    python benchmarks/quality_vs_plain.py --seeds 0 --out runs/quality-vs-plain
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from gankit import config
from gankit.data import load_dataset
from gankit.models import build
from gankit.runs import evaluate_generator, load_run


def plain_generator(seed: int, seconds: float) -> tuple[torch.nn.Module, int]:
    """The plain loop for ``seconds`` of wall time; returns (G, steps)."""
    cfg = config.resolve("mnist5k-dcgan", {"seed": seed, "train.plain": True})  # unconditional nets, no clusters
    torch.manual_seed(seed)
    data = load_dataset("mnist5k").x
    netG, netD = build(cfg.model, tuple(data.shape[1:]))
    netG, netD = (net.to(memory_format=torch.contiguous_format) for net in (netG, netD))
    optD = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optG = torch.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
    m, nz = 64, netG.z_dim
    real_label, fake_label = torch.ones(m), torch.zeros(m)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for idx in torch.randperm(len(data)).split(m):
            if len(idx) < m or time.perf_counter() - start >= seconds:
                continue
            netD.zero_grad()
            errD_real = F.binary_cross_entropy_with_logits(netD(data[idx]).view(-1), real_label)
            errD_real.backward()
            fake = netG(torch.randn(m, nz))
            errD_fake = F.binary_cross_entropy_with_logits(netD(fake.detach()).view(-1), fake_label)
            errD_fake.backward()
            optD.step()
            netG.zero_grad()
            errG = F.binary_cross_entropy_with_logits(netD(fake).view(-1), real_label)
            errG.backward()
            optG.step()
            steps += 1
    return netG, steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    rows = []
    for seed in (int(s) for s in args.seeds.split(",")):
        run = args.out / f"gankit-seed{seed}"
        start = time.perf_counter()
        train = ["train", "mnist5k-dcgan", "--seed", str(seed), "--out", str(run)]
        subprocess.run([sys.executable, "-m", "gankit", *train], check=True, capture_output=True)
        seconds = time.perf_counter() - start
        gankit_run = load_run(run)
        fid_gankit = evaluate_generator(gankit_run.cfg, gankit_run.G, ["fid_cnn"], num=10_000)["fid_cnn"]
        G, steps = plain_generator(seed, seconds)
        fid_plain = evaluate_generator(gankit_run.cfg, G, ["fid_cnn"], num=10_000)["fid_cnn"]
        rows.append({"seed": seed, "seconds": seconds, "gankit_steps": gankit_run.step, "plain_steps": steps,
                     "fid_gankit": fid_gankit, "fid_plain": fid_plain, "ratio": fid_plain / fid_gankit})
        print(json.dumps(rows[-1]), flush=True)
    print(f"\ntorch threads {torch.get_num_threads()}; FID-CNN on 10,000 samples (floor 5.4)")
    print("| seed | wall s (gankit train, start-up included) | gankit steps | plain steps | FID-CNN gankit | "
          "FID-CNN plain | plain / gankit |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['seed']} | {r['seconds']:.0f} | {r['gankit_steps']} | {r['plain_steps']} | "
              f"{r['fid_gankit']:.1f} | {r['fid_plain']:.1f} | {r['ratio']:.2f} |")


if __name__ == "__main__":
    main()
