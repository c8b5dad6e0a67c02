"""Print a markdown table of gankit's metrics on mnist5k for reference sample sets.

Rows (each can be run alone with ``--only NAME``):

- ``floor``: the real test split (1,000 digits) scored against train: what a perfect
  generator scores at this sample size. Its Parzen entry fits the window to the 4,000
  training digits instead (the test split cannot be both the samples and the test data);
  its copy fraction is the rule's false-positive rate on unseen real digits.
- ``noise``: 10,000 images of uniform noise in [-1, 1].
- ``ones``: 10,000 draws (with replacement) from the 400 training images of the digit 1:
  a collapsed generator that copies.
- ``copies``: 10,000 draws (with replacement) from the whole training split: a perfect
  memoriser, which beats the floor on FID and precision/recall and is caught only by the
  memorisation check.
- ``samples``: the ``samples`` array of an .npz written by ``gankit sample RUN --out FILE.npz``
  (``--samples FILE.npz --label NAME``).

    python benchmarks/eval_table.py [--only floor,noise,ones,copies] [--samples F.npz --label NAME]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from gankit.data import load_dataset
from gankit.metrics import default_metrics, evaluate

N = 10_000  # the Parzen protocol's sample count (Goodfellow et al. 2014)
ROWS = ("floor", "noise", "ones", "copies")


def row_samples(name: str, seed: int) -> tuple[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    train = load_dataset("mnist5k", "train")
    if name == "noise":
        return "uniform noise in [-1, 1]", torch.rand(N, 1, 28, 28, generator=g) * 2 - 1
    if name == "ones":
        ones = train.x[train.y == 1]
        return "only 1s (train, with replacement)", ones[torch.randint(len(ones), (N,), generator=g)]
    if name == "copies":
        return "train copies (with replacement)", train.x[torch.randint(len(train), (N,), generator=g)]
    raise ValueError(name)


def evaluate_row(name: str, seed: int, samples: str = "", label: str = "") -> tuple[str, dict]:
    metrics = default_metrics("mnist5k")
    if name == "floor":
        test, train = load_dataset("mnist5k", "test"), load_dataset("mnist5k", "train")
        out = evaluate(test.x, "mnist5k", [m for m in metrics if m != "parzen"], seed=seed)
        parzen = evaluate(train.x, "mnist5k", ["parzen"], seed=seed)  # the window on the 4,000 train digits
        parzen = {k: v for k, v in parzen.items() if k.startswith("parzen_")}
        return "real test split vs train (floor)", {**out, **parzen, "parzen_samples": len(train)}
    if name == "samples":
        with np.load(samples) as f:
            x = torch.from_numpy(f["samples"]).float()
        return label or samples, evaluate(x, "mnist5k", metrics, seed=seed)
    desc, x = row_samples(name, seed)
    return desc, evaluate(x, "mnist5k", metrics, seed=seed)


def fmt(v: float | None, spec: str) -> str:
    return "–" if v is None else format(v, spec)


def table(rows: list[tuple[str, str, dict]]) -> str:
    head = ("| samples | n | FID-CNN | floor | KID | KID floor | IS-CNN | classes missing | class KL | "
            "precision | recall | density | coverage | Parzen LL ± SE (σ) | copies | command |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for desc, command, r in rows:
        parzen = (f"{fmt(r.get('parzen_ll'), '.0f')} ± {fmt(r.get('parzen_se'), '.1f')} "
                  f"({fmt(r.get('parzen_sigma'), '.3f')})")
        lines.append(
            f"| {desc} | {r['n']:,} | {fmt(r.get('fid_cnn'), '.2f')} | {fmt(r.get('fid_cnn_floor'), '.2f')} "
            f"| {fmt(r.get('kid'), '.3f')} | {fmt(r.get('kid_floor'), '.3f')} | {fmt(r.get('is_cnn'), '.2f')} "
            f"| {r.get('classes_missing', '–')} | {fmt(r.get('class_kl_uniform'), '.3f')} "
            f"| {fmt(r.get('precision'), '.3f')} | {fmt(r.get('recall'), '.3f')} | {fmt(r.get('density'), '.3f')} "
            f"| {fmt(r.get('coverage'), '.3f')} | {parzen} | {fmt(100 * r['mem_copy_fraction'], '.1f')}% "
            f"| `{command}` |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(ROWS), help=f"comma-separated rows among {', '.join(ROWS)}")
    parser.add_argument("--samples", default="", help="an .npz with a 'samples' array (N, 1, 28, 28) in [-1, 1]")
    parser.add_argument("--label", default="", help="the row name for --samples")
    parser.add_argument("--seed", type=int, default=0, help="seed for the sample draws and the metrics")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--json", default="", help="also write the raw results to this file")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    names = [r for r in args.only.split(",") if r]
    if args.samples:
        names.append("samples")
    rows, raw = [], {}
    for name in names:
        start = time.time()
        desc, result = evaluate_row(name, args.seed, args.samples, args.label)
        seconds = time.time() - start
        command = (f"python benchmarks/eval_table.py --only {name}" if name != "samples" else
                   f"python benchmarks/eval_table.py --only '' --samples {args.samples} --label {args.label}")
        rows.append((desc, command, result))
        raw[name] = {**result, "seconds": round(seconds, 1)}
        print(f"{name}: {seconds:.1f}s", flush=True)
    print()
    print(table(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(raw, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
