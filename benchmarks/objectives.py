"""One table for the objectives and remedies: the paper's GAN, each remedy alone, the best combinations.

Columns (each a preset, trained from scratch on ONE torch thread, one run at a time):

- ``ring8``, ``grid25``: over the seeds, mean modes covered (and the worst seed), mean
  high-quality fraction and reverse KL (PacGAN / VEEGAN definitions, 2,500 samples), mean
  seconds per run;
- ``stacked``: the ``stacked-mnist5k`` preset, modes out of 1,000 and KL over 26,000 samples
  counted by the bundled digit CNN, and the CPU seconds of training (its budget is CPU time);
- ``mnist5k``: ``mnist5k-dcgan`` trained for an equal CPU budget (``--budget`` seconds of
  process time, whatever the step count), then FID-CNN of 10,000 samples (and its floor).

A row is a set of overrides applied on top of ``PLAIN`` (every remedy off: the paper's game
with the non-saturating cost, what ``--set train.plain=true`` gives), itself on top of the column's preset; the row ``preset`` is the
preset as shipped. Where a row makes no sense for a column (DiffAugment on 2D points) the
cell says so. The full table is expensive on a small machine: choose parts with ``--rows``,
``--columns`` and ``--seeds``, e.g.

    PYTHONPATH=src python benchmarks/objectives.py --columns ring8 --rows gan,pack4,preset --seeds 0,1,2,3,4

Prints per-run lines as they finish, then the markdown table and the published anchors.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time

import torch

from gankit import GankitError, config
from gankit.metrics import evaluate
from gankit.runs import evaluate_generator
from gankit.train import Trainer

# Every remedy off: the paper's game (non-saturating cost, as the paper advises in practice).
PLAIN = {**config.PLAIN_GAME, "train.g_cost": "nonsaturating"}

ROWS: dict[str, dict] = {
    "gan": {},  # the paper's game
    "lsgan": {"train.loss": "lsgan"},
    "wgan-gp": {"train.loss": "wgan", "train.gp": 10.0},
    "hinge": {"train.loss": "hinge"},
    "gp": {"train.gp": 1.0},
    "r1": {"train.r1": 1.0},
    "sn": {"model.spectral_norm": True},
    "pack2": {"model.pack": 2},
    "pack4": {"model.pack": 4},
    "mbstd": {"model.mbstd": 4},
    "smooth": {"train.label_smoothing": 0.1},
    "augment": {"train.augment": "translation,cutout,color"},
    "noise": {"train.instance_noise": 0.3},
    "ema": {"train.ema": 0.999},
    "pack4+gp": {"model.pack": 4, "train.gp": 1.0},
    "clusters": {},  # self-conditioning on CLUSTERS[column] k-means clusters (added per column)
    "preset": None,  # the preset as shipped: the chosen combination
}
# Self-conditioning's cluster count per column: more than the modes where they are known (8, 25),
# Liu et al.'s 100 for images.
CLUSTERS = {"ring8": 20, "grid25": 50, "stacked": 100, "mnist5k": 100}

COLUMNS = {"ring8": "ring8", "grid25": "grid25", "stacked": "stacked-mnist5k", "mnist5k": "mnist5k-dcgan"}

ANCHORS = """Published anchors (Lin et al. 2018, "PacGAN"):
  ring8   GAN          6.3 modes / 98.2% HQ / reverse KL 0.45
  grid25  GAN         17.3 modes / 94.8% HQ / reverse KL 0.70     PacGAN4 24.8 modes / reverse KL 0.04
  Stacked MNIST  DCGAN 99 modes / KL 3.4    PacDCGAN2 1,000 modes / KL 0.06 (26,000 samples)
  (their nets, steps and data differ from ours: compare the direction, not the digits)"""


def config_for(row: str, column: str, seed: int, sets: dict) -> config.Config:
    over = {} if ROWS[row] is None else {**PLAIN, **ROWS[row]}
    if row == "clusters":
        over["model.clusters"] = CLUSTERS[column]
    return config.resolve(COLUMNS[column], {**over, **sets, "seed": seed, "train.threads": 1})


def run_cell(row: str, column: str, seed: int, sets: dict, budget: float) -> dict:
    """Train one run and evaluate it; returns the metrics and the training time (wall, CPU)."""
    cfg = config_for(row, column, seed, sets)
    wall, cpu = time.perf_counter(), time.process_time()  # set-up (data, a self-conditioned run's k-means) counts
    trainer = Trainer(cfg)
    if column == "mnist5k":  # an equal CPU budget, however many steps it buys
        while time.process_time() - cpu < budget:
            trainer.train_step()
    else:
        while trainer.step < cfg.train.steps:
            trainer.train_step()
    out = {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu, "steps": trainer.step}
    if column == "mnist5k":
        x = trainer.sample(10_000, seed=seed)
        out.update(evaluate(x, cfg.data.name, ["fid_cnn"]))
    else:
        out.update(evaluate_generator(cfg, trainer.sampler, None, None, seed=seed))
    return out


def summarise(column: str, runs: list[dict]) -> str:
    def mean(key: str) -> float:  # a reverse KL with no high-quality sample is None (NaN in JSON)
        return statistics.fmean(math.nan if r[key] is None else r[key] for r in runs)

    secs = mean("wall_s")
    if column in ("ring8", "grid25"):
        worst = min(r["modes"] for r in runs)
        return (f"{mean('modes'):.1f} (min {worst}) / {mean('hq_fraction'):.3f} / {mean('reverse_kl'):.3f} / "
                f"{secs:.0f} s")
    if column == "stacked":
        return f"{mean('modes'):.0f} / {mean('reverse_kl'):.3f} / {mean('cpu_s'):.0f} CPU s"  # the budget is CPU time
    return f"{mean('fid_cnn'):.1f} (floor {mean('fid_cnn_floor'):.1f}) / {mean('steps'):.0f} steps"


HEADERS = {"ring8": "ring8: modes / HQ / rev. KL / s", "grid25": "grid25: modes / HQ / rev. KL / s",
           "stacked": "stacked-mnist5k: modes / KL / CPU s", "mnist5k": "mnist5k FID-CNN at equal CPU"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated, of: {', '.join(ROWS)}")
    parser.add_argument("--columns", default="ring8,grid25", help=f"comma-separated, of: {', '.join(COLUMNS)}")
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--stacked-seeds", default="0", help="seeds for the stacked column (a run is minutes)")
    parser.add_argument("--mnist-seeds", default="0", help="seeds for the mnist5k column")
    parser.add_argument("--budget", type=float, default=120.0, help="mnist5k: CPU seconds of training per run")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="overrides for every run")
    parser.add_argument("--row", nargs="+", action="append", default=[], metavar="NAME KEY=VALUE",
                        help="an extra row: its name, then its overrides (on top of the plain game); repeatable")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for name, *items in args.row:
        ROWS[name] = config.parse_sets(items)
    rows = [r for r in args.rows.split(",") if r] + [name for name, *_ in args.row]
    columns = args.columns.split(",")
    for name, valid, what in ((rows, ROWS, "row"), (columns, COLUMNS, "column")):
        for n in name:
            if n not in valid:
                sys.exit(f"unknown {what} {n!r}; valid: {', '.join(valid)}")
    sets = config.parse_sets(args.set)
    seeds = {c: [int(s) for s in (args.stacked_seeds if c == "stacked" else args.mnist_seeds if c == "mnist5k"
                                   else args.seeds).split(",")] for c in columns}
    table: dict[tuple[str, str], str] = {}
    for row in rows:
        for column in columns:
            runs = []
            try:
                for seed in seeds[column]:
                    r = run_cell(row, column, seed, sets, args.budget)
                    runs.append(r)
                    shown = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()
                             if k in ("modes", "hq_fraction", "reverse_kl", "fid_cnn", "wall_s", "cpu_s", "steps")}
                    print(f"{row:10s} {column:8s} seed {seed}: {shown}", flush=True)
                table[row, column] = summarise(column, runs)
            except GankitError as exc:  # a meaningless combination: the config says why
                table[row, column] = f"n/a ({exc})"
                print(f"{row:10s} {column:8s}: n/a ({exc})", flush=True)
    print()
    print(f"seeds {args.seeds} (stacked {args.stacked_seeds}, mnist5k {args.mnist_seeds}); "
          f"extra settings: {' '.join(args.set) or 'none'}; one torch thread")
    print("| row | " + " | ".join(HEADERS[c] for c in columns) + " |")
    print("|---|" + "---|" * len(columns))
    for row in rows:
        print(f"| {row} | " + " | ".join(table[row, c] for c in columns) + " |")
    print()
    print(ANCHORS)


if __name__ == "__main__":
    main()
