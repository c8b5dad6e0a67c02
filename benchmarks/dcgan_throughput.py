"""What a 4-minute CPU budget buys: gankit's mnist5k-dcgan preset (28x28, width 32) next to
pytorch/examples' dcgan/main.py as written (64x64 inputs, width 64), each trained for the
same wall-clock budget on the same machine and the same 4,000 mnist5k training digits.

NOT a speed comparison: the two train different nets on different image sizes (the example
does ~58x the multiply-adds per image), so their images/s differ mostly by the work. The
like-for-like speed comparison (same nets, batch, threads and work per step) is
benchmarks/throughput.py.

The reference keeps that example's choices: 64x64 inputs (Resize(64) of the 28x28 digits),
ngf = ndf = 64, nz = 100, batch 64, Sigmoid inside D with BCELoss, Adam(2e-4, beta1 0.5),
the D step on a real then a fake batch, the G step reusing that fake batch with "real"
labels. gankit runs its preset unchanged (28x28, Algorithm 1 with fresh noise and data).

Prints a markdown table (images/s = training images seen by D per second) and writes a
sample grid for each into --out. Usage:

    python benchmarks/dcgan_throughput.py --seconds 240 --out bench-out
    python benchmarks/dcgan_throughput.py --seconds 60 --only gankit --set model.width=64
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from gankit import config
from gankit.data import load_dataset
from gankit.train import Trainer
from gankit.viz import save_image_grid


def reference_models(nz: int = 100, ngf: int = 64, ndf: int = 64, nc: int = 1) -> tuple[nn.Module, nn.Module]:
    """The generator and discriminator of pytorch/examples' dcgan (64x64 images)."""
    netG = nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
        nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh(),
    )
    netD = nn.Sequential(
        nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 8), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid(),
    )

    def weights_init(m: nn.Module) -> None:
        if "Conv" in type(m).__name__:
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif "BatchNorm" in type(m).__name__:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)

    netG.apply(weights_init)
    netD.apply(weights_init)
    return netG, netD


def run_reference(seconds: float, seed: int = 0, batch_size: int = 64, nz: int = 100) -> dict:
    """Train the reference loop for ``seconds``; returns throughput and a 64-sample grid."""
    torch.manual_seed(seed)
    data = load_dataset("mnist5k", "train").x
    data = F.interpolate(data, size=64, mode="bilinear", align_corners=False)  # transforms.Resize(64)
    netG, netD = reference_models(nz)
    criterion = nn.BCELoss()
    optD = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optG = torch.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
    fixed_noise = torch.randn(64, nz, 1, 1)
    images, iters, start = 0, 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        perm = torch.randperm(len(data))  # DataLoader(shuffle=True)
        for i in range(0, len(data) - batch_size + 1, batch_size):
            real = data[perm[i : i + batch_size]]
            # (1) Update D: maximize log(D(x)) + log(1 - D(G(z)))
            netD.zero_grad()
            label = torch.full((batch_size,), 1.0)
            errD_real = criterion(netD(real).view(-1), label)
            errD_real.backward()
            fake = netG(torch.randn(batch_size, nz, 1, 1))
            label.fill_(0.0)
            errD_fake = criterion(netD(fake.detach()).view(-1), label)
            errD_fake.backward()
            optD.step()
            # (2) Update G: maximize log(D(G(z)))
            netG.zero_grad()
            label.fill_(1.0)
            errG = criterion(netD(fake).view(-1), label)
            errG.backward()
            optG.step()
            images += batch_size
            iters += 1
            if time.perf_counter() - start >= seconds:
                break
    elapsed = time.perf_counter() - start
    with torch.no_grad():
        grid = netG(fixed_noise)  # the example saves its grid in train mode
    return {"name": "pytorch/examples-style dcgan (64x64, ngf=ndf=64)", "steps": iters,
            "images_per_s": images / elapsed, "seconds": elapsed, "grid": grid}


def run_gankit(seconds: float, preset: str = "mnist5k-dcgan", sets: list[str] | None = None, seed: int = 0) -> dict:
    """Train a gankit preset for ``seconds`` (its step count ignored); same figures."""
    cfg = config.resolve(preset, {**config.parse_sets(sets or []), "seed": seed})
    trainer = Trainer(cfg)
    images, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        trainer.train_step()
        images += cfg.data.batch_size * cfg.train.k
    elapsed = time.perf_counter() - start
    name = f"gankit {preset}" + (f" ({' '.join(sets)})" if sets else "")
    return {"name": name, "steps": trainer.step, "images_per_s": images / elapsed, "seconds": elapsed,
            "grid": trainer.sample(64, seed=0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=240.0)
    parser.add_argument("--out", default="bench-out")
    parser.add_argument("--only", choices=["gankit", "reference"])
    parser.add_argument("--preset", default="mnist5k-dcgan")
    parser.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--tag", default="", help="suffix for the grid file names")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    if args.only != "reference":
        results.append(("gankit", run_gankit(args.seconds, args.preset, args.set)))
    if args.only != "gankit":
        results.append(("reference", run_reference(args.seconds)))
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
          f"torch {torch.__version__}; budget {args.seconds:g} s each")
    print("| loop | steps | images/s | grid |")
    print("|---|---|---|---|")
    for key, r in results:
        path = out / f"{key}{args.tag}.png"
        save_image_grid(r["grid"], path)
        print(f"| {r['name']} | {r['steps']} | {r['images_per_s']:.0f} | {path} |")
        (out / f"{key}{args.tag}.json").write_text(json.dumps({k: v for k, v in r.items() if k != "grid"}))


if __name__ == "__main__":
    main()
