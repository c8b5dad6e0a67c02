"""Train the bundled digit classifier (gankit.metrics.classifier.DigitCNN) on mnist5k.

Trains on the mnist5k ``train`` split only (4,000 digits), with light augmentation (random
shifts of up to 2 pixels, rotations of up to 10 degrees, scaling by 0.9 to 1.1), and
measures the accuracy once on the ``test`` split (1,000 digits), which plays no part in
training or in choosing anything. Writes

    src/gankit/assets/mnist5k_cnn.safetensors   the weights (float32, about 430 kB)
    src/gankit/assets/mnist5k_cnn.json          test accuracy, seed, epochs, the command

Deterministic for a given seed on one CPU thread (it sets the thread count to 1).

    python scripts/train_classifier.py [--seed 0] [--epochs 30] [--out src/gankit/assets]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from gankit.data import load_dataset
from gankit.metrics.classifier import INFO_FILE, WEIGHTS_FILE, DigitCNN, classify


def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random small affine maps of (N, 1, 28, 28) images in [-1, 1]; the background stays -1."""
    n = len(x)
    angle = (torch.rand(n, generator=generator) * 2 - 1) * math.radians(10)
    scale = 0.9 + 0.2 * torch.rand(n, generator=generator)
    shift = (torch.rand(n, 2, generator=generator) * 2 - 1) * (2 / 14)  # 2 pixels in [-1, 1] grid units
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    # grid_sample pads with 0, which is mid-grey in [-1, 1]: shift to [0, 2] so padding is black.
    return F.grid_sample(x + 1, grid, align_corners=False, padding_mode="zeros") - 1


def accuracy(net: DigitCNN, x: torch.Tensor, y: torch.Tensor) -> float:
    _, logits = classify(net, x)
    return float((logits.argmax(1) == y).double().mean())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="seed for weights, batches and augmentation")
    parser.add_argument("--epochs", type=int, default=30, help="passes over the 4,000 training digits")
    parser.add_argument("--batch-size", type=int, default=64, help="minibatch size")
    parser.add_argument("--lr", type=float, default=2e-3, help="Adam's peak learning rate (cosine decay to 0)")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "src/gankit/assets"),
                        help="folder for the weights and the json record")
    args = parser.parse_args(argv)

    torch.set_num_threads(1)  # one thread: deterministic and polite on a shared machine
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)

    train, test = load_dataset("mnist5k", "train"), load_dataset("mnist5k", "test")
    net = DigitCNN()
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    steps_per_epoch = len(train) // args.batch_size
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=args.lr, total_steps=args.epochs * steps_per_epoch, pct_start=0.15
    )
    start = time.time()
    for epoch in range(args.epochs):
        net.train()
        perm = torch.randperm(len(train), generator=gen)
        total = 0.0
        for i in range(steps_per_epoch):
            idx = perm[i * args.batch_size : (i + 1) * args.batch_size]
            x = augment(train.x[idx], gen)
            loss = F.cross_entropy(net(x), train.y[idx])  # logits in, no softmax before it
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        print(f"epoch {epoch + 1:3d}/{args.epochs}  loss {total / steps_per_epoch:.4f}  "
              f"train acc {accuracy(net, train.x, train.y):.4f}  {time.time() - start:.0f}s", flush=True)

    net.eval()
    test_acc = accuracy(net, test.x, test.y)
    _, logits = classify(net, test.x)
    per_class = [float((logits.argmax(1)[test.y == c] == c).double().mean()) for c in range(10)]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(out / WEIGHTS_FILE))
    os.chmod(out / WEIGHTS_FILE, 0o644)  # safetensors writes 0600; package data must be world-readable
    record = {
        "model": "gankit.metrics.classifier.DigitCNN",
        "train": "mnist5k/train (4,000 digits), random affine augmentation",
        "test": "mnist5k/test (1,000 digits)",
        "test_accuracy": round(test_acc, 4),
        "test_accuracy_per_class": [round(a, 3) for a in per_class],
        "seed": args.seed,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "parameters": sum(p.numel() for p in net.parameters()),
        "torch": torch.__version__,
        "seconds": round(time.time() - start, 1),
        "command": shlex.join(["python", "scripts/train_classifier.py", *(sys.argv[1:] if argv is None else argv)]),
    }
    (out / INFO_FILE).write_text(json.dumps(record, indent=2) + "\n")
    print(f"test accuracy {test_acc:.4f}; wrote {out / WEIGHTS_FILE} and {out / INFO_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
