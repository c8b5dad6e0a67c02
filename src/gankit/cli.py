"""The command line: parse, validate, call the library, print. Nothing else lives here."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from gankit.errors import GankitError


def _cmd_presets(args: argparse.Namespace) -> int:
    from gankit.config import PRESETS

    width = max(map(len, PRESETS))
    for name, (description, _) in PRESETS.items():
        print(f"{name:<{width}}  {description}")
    return 0


def _resolve_train_config(args: argparse.Namespace):
    from gankit import config
    from gankit.runs import read_config

    overrides = config.parse_sets(args.set or [])
    if args.steps is not None:
        overrides["train.steps"] = args.steps
    if args.seed is not None:
        overrides["seed"] = args.seed
    if args.resume and args.out and (Path(args.out) / "config.json").exists():
        saved = read_config(Path(args.out))
        if saved.preset != args.preset:
            raise GankitError(f"--resume: {args.out} was trained with preset {saved.preset!r}, not {args.preset!r}")
        return config.validate(config.apply(saved, overrides))
    return config.resolve(args.preset, overrides)


def _cmd_train(args: argparse.Namespace) -> int:
    cfg = _resolve_train_config(args)
    if args.dry_run:
        print(cfg.to_json())
        return 0
    if args.resume and not args.out:
        raise GankitError("--resume needs --out RUN (the run directory to continue)")
    out = Path(args.out) if args.out else Path("runs") / f"{cfg.preset}-{time.strftime('%Y%m%d-%H%M%S')}"

    from tqdm import tqdm

    from gankit.loop import fit

    bars = []  # the bar appears with the first step, so an early error prints one line only

    def progress(step: int, stats) -> None:
        if not bars:
            bars.append(tqdm(total=cfg.train.steps, initial=step - 1, desc=cfg.preset, unit="step",
                             dynamic_ncols=True, file=sys.stderr))
        bar = bars[0]
        bar.update(1)
        if step % 10 == 0 or step == cfg.train.steps:
            bar.set_postfix(d_loss=f"{stats.d_loss:.3f}", g_loss=f"{stats.g_loss:.3f}",
                            D_x=f"{stats.d_real:.2f}", D_G_z=f"{stats.d_fake:.2f}", refresh=False)

    try:
        trainer = fit(cfg, out, resume=args.resume, progress=progress)
    finally:
        for bar in bars:
            bar.close()
    if trainer.shard.is_main:  # under torchrun, one line for the whole group
        print(f"trained {cfg.preset} to step {trainer.step}: {out}")
    return 0


def _cmd_sample(args: argparse.Namespace) -> int:
    import numpy as np

    from gankit.runs import generate, labels_to_sample, load_run

    out = Path(args.out)
    if out.suffix not in (".png", ".npz"):
        raise GankitError(f"--out {args.out}: must end in .png or .npz")
    if args.num < 1:
        raise GankitError(f"--num {args.num}: must be >= 1")
    run = load_run(Path(args.run), args.device)
    # A conditional run's PNG without --label: one row per class (the count is rounded up to fill the rows).
    by_rows = out.suffix == ".png" and args.label is None
    labels = labels_to_sample(run.num_classes, args.num, args.label, rows=by_rows)
    num = args.num if labels is None else len(labels)
    samples = generate(run.G, num, seed=args.seed, labels=labels)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".npz":
        arrays = {"samples": samples.numpy().astype(np.float32)}
        if labels is not None:
            arrays["labels"] = labels.numpy().astype(np.int64)
        np.savez(out, **arrays)
    else:
        from gankit.viz import save_samples

        real = None
        if samples.dim() == 2:
            from gankit.train import load_data
            from gankit.data import ToyDistribution

            data = load_data(run.cfg)
            real = data.sample(args.num, None) if isinstance(data, ToyDistribution) else data.x[: args.num]
        nrow = num // run.num_classes if labels is not None and by_rows else None
        save_samples(samples, out, real, title=f"{run.cfg.preset}, step {run.step}", nrow=nrow)
    print(f"wrote {num} samples to {out}")
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    from gankit.runs import evaluate_generator, load_run

    if args.num is not None and args.num < 2:
        raise GankitError(f"--num {args.num}: must be >= 2")
    run = load_run(Path(args.run), args.device)
    names = [n.strip() for n in args.metrics.split(",") if n.strip()] if args.metrics else None
    result = evaluate_generator(run.cfg, run.G, names, args.num, seed=args.seed,
                                inception_weights=args.inception_weights)
    row = {"step": run.step, "kind": "eval", **result}
    with open(run.path / "metrics.jsonl", "a") as f:
        f.write(json.dumps(row) + "\n")
    print(json.dumps(result))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from gankit.theory import run_demo  # imported here: it pulls in the trainer

    out = Path(args.out) if args.out else Path("runs") / f"demo-{args.name}"
    print(json.dumps(run_demo(args.name, out, args.seed)))
    print(f"figures and numbers.json in {out}", file=sys.stderr)
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from gankit.report import write_report

    print(f"wrote {write_report(Path(args.run))}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gankit", description="Generative Adversarial Networks, Goodfellow et al. (2014).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("presets", help="list presets with one-line descriptions")
    p.set_defaults(func=_cmd_presets)

    p = sub.add_parser("train", help="train a preset into a run directory")
    p.add_argument("preset", metavar="PRESET")
    p.add_argument("--set", metavar="KEY=VALUE", nargs="+", action="extend",
                   help="override config values, e.g. --set train.k=3 data.batch_size=128")
    p.add_argument("--steps", type=int, help="generator updates (same as --set train.steps=N)")
    p.add_argument("--seed", type=int, help="the run's seed (same as --set seed=S)")
    p.add_argument("--out", metavar="DIR", help="run directory (default: runs/PRESET-<timestamp>)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("sample", help="draw samples from a trained run")
    p.add_argument("run", metavar="RUN")
    p.add_argument("--num", type=int, required=True, metavar="N")
    p.add_argument("--out", required=True, metavar="FILE.png|FILE.npz")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--label", type=int, default=None, metavar="C", help="class to generate (conditional models)")
    p.add_argument("--device", default="cpu", help="where G runs: cpu (default), cuda, cuda:N, mps or auto")
    p.set_defaults(func=_cmd_sample)

    p = sub.add_parser("eval", help="evaluate a run's generator; prints one JSON object")
    p.add_argument("run", metavar="RUN")
    p.add_argument("--metrics", metavar="a,b,...", help="metric names (default: those that fit the data set)")
    p.add_argument("--num", type=int, metavar="N", help="samples (default: 10,000 for digits, the Parzen protocol)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--inception-weights", default="", metavar="FILE",
                   help="local inception-2015-12-05.pt for fid_inception (never downloaded)")
    p.add_argument("--device", default="cpu", help="where G samples: cpu (default), cuda, cuda:N, mps or auto")
    p.set_defaults(func=_cmd_eval)

    p = sub.add_parser("demo", help="the lecture demos: figures and numbers",
                       description="The lecture demos, each writing PNG figures and numbers.json.")
    p.add_argument("name", metavar="NAME",
                   help="toy1d, optimal-d, bilinear, saddle, gen-costs, mode-collapse, divergences")
    p.add_argument("--out", metavar="DIR", help="output folder (default: runs/demo-NAME)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("report", help="write RUN/report.html: curves, evaluation, samples, config")
    p.add_argument("run", metavar="RUN")
    p.set_defaults(func=_cmd_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except GankitError as exc:
        print(f"gankit: error: {exc}", file=sys.stderr)
        return 130 if type(exc).__name__ == "Interrupted" else 2
    except KeyboardInterrupt:
        print("gankit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
