"""Regenerate docs/figures/ from the lecture demos and print how long each took.

    python benchmarks/make_theory_figures.py [--only NAME ...] [--seed 0] [--work DIR]

Each demo runs once with one CPU thread (the setting the one-minute budget is stated for);
its PNGs are copied into docs/figures/ and its numbers.json is left in --work/NAME/.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path

import torch

from gankit.theory import DEMOS

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=list(DEMOS), help="demos to run (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=None, help="where each demo writes (default: a temp folder)")
    parser.add_argument("--figures", type=Path, default=ROOT / "docs" / "figures")
    args = parser.parse_args()
    torch.set_num_threads(1)
    work = args.work or Path(tempfile.mkdtemp(prefix="gankit-theory-"))
    args.figures.mkdir(parents=True, exist_ok=True)
    print(f"{'demo':<15}{'wall s':>8}{'cpu s':>8}  figures")
    for name in args.only or list(DEMOS):
        run, _ = DEMOS[name]
        out = work / name
        wall, cpu = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
        run(out, args.seed)
        wall = time.perf_counter() - wall
        now = resource.getrusage(resource.RUSAGE_SELF)
        cpu = (now.ru_utime - cpu.ru_utime) + (now.ru_stime - cpu.ru_stime)
        pngs = sorted(out.glob("*.png"))
        for png in pngs:
            shutil.copy(png, args.figures / png.name)
        sizes = ", ".join(f"{p.name} ({p.stat().st_size // 1024} KB)" for p in pngs)
        print(f"{name:<15}{wall:>8.1f}{cpu:>8.1f}  {sizes}", flush=True)
    print(f"numbers: {work}/<demo>/numbers.json")


if __name__ == "__main__":
    main()
