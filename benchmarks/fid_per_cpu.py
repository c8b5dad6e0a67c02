"""FID-CNN against training CPU time for one configuration of a digit preset.

Trains PRESET with the given overrides on one torch thread and, every --every steps,
scores 1,000 samples with FID-CNN (the bundled digit CNN, against the training split).
Prints one markdown row per evaluation: steps, CPU seconds of training so far (evaluation
excluded), FID-CNN. Used to tune mnist5k-dcgan for quality per CPU second:

    python benchmarks/fid_per_cpu.py --steps 2000 --set train.lr_g=1e-3
"""

from __future__ import annotations

import argparse
import time

import torch

from gankit import config
from gankit.metrics import evaluate
from gankit.train import Trainer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="mnist5k-dcgan")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--every", type=int, default=250)
    parser.add_argument("--num", type=int, default=1000)
    parser.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    torch.set_num_threads(1)
    cfg = config.resolve(args.preset, config.parse_sets(args.set))
    trainer, cpu = Trainer(cfg), 0.0
    print(f"{args.preset} {' '.join(args.set)}")
    print("| steps | training CPU s | FID-CNN | floor |")
    print("|---|---|---|---|")
    while trainer.step < args.steps:
        start = time.process_time()
        for _ in range(min(args.every, args.steps - trainer.step)):
            trainer.train_step()
        cpu += time.process_time() - start
        result = evaluate(trainer.sample(args.num, seed=0), cfg.data.name, ["fid_cnn"])
        print(f"| {trainer.step} | {cpu:.1f} | {result['fid_cnn']:.1f} | {result['fid_cnn_floor']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
