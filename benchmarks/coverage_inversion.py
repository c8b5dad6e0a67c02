"""Issue 12's acceptance: does inverting G catch the classes it was not trained on, and how fast is it?

Trains mnist5k-dcgan twice with the command line, on digits 0-4 and on all digits
(`gankit train mnist5k-dcgan --set data.classes=0,1,2,3,4 train.threads=1`), then inverts the
1,000 held-out test digits with `gankit invert` and prints, per run, the mean
reconstruction error on 0-4 and on 5-9, their ratio, and the wall time of the invert
command (start-up included). Everything runs on one torch thread (OMP_NUM_THREADS=1).

    python benchmarks/coverage_inversion.py --out runs/bench-coverage [--steps 200] [--restarts 1] [--seed 0]

Runs already trained in --out are reused (delete them to retrain).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

# Self-conditioning off: the figures in docs/BENCHMARKS.md were measured with the unconditional generator.
RUNS = {"classes 0-4": ["--set", "data.classes=0,1,2,3,4", "train.threads=1", "model.clusters=0"],
        "all classes": ["--set", "train.threads=1", "model.clusters=0"]}


def gankit(*argv: str) -> float:
    """Run ``python -m gankit ARGV`` on one thread; return its wall time in seconds."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "gankit", *argv], check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/bench-coverage")
    parser.add_argument("--steps", type=int, default=200, help="gankit invert --steps")
    parser.add_argument("--restarts", type=int, default=1, help="gankit invert --restarts")
    parser.add_argument("--seed", type=int, default=0, help="gankit invert --seed (the starting z's)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from gankit.data import load_dataset

    test = load_dataset("mnist5k", "test")
    images = out / "heldout.npz"
    np.savez(images, x=test.x.numpy(), y=test.y.numpy())
    rows = []
    for name, sets in RUNS.items():
        run = out / name.replace(" ", "-")
        train_s = None
        if not (run / "checkpoints" / "last").exists():
            train_s = gankit("train", "mnist5k-dcgan", *sets, "--out", str(run))
        inv = run / "heldout-inversion.npz"
        invert_s = gankit("invert", str(run), "--images", str(images), "--out", str(inv),
                          "--steps", str(args.steps), "--restarts", str(args.restarts), "--seed", str(args.seed))
        with np.load(inv) as f:
            error, y = f["error"], f["labels"]
        lo, hi = float(error[y < 5].mean()), float(error[y >= 5].mean())
        per_class = " ".join(f"{float(error[y == c].mean()):.4f}" for c in range(10))
        rows.append((name, train_s, invert_s, lo, hi, hi / lo, per_class))
    print(f"gankit invert on {len(test)} held-out mnist5k digits, --steps {args.steps} --restarts {args.restarts} "
          f"--seed {args.seed}")
    print("| trained on | train s | invert s | error 0-4 | error 5-9 | ratio 5-9 / 0-4 | per class 0..9 |")
    print("|---|---|---|---|---|---|---|")
    for name, train_s, invert_s, lo, hi, ratio, per_class in rows:
        train = "reused" if train_s is None else f"{train_s:.0f}"
        print(f"| {name} | {train} | {invert_s:.0f} | {lo:.4f} | {hi:.4f} | {ratio:.2f} | {per_class} |")


if __name__ == "__main__":
    main()
