"""Train the conditional presets on mnist5k and print one markdown row per (preset, seed) (docs/BENCHMARKS.md).

For each preset and seed: ``gankit train PRESET --set seed=S ...`` in a child process, timed by its
wall clock and its CPU time (user + system, from ``getrusage(RUSAGE_CHILDREN)``), then
``gankit eval RUN --num 1000`` with labels drawn uniformly: the class accuracy under the bundled
digit classifier (overall and worst class), FID-CNN and the per-class FID-CNN, each beside its
real-vs-real floor. Training includes everything the CLI does (start-up, data, sample grids,
checkpoints); evaluation is not counted in the budget.

    python benchmarks/conditional_mnist5k.py [--presets mnist5k-cgan,mnist5k-acgan] [--seeds 0,1,2]
        [--set key=value ...] [--num 1000] [--out runs/bench-conditional]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

METRICS = "cond_accuracy,classes,fid_cnn,fid_cnn_per_class"


def cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def train(preset: str, run: Path, sets: list[str]) -> tuple[float, float]:
    """(wall s, CPU s) of ``gankit train preset --set ...``."""
    if run.exists():
        shutil.rmtree(run)
    cpu0, t0 = cpu_children(), time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "gankit", "train", preset, "--out", str(run), "--set", *sets],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode:
        sys.exit(f"gankit train {preset} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - t0, cpu_children() - cpu0


def evaluate(run: Path, num: int) -> dict:
    out = subprocess.run([sys.executable, "-m", "gankit", "eval", str(run), "--num", str(num), "--metrics", METRICS],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="mnist5k-cgan,mnist5k-acgan")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--set", nargs="*", default=[], help="extra config overrides for every run")
    parser.add_argument("--num", type=int, default=1000)
    parser.add_argument("--out", default="runs/bench-conditional")
    args = parser.parse_args()
    print("| preset | seed | steps | wall s | CPU s | class accuracy | worst class | FID-CNN (floor) "
          "| per-class FID-CNN (floor) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for preset in args.presets.split(","):
        for seed in args.seeds.split(","):
            run = Path(args.out) / f"{preset}-seed{seed}"
            wall, cpu = train(preset, run, [f"seed={seed}", *args.set])
            r = evaluate(run, args.num)
            steps = json.loads((run / "config.json").read_text())["train"]["steps"]
            print(f"| `{preset}` | {seed} | {steps} | {wall:.0f} | {cpu:.0f} | {r['cond_accuracy']:.3f} "
                  f"| {r['cond_accuracy_min']:.2f} | {r['fid_cnn']:.1f} ({r['fid_cnn_floor']:.1f}) "
                  f"| {r['fid_cnn_per_class']:.1f} ({r['fid_cnn_per_class_floor']:.1f}) |", flush=True)


if __name__ == "__main__":
    main()
