"""docs/figures/ring8_remedy.png: the same ring8 run without and with the preset's remedies, side by side.

    PYTHONPATH=src python benchmarks/ring8_remedy_figure.py [--seed 0] [--preset ring8] [--out PNG]

Left: ``--set train.plain=true`` (the paper's game, every remedy off); right: the preset as
shipped. Same seed, nets, optimizer and steps; 2,500 samples each, scored by the PacGAN
definitions (a sample is high quality within 3 sd of its nearest mode).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from gankit import config  # noqa: E402
from gankit.metrics import mixture_modes  # noqa: E402
from gankit.train import Trainer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
REMEDY_KEYS = [k for k in config.PLAIN_GAME] + ["train.lr_decay", "train.lr_min"]


def train(cfg: config.Config) -> torch.Tensor:
    trainer = Trainer(cfg)
    while trainer.step < cfg.train.steps:
        trainer.train_step()
    return trainer.sample(2500, seed=cfg.seed)


def describe(cfg: config.Config) -> str:
    plain = config.resolve(cfg.preset, {"train.plain": True})
    changed = []
    for key in REMEDY_KEYS:
        section, _, name = key.partition(".")
        value = getattr(getattr(cfg, section), name)
        if value != getattr(getattr(plain, section), name):
            changed.append(f"{name}={value:g}" if isinstance(value, float) else f"{name}={value}")
    return ", ".join(changed) or "no remedy"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="ring8")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "figures" / "ring8_remedy.png")
    args = parser.parse_args()
    torch.set_num_threads(1)
    remedied = config.resolve(args.preset, {"seed": args.seed})
    plain = config.resolve(args.preset, {"seed": args.seed, "train.plain": True})
    data = Trainer(plain).data
    fig, axes = plt.subplots(1, 2, figsize=(10, 5.2), sharex=True, sharey=True)
    for ax, cfg, title in ((axes[0], plain, "the paper's game (train.plain=true)"),
                           (axes[1], remedied, f"{args.preset} preset: {describe(remedied)}")):
        x = train(cfg)
        count = mixture_modes(x, data.modes, data.sd)
        ax.scatter(x[:, 0], x[:, 1], s=2, alpha=0.35, color="tab:blue", label="G(z), 2,500 samples")
        for i, (cx, cy) in enumerate(data.modes.tolist()):
            ax.add_patch(plt.Circle((cx, cy), 3 * data.sd, fill=False, color="tab:red", lw=1.0,
                                    label="3 sd around each mode" if i == 0 else None))
        ax.set_title(f"{title}\n{count.modes}/{count.total} modes, {100 * count.hq_fraction:.1f}% high quality, "
                     f"reverse KL {count.reverse_kl:.3f}", fontsize=9)
        ax.set_aspect("equal")
        print(f"{title}: modes {count.modes}, HQ {count.hq_fraction:.4f}, reverse KL {count.reverse_kl:.4f}")
    axes[0].legend(loc="center", fontsize=8, markerscale=4)
    fig.suptitle(f"{args.preset}, seed {args.seed}, {remedied.train.steps} steps: the same nets, with and without the remedies")
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
