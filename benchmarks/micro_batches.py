"""What `train.micro_batches` buys: the memory of one training step, and what it costs in time.

For each number of parts, a fresh process builds the preset's Trainer (its kernels pinned, so no tuning runs),
takes two warm-up steps, reads its peak resident memory, takes --steps more and reads the peak again: the rise is
what the step's activations need above the process's resting size. Same nets, minibatch and threads throughout.

Usage: python benchmarks/micro_batches.py [--preset mnist5k-dcgan] [--batch 1024] [--parts 1,2,4,8] [--steps 5]
Prints the CPU model, then per number of parts: the peak memory after the warm-up, and ms per step.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def child(preset: str, batch: int, parts: int, steps: int) -> None:
    import torch

    from gankit import config
    from gankit.train import Trainer

    cfg = config.resolve(preset, {"data.batch_size": batch, "train.micro_batches": parts,
                                  "model.memory_format": "channels_last", "model.thin_deconv": "onednn"})
    trainer = Trainer(cfg)
    rest = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(2):
        trainer.train_step()
    start = time.perf_counter()
    for _ in range(steps):
        trainer.train_step()
    ms = (time.perf_counter() - start) / steps * 1e3
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rest_mib": rest / 1024, "peak_mib": peak / 1024, "ms": ms, "threads": torch.get_num_threads()}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="mnist5k-dcgan")
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--parts", default="1,2,4,8")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.preset, args.batch, args.child, args.steps)
        return
    from gankit.tuning import cpu_model

    print(f"CPU: {cpu_model()}; {args.preset}, minibatch {args.batch}")
    print(f"{'parts':>5} {'rows/part':>9} {'resting MiB':>11} {'peak MiB':>9} {'step rise MiB':>13} {'ms/step':>8}")
    for parts in (int(p) for p in args.parts.split(",")):
        out = subprocess.run([sys.executable, __file__, "--preset", args.preset, "--batch", str(args.batch),
                              "--steps", str(args.steps), "--child", str(parts)],
                             check=True, capture_output=True, text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(f"{parts:>5} {args.batch // parts:>9} {r['rest_mib']:>11.0f} {r['peak_mib']:>9.0f} "
              f"{r['peak_mib'] - r['rest_mib']:>13.0f} {r['ms']:>8.0f}")


if __name__ == "__main__":
    main()
