"""The `make demo` step (mnist5k-dcgan) with and without this session's two kernel changes, in one process.

Variants, interleaved in rounds of 40 steps on one Trainer (the order reversed every other round):
- "flatten projection": D's projection term as it was, ``<embed(y), phi.flatten(1)>``, whose gradient reaches
  D's channels-last layers in NCHW (the mixed-layout backward kernels);
- "projection in phi's layout": gankit.models.conditional.project as it is;
- the same with DCGAN G's image layer on the native kernel (model.thin_deconv=native) instead of oneDNN.

Usage: python benchmarks/demo_step.py [--rounds 12] [--steps 40] [--threads 2]
Prints the CPU model, then the median ms per step of each variant and its range over the rounds.
"""

from __future__ import annotations

import argparse
import statistics
import time


import gankit.models.dcgan as dcgan
from gankit import config
from gankit.models.conditional import project
from gankit.models import with_kernels
from gankit.train import Trainer
from gankit.tuning import cpu_model


def flatten_project(logits, phi, embed, y):
    return logits + (embed(y) * phi.flatten(1)).sum(1)


VARIANTS = {
    "flatten projection, oneDNN image layer": (flatten_project, False),
    "projection in phi's layout, oneDNN image layer": (project, False),
    "projection in phi's layout, native image layer": (project, True),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    cfg = config.resolve("mnist5k-dcgan", {"model.memory_format": "channels_last", "model.thin_deconv": "onednn",
                                           "train.threads": args.threads})
    trainer = Trainer(cfg)
    for _ in range(20):
        trainer.train_step()
    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    try:
        for r in range(args.rounds):
            for name in VARIANTS if r % 2 == 0 else reversed(VARIANTS):
                dcgan.project, native = VARIANTS[name]
                with_kernels(trainer.G, "native" if native else "onednn")
                for _ in range(3):
                    trainer.train_step()
                start = time.perf_counter()
                for _ in range(args.steps):
                    trainer.train_step()
                times[name].append((time.perf_counter() - start) / args.steps * 1e3)
    finally:
        dcgan.project = project
    print(f"{cpu_model()}, {args.threads} threads, channels-last, {args.rounds} rounds of {args.steps} steps")
    print("| variant | ms per step, median | range |")
    print("|---|---|---|")
    for name, values in times.items():
        print(f"| {name} | {statistics.median(values):.1f} | {min(values):.1f}-{max(values):.1f} |")


if __name__ == "__main__":
    main()
