"""`gankit train mnist-mlp` over several seeds, as a user runs it: the table and grid of docs/paper.md.

Each seed is two commands, `gankit train mnist-mlp --seed S --out DIR/seedS [--set ...]` and
`gankit eval DIR/seedS --metrics fid_cnn,parzen,classes`; ``--jobs`` runs that many seeds at once
(one torch thread each). Prints a markdown table (CPU seconds of training, FID-CNN, Parzen LL,
classes missing) and writes DIR/seeds.png: the last sample grid of every seed side by side.

    python benchmarks/paper_seeds.py --out runs/paper-seeds                                   # the preset
    python benchmarks/paper_seeds.py --out runs/paper-seeds-2014 --set model.g_batchnorm=false  # the released code
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from PIL import Image  # noqa: E402


def gankit(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gankit", *args], capture_output=True, text=True)


def one_seed(seed: int, out: Path, sets: list[str]) -> dict:
    run = out / f"seed{seed}"
    train = subprocess.run(["/usr/bin/time", "-f", "%U %S", sys.executable, "-m", "gankit", "train", "mnist-mlp",
                            "--seed", str(seed), "--out", str(run), "--set", "train.threads=1", *sets],
                           capture_output=True, text=True)
    if train.returncode != 0:
        return {"seed": seed, "error": train.stderr.strip().splitlines()[-1]}
    user, system = map(float, re.findall(r"^([\d.]+) ([\d.]+)$", train.stderr, re.M)[-1])
    ev = gankit("eval", str(run), "--metrics", "fid_cnn,parzen,classes")
    if ev.returncode != 0:
        return {"seed": seed, "error": ev.stderr.strip()}
    return {"seed": seed, "cpu_s": user + system, **json.loads(ev.stdout.strip().splitlines()[-1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    args.out.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(args.jobs) as pool:
        rows = list(pool.map(lambda s: one_seed(s, args.out, args.set), seeds))
    print(f"`gankit train mnist-mlp --seed S` {' '.join(args.set)}; eval: 10,000 samples")
    print("| seed | CPU s training | FID-CNN (floor 5.4) | Parzen LL ± SE | classes missing | class KL to uniform |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        if "error" in r:
            print(f"| {r['seed']} | failed: {r['error']} |")
            continue
        print(f"| {r['seed']} | {r['cpu_s']:.0f} | {r['fid_cnn']:.0f} | {r['parzen_ll']:.0f} ± {r['parzen_se']:.0f} | "
              f"{r['classes_missing']} | {r['class_kl_uniform']:.3f} |")
    grids = [(r["seed"], args.out / f"seed{r['seed']}" / "samples") for r in rows if "error" not in r]
    fig, axes = plt.subplots(1, len(grids), figsize=(2.6 * len(grids), 2.9), squeeze=False)
    for ax, (seed, folder) in zip(axes[0], grids):
        ax.imshow(Image.open(sorted(folder.glob("step_*.png"))[-1]), cmap="gray")
        ax.set_title(f"seed {seed}", fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(args.out / "seeds.png", dpi=110)
    print(f"grid: {args.out / 'seeds.png'}")


if __name__ == "__main__":
    main()
