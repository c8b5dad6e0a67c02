"""What each ``gankit`` command does once its arguments are parsed (``gankit.cli`` parses them): call the
library, print the result. One ``cmd_*`` function a command; the library never prints, these do."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from gankit.errors import GankitError


def cmd_presets(args: argparse.Namespace) -> int:
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


def cmd_train(args: argparse.Namespace) -> int:
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

    def postfix(stats) -> dict:  # the numbers beside the bar: the game's, or the VAE's
        if cfg.train.method == "vae":
            return {"elbo": f"{stats.elbo:.1f}", "kl": f"{stats.kl:.1f}"}
        return {"d_loss": f"{stats.d_loss:.3f}", "g_loss": f"{stats.g_loss:.3f}", "D_x": f"{stats.d_real:.2f}",
                "D_G_z": f"{stats.d_fake:.2f}"}

    def progress(step: int, stats) -> None:
        if not bars:
            bars.append(tqdm(total=cfg.train.steps, initial=step - 1, desc=cfg.preset, unit="step",
                             dynamic_ncols=True, file=sys.stderr))
        bars[0].update(1)
        if step % 10 == 0 or step == cfg.train.steps:
            bars[0].set_postfix(postfix(stats), refresh=False)

    from gankit.watch import format_tick

    def tick(row: dict) -> None:  # images/s, ETA, memory, p, last evaluation (gankit.watch)
        if bars:
            bars[0].set_description_str(f"{cfg.preset} [{format_tick(row)}]", refresh=False)

    def train(cfg, out, resume):
        if cfg.train.method == "vae":  # a VAE around the same G: its own fit, not Algorithm 1
            from gankit.vae import fit_vae

            return fit_vae(cfg, out, resume=resume, progress=progress)
        return fit(cfg, out, resume=resume, progress=progress, tick=tick)

    started = time.perf_counter()
    try:
        trainer = train(cfg, out, args.resume)
    finally:
        for bar in bars:
            bar.close()
    if trainer.shard.is_main:  # under torchrun, one line for the whole group
        print(_train_summary(trainer, out, time.perf_counter() - started))
    return 0


def _train_summary(trainer, out: Path, wall: float) -> str:
    """One line: where, how long (wall, set-up included), the loop's steps/s, and the machine it ran on."""
    import torch

    from gankit.tuning import cpu_model

    cfg = trainer.cfg
    steps, seconds = getattr(trainer, "pace", (0, 0.0))
    source = getattr(trainer, "memory_format_source", "")
    rate = f"{steps / seconds:.1f} steps/s" if steps and seconds > 0 else "no steps trained"
    where = f"{trainer.device.type}" if trainer.device.type != "cpu" else \
        f"{cpu_model()}, {torch.get_num_threads()} thread{'s' if torch.get_num_threads() > 1 else ''}"
    thin = f", {cfg.model.thin_deconv} image layer" if cfg.model.family == "dcgan" else ""
    layout = f", {cfg.model.memory_format}{thin} ({source})" \
        if source in ("measured", "cached") else ""
    return f"trained {cfg.preset} to step {trainer.step} in {wall:.0f} s wall ({rate}; {where}{layout}): {out}"


def cmd_sample(args: argparse.Namespace) -> int:
    import numpy as np

    from gankit.runs import generate, labels_to_sample, load_run

    out = Path(args.out)
    if args.seeds is not None:
        return _sample_seeds(args, out)
    if args.trunc is not None:
        raise GankitError("--trunc applies to --seeds only")
    if args.interpolate is not None:
        return _sample_walk(args, out)
    if out.suffix not in (".png", ".npz"):
        raise GankitError(f"--out {args.out}: must end in .png or .npz")
    if args.num is None:
        raise GankitError("--num N is required (or --interpolate K for a latent walk)")
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
            from gankit.data import load_data
            from gankit.data import ToyDistribution

            data = load_data(run.cfg)
            real = data.sample(args.num, None) if isinstance(data, ToyDistribution) else data.x[: args.num]
        nrow = num // run.num_classes if labels is not None and by_rows else None
        save_samples(samples, out, real, title=f"{run.cfg.preset}, step {run.step}", nrow=nrow)
    print(f"wrote {num} samples to {out}")
    return 0


def _sample_seeds(args: argparse.Namespace, out: Path) -> int:
    from gankit.runs import load_run
    from gankit.sampling import parse_seeds, seed_images, write_seed_pngs

    if args.num is not None or args.interpolate is not None:
        raise GankitError("--seeds: give the images by seed alone (not with --num or --interpolate)")
    if out.suffix.lower() in (".png", ".npz", ".mp4", ".gif", ".jpg", ".jpeg"):
        raise GankitError(f"--out {args.out}: with --seeds, a folder (one seedNNNN.png per seed)")
    seeds = parse_seeds(args.seeds)
    run = load_run(Path(args.run), args.device)
    files = write_seed_pngs(seed_images(run.G, seeds, args.trunc, args.label), seeds, out)
    trunc = "" if args.trunc is None else f", z truncated to |z_i| <= {args.trunc} by resampling"
    print(f"wrote {len(files)} images (seeds {args.seeds}{trunc}) to {out}")
    return 0


def _sample_walk(args: argparse.Namespace, out: Path) -> int:
    import numpy as np

    from gankit.invert import latent_walk
    from gankit.runs import labels_to_sample, load_run
    from gankit.sampling import VIDEO_SUFFIXES

    video = out.suffix.lower() in VIDEO_SUFFIXES
    if not video and out.suffix not in (".png", ".npz"):
        raise GankitError(f"--out {args.out}: must end in .png, .npz, .mp4 or .gif")
    rows = (1 if video else 8) if args.num is None else args.num
    if args.interpolate < 2 or rows < 1:
        raise GankitError(f"--interpolate {args.interpolate} --num {rows}: need K >= 2 points per walk and N >= 1 walks")
    run = load_run(Path(args.run))
    labels = labels_to_sample(run.num_classes, rows, args.label)  # a conditional walk stays in one class
    walk = latent_walk(run.G, rows, args.interpolate, seed=args.seed, labels=labels)
    out.parent.mkdir(parents=True, exist_ok=True)
    if video:
        from gankit.sampling import walk_frames, write_video

        frames = walk_frames(walk, rows)
        write_video(frames, out, args.fps)
        print(f"wrote {rows} latent walk(s) as {len(frames)} frames of {frames.shape[2]}x{frames.shape[1]} "
              f"at {args.fps:g} fps to {out}")
        return 0
    if out.suffix == ".npz":
        arrays = {"samples": walk.numpy().astype(np.float32)}
        if labels is not None:
            arrays["labels"] = labels.repeat_interleave(args.interpolate).numpy().astype(np.int64)
        np.savez(out, **arrays)
    else:
        from gankit.viz import save_walk

        save_walk(walk, rows, out, title=f"{run.cfg.preset}, step {run.step}: latent walks (slerp)")
    print(f"wrote {rows} latent walks of {args.interpolate} points to {out}")
    return 0


def cmd_invert(args: argparse.Namespace) -> int:
    import torch

    from gankit.invert import check_inputs, invert, read_images, save_npz
    from gankit.runs import load_run, run_classes

    out = Path(args.out)
    if out.suffix != ".npz":
        raise GankitError(f"--out {args.out}: must end in .npz")
    for flag, value in (("--steps", args.steps), ("--restarts", args.restarts)):
        if value < 1:
            raise GankitError(f"{flag} {value}: must be >= 1")
    if not args.feature_weight >= 0:
        raise GankitError(f"--feature-weight {args.feature_weight}: must be >= 0")
    run = load_run(Path(args.run))
    x, y = read_images(Path(args.images))
    check_inputs(x, run.shape, y, run_classes(run), bool(run.num_classes), what=args.images)
    try:
        device = torch.device(args.device)
        torch.empty(0, device=device)
    except (RuntimeError, ValueError, AssertionError) as exc:
        raise GankitError(f"--device {args.device}: not available ({str(exc).splitlines()[0]})") from None
    result = invert(run.G.to(device), x, y, steps=args.steps, restarts=args.restarts, seed=args.seed,
                    feature_weight=args.feature_weight, device=device)
    save_npz(result, out)
    print(json.dumps({"n": len(x), "error_mean": float(result.error.mean()), "out": str(out)}))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from gankit.runs import evaluate_generator, load_run

    if args.num is not None and args.num < 2:
        raise GankitError(f"--num {args.num}: must be >= 2")
    if args.fake is not None or args.run is None:
        return _eval_sets(args)
    if args.real is not None and not args.features:
        raise GankitError("--real with RUN: the reference set for --features FILE (give it too)")
    from gankit import image_eval
    from gankit.metrics.features import FeatureSpec

    names = [n.strip() for n in args.metrics.split(",") if n.strip()] if args.metrics else None
    budget = None
    if names and "ais" in names:  # AIS is not one of evaluate()'s sample metrics: it queries G itself
        from gankit.metrics.likelihood_eval import Budget, parse_sigmas

        names = [n for n in names if n != "ais"]
        budget = Budget(temperatures=args.ais_temperatures, leapfrog=args.ais_leapfrog, chains=args.ais_chains,
                        points=args.ais_points, valid_points=args.ais_valid_points,
                        valid_temperatures=args.ais_valid_temperatures, bdmc_points=args.ais_bdmc,
                        sigmas=parse_sigmas(args.ais_sigmas)).check()
    run = load_run(Path(args.run), args.device)
    result = {}
    if args.features:
        result = image_eval.eval_run_features(run, args.features, FeatureSpec(args.feature_size, args.feature_input),
                                              args.num, args.seed, real=args.real or "")
    elif names is None and not args.inception_weights and image_eval.needs_features(run):
        print("gankit: note: " + image_eval.NO_FEATURES_NOTE.format(shape="x".join(map(str, run.shape))),
              file=sys.stderr)
        result = image_eval.eval_run_pixels(run, args.num, args.seed)
    elif names is None or names:
        result = evaluate_generator(run.cfg, run.G, names, args.num, seed=args.seed,
                                    inception_weights=args.inception_weights)
    if budget is not None:
        from gankit.metrics.likelihood_eval import evaluate_run

        result.update(evaluate_run(run.cfg, run.G, budget, seed=args.seed))
    row = {"step": run.step, "kind": "eval", **result}
    with open(run.path / "metrics.jsonl", "a") as f:
        f.write(json.dumps(row) + "\n")
    print(json.dumps(result))
    return 0


def _eval_sets(args: argparse.Namespace) -> int:
    from gankit.image_eval import eval_sets
    from gankit.metrics.features import FeatureSpec

    if args.run is not None or args.real is None or args.fake is None:
        raise GankitError("give RUN, or --real and --fake (two sets of images) without RUN")
    result = eval_sets(args.real, args.fake, args.features, FeatureSpec(args.feature_size, args.feature_input),
                       seed=args.seed)
    print(json.dumps(result))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from gankit.theory import run_demo  # imported here: it pulls in the trainer

    out = Path(args.out) if args.out else Path("runs") / f"demo-{args.name}"
    from gankit.config import parse_sets

    print(json.dumps(run_demo(args.name, out, args.seed, parse_sets(args.set or []), quick=args.quick)))
    print(f"figures and numbers.json in {out}", file=sys.stderr)
    return 0


def cmd_prep(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from gankit.prep import prep_folder, summary

    bars = []  # shown from the second file on, so an error on a bad SRC prints one line only

    def progress(done: int, total: int) -> None:
        if not bars:
            bars.append(tqdm(total=total, desc="prep", unit="file", dynamic_ncols=True, file=sys.stderr,
                             disable=None))  # disable=None: no bar when stderr is not a terminal
        bars[0].update(done - bars[0].n)

    def skipped(path: str, reason: str) -> None:
        tqdm.write(f"skipped {path}: {reason}", file=sys.stderr)

    try:
        result = prep_folder(args.src, args.out, args.size, crop=args.crop, labels=args.labels,
                             max_images=args.max_images, channels=args.channels, min_side=args.min_side,
                             on_skip=skipped, progress=progress)
    finally:
        for bar in bars:
            bar.close()
    print(summary(result))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from gankit.report import write_report

    print(f"wrote {write_report(Path(args.run))}")
    return 0


def cmd_lab(args: argparse.Namespace) -> int:
    from gankit.config import parse_sets
    from gankit.lab.server import LabServer, is_loopback
    from gankit.lab.session import Session

    if not is_loopback(args.host):
        print(f"gankit: warning: --host {args.host} serves the lab beyond this machine; anyone who can reach "
              f"it and holds the URL's token can train and write run directories here", file=sys.stderr)
    server = LabServer(Session(args.problem, parse_sets(args.set or [])), args.host, args.port)
    url = server.bind()
    print(url, flush=True)
    if args.open:
        import webbrowser

        webbrowser.open(url)
    try:
        server.serve()  # until Ctrl-C
    except KeyboardInterrupt:  # (uvicorn re-raises the signal once it has shut down)
        pass
    print("gankit lab: stopped", file=sys.stderr)
    return 0
