"""The BDMC gap of a trained run's generator at several AIS budgets (docs/BENCHMARKS.md, "Likelihood").

    python benchmarks/bdmc_gap.py RUN [--temperatures 100,1000] [--points 3] [--chains 4] [--leapfrog 5]
        [--sigma 0.2] [--threads 1]

For each number of temperatures: forward AIS (a lower bound) and reverse AIS from the true z (an
upper bound) on the same points simulated from the model, their means, the gap, and the CPU time.
The same seed at every budget, so the simulated points are the same.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from gankit.metrics.likelihood import bdmc
from gankit.runs import load_run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--temperatures", default="100,1000")
    parser.add_argument("--points", type=int, default=3)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--leapfrog", type=int, default=5)
    parser.add_argument("--sigma", type=float, default=0.2, help="in the data's units ([-1, 1] pixels)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    run = load_run(Path(args.run))
    print("| temperatures | forward (lower) | reverse (upper) | gap | CPU s |")
    print("|---|---|---|---|---|")
    for t in (int(s) for s in args.temperatures.split(",")):
        start = time.process_time()
        r = bdmc(run.G, sigma=args.sigma, n=args.points, temperatures=t, leapfrog=args.leapfrog, chains=args.chains,
                 seed=args.seed)
        cpu = time.process_time() - start
        print(f"| {t} | {float(r.lower.mean()):.1f} | {float(r.upper.mean()):.1f} | {r.gap:.1f} | {cpu:.0f} |",
              flush=True)
        print(json.dumps({"temperatures": t, "lower": r.lower.tolist(), "upper": r.upper.tolist()}), flush=True)


if __name__ == "__main__":
    main()
