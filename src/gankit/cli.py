"""The command line: parse the arguments, hand them to ``gankit.commands``, print a user's error in one line."""

from __future__ import annotations

import argparse
import sys

from gankit import commands
from gankit.errors import GankitError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gankit", description="Generative Adversarial Networks, Goodfellow et al. (2014).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("presets", help="list presets with one-line descriptions")
    p.set_defaults(func=commands.cmd_presets)

    p = sub.add_parser("train", help="train a preset into a run directory")
    p.add_argument("preset", metavar="PRESET")
    p.add_argument("--set", metavar="KEY=VALUE", nargs="+", action="extend",
                   help="override config values, e.g. --set train.k=3 data.batch_size=128")
    p.add_argument("--steps", type=int, help="generator updates (same as --set train.steps=N)")
    p.add_argument("--seed", type=int, help="the run's seed (same as --set seed=S)")
    p.add_argument("--out", metavar="DIR", help="run directory (default: runs/PRESET-<timestamp>)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")
    p.set_defaults(func=commands.cmd_train)

    p = sub.add_parser("sample", help="draw samples from a trained run")
    p.add_argument("run", metavar="RUN")
    p.add_argument("--num", type=int, metavar="N",
                   help="samples (with --interpolate: walks, default 8, or 1 for a video)")
    p.add_argument("--out", required=True, metavar="FILE.png|FILE.npz|DIR/|walk.mp4|walk.gif")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--label", type=int, default=None, metavar="C", help="class to generate (conditional models)")
    p.add_argument("--interpolate", type=int, metavar="K",
                   help="latent walks instead: K points along a spherical path between two random z's "
                        "(--out .png grid, .npz, or .mp4/.gif video, one frame per point)")
    p.add_argument("--seeds", metavar="A-B,C", help="one PNG per seed into the folder --out (seed s, same image "
                                                   "alone or in a batch; conditional: class s mod C or --label)")
    p.add_argument("--trunc", type=float, metavar="PSI",
                   help="with --seeds: redraw every |z_i| > PSI until inside (truncated normal, BigGAN's trick)")
    p.add_argument("--fps", type=float, default=24.0, help="frames per second of a .mp4/.gif walk (default 24)")
    p.add_argument("--device", default="cpu", help="where G runs: cpu (default), cuda, cuda:N, mps or auto")
    p.set_defaults(func=commands.cmd_sample)

    p = sub.add_parser("invert", help="find z with G(z) close to each image: reconstructions and errors",
                       description="For each image x of FILE.npz (key x, optional labels y) find z* minimising "
                                   "|G(z) - x|^2 by Adam on z; writes z, reconstructions, error (+ labels).")
    p.add_argument("run", metavar="RUN")
    p.add_argument("--images", required=True, metavar="FILE.npz", help="x in the data's own space (and optional y)")
    p.add_argument("--out", required=True, metavar="OUT.npz")
    p.add_argument("--steps", type=int, default=200, metavar="N", help="Adam steps on z (default 200)")
    p.add_argument("--restarts", type=int, default=1, metavar="R",
                   help="starting points per image, the best kept (default 1; each costs as much as the first)")
    p.add_argument("--feature-weight", type=float, default=0.0, metavar="W",
                   help="add W x the feature distance under the bundled digit CNN (28x28 digits; default 0)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="torch device for G, e.g. cuda (default cpu)")
    p.set_defaults(func=commands.cmd_invert)

    p = sub.add_parser("eval", help="evaluate a run's generator, or two sets of images; prints one JSON object")
    p.add_argument("run", metavar="RUN", nargs="?", help="the run (or give --real and --fake instead)")
    p.add_argument("--real", metavar="DIR_OR_NPZ",
                   help="with --fake: compare two sets of images (no RUN); with RUN --features: the reference set "
                        "(default: the run's training images)")
    p.add_argument("--fake", metavar="DIR_OR_NPZ")
    p.add_argument("--features", default="", metavar="FILE.pt",
                   help="FID/KID under this TorchScript feature network (anything else is refused unread)")
    p.add_argument("--feature-size", type=int, default=0, metavar="S",
                   help="resize images to SxS (bilinear, antialiased) for --features (default 0: as they are)")
    p.add_argument("--feature-input", default="uint8", choices=("uint8", "float"),
                   help="--features network takes uint8 0..255 (default; StyleGAN's Inception) or float [-1, 1]")
    p.add_argument("--metrics", metavar="a,b,...", help="metric names (default: those that fit the data set)")
    p.add_argument("--num", type=int, metavar="N", help="samples (default: 10,000 for digits, the Parzen protocol)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--inception-weights", default="", metavar="FILE",
                   help="local inception-2015-12-05.pt for fid_inception (never downloaded)")
    p.add_argument("--device", default="cpu", help="where G samples: cpu (default), cuda, cuda:N, mps or auto")
    ais = p.add_argument_group("--metrics ais", "log p(x) by annealed importance sampling (not in the default set; "
                               "minutes to hours on a CPU: the defaults take minutes for small nets)")
    ais.add_argument("--ais-temperatures", type=int, default=300, metavar="T", help="annealing steps (default 300)")
    ais.add_argument("--ais-leapfrog", type=int, default=10, metavar="L", help="leapfrog steps per HMC move (10)")
    ais.add_argument("--ais-chains", type=int, default=8, metavar="C", help="chains per image (default 8)")
    ais.add_argument("--ais-points", type=int, default=20, metavar="N", help="test images scored (default 20)")
    ais.add_argument("--ais-valid-points", type=int, default=8, metavar="N",
                     help="validation images sigma is chosen on (default 8)")
    ais.add_argument("--ais-valid-temperatures", type=int, default=50, metavar="T",
                     help="annealing steps while choosing sigma (default 50)")
    ais.add_argument("--ais-bdmc", type=int, default=4, metavar="N", help="simulated points for the BDMC gap (4; 0: off)")
    ais.add_argument("--ais-sigmas", default="0.05,0.1,0.2,0.4,0.8", metavar="S,S,...",
                     help="the sigma grid in the data's units (default 0.05,0.1,0.2,0.4,0.8: [-1, 1] pixels)")
    p.set_defaults(func=commands.cmd_eval)

    p = sub.add_parser("demo", help="the lecture demos: figures and numbers",
                       description="The lecture demos, each writing PNG figures and numbers.json.")
    p.add_argument("name", metavar="NAME",
                   help="toy1d, optimal-d, bilinear, saddle, gen-costs, mode-collapse, divergences, paper, coverage, "
                        "likelihood")
    p.add_argument("--out", metavar="DIR", help="output folder (default: runs/demo-NAME)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--set", metavar="KEY=VALUE", nargs="+", action="extend",
                   help="config overrides for the demos that train (paper, likelihood), e.g. --set data.name=mnist "
                        "data.path=DIR")
    p.add_argument("--quick", action="store_true",
                   help="likelihood: small models and budgets, about 10 CPU minutes (the full demo takes hours)")
    p.set_defaults(func=commands.cmd_demo)

    p = sub.add_parser("prep", help="a folder of images -> a uint8 .npz for data.name=npz (+ contact sheet, manifest)",
                       description="Walk SRC, decode every image, convert, crop and resize it to SxS (Lanczos); "
                                   "skip corrupt, truncated, tiny and duplicate files with one line each.")
    p.add_argument("src", metavar="SRC", help="folder of images (class sub-folders with --labels)")
    p.add_argument("--out", required=True, metavar="DATA.npz")
    p.add_argument("--size", type=int, required=True, metavar="S", help="side of the square images written")
    p.add_argument("--crop", default="center", choices=("center", "pad", "stretch"),
                   help="center: centred square; pad: fit inside, white margins; stretch: ignore aspect (default center)")
    p.add_argument("--labels", action="store_true", help="class labels from SRC's top-level sub-folders")
    p.add_argument("--max-images", type=int, default=0, metavar="N", help="stop after N kept images (default: all)")
    p.add_argument("--channels", type=int, default=3, choices=(1, 3), help="1 grey or 3 RGB (default 3)")
    p.add_argument("--min-side", type=int, default=None, metavar="M",
                   help="skip images whose shorter side is below M pixels (default S/2)")
    p.set_defaults(func=commands.cmd_prep)

    p = sub.add_parser("report", help="write RUN/report.html: curves, evaluation, samples, config")
    p.add_argument("run", metavar="RUN")
    p.set_defaults(func=commands.cmd_report)

    p = sub.add_parser("lab", help="the game played live in a local page (prints its URL first)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=0, help="port (default 0: a free one)")
    p.add_argument("--open", action="store_true", help="open the page in the default browser")
    p.add_argument("--problem", default="ring8", help="the problem to start on: toy1d, gauss1d, ring8, grid25")
    p.add_argument("--set", metavar="KEY=VALUE", nargs="+", action="extend",
                   help="settings to start from, e.g. --set train.g_cost=minimax train.threads=1")
    p.set_defaults(func=commands.cmd_lab)
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
