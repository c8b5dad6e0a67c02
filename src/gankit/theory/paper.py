"""The 2014 paper's own MNIST experiment: its Figure 2 and its row of Table 1.

Goodfellow et al. (2014) train a 1200-1200 ReLU generator against a maxout discriminator
with dropout (the ``mnist-mlp`` preset, each detail from the released code) and report

- Figure 2: samples, with the nearest training example of the neighbouring sample in the
  rightmost column (outlined in yellow), "to demonstrate that the model has not memorized
  the training set";
- Table 1: the Parzen-window log-likelihood of the test set under 10,000 samples, the
  window's sigma chosen on a validation split: 225 +- 2 nats on MNIST.

``run`` trains the preset (or continues it) with the paper's protocol: the training split
``train-minus-valid`` (MNIST: the first 50,000 training images; mnist5k: 3,500 of the 4,000),
sigma chosen on the disjoint ``valid`` split (the other 10,000; mnist5k: 500), the
log-likelihood reported on the test split (10,000; mnist5k: 1,000). docs/paper.md shows the
result and why the mnist5k number is not comparable with the paper's.
"""

from __future__ import annotations

from pathlib import Path

import torch

from gankit.theory import _common

PAPER_PARZEN_MNIST = {"parzen_ll": 225.0, "parzen_se": 2.0}  # Table 1, "Adversarial nets" on MNIST
PRESET = "mnist-mlp"
NUM_SAMPLES = 10_000  # the paper's number of samples for the Parzen window


def figure2_grid(samples: torch.Tensor, train: torch.Tensor, rows: int = 6, cols: int = 5):
    """The layout of the paper's Figure 2 as a uint8 array (H, W, 3).

    ``rows`` x ``cols`` samples, then one more column: the training image nearest to the
    sample on its left, outlined in yellow.
    """
    import numpy as np

    from gankit.metrics.memorisation import nearest_distances
    from gankit.viz import image_grid

    shown = samples[: rows * cols].reshape(rows, cols, *samples.shape[1:])
    _, nn_idx = nearest_distances(shown[:, -1], train)
    tiles = torch.cat([shown, train[nn_idx].unsqueeze(1)], dim=1).flatten(0, 1)
    if tiles.shape[1] == 1:
        tiles = tiles.expand(-1, 3, -1, -1)
    scale = max(1, 64 // tiles.shape[-1])
    grid = image_grid(tiles, nrow=cols + 1, padding=2, scale=scale).copy()
    h, w = tiles.shape[-2] * scale, tiles.shape[-1] * scale
    pad = 2 * scale
    left = cols * (w + pad) + pad  # the last column's tiles start here
    for r in range(rows):
        top = r * (h + pad) + pad
        for (y0, y1, x0, x1) in ((top - scale, top, left - scale, left + w + scale),
                                 (top + h, top + h + scale, left - scale, left + w + scale),
                                 (top - scale, top + h + scale, left - scale, left),
                                 (top - scale, top + h + scale, left + w, left + w + scale)):
            grid[max(y0, 0):y1, max(x0, 0):x1] = np.array([255, 220, 0], dtype=np.uint8)
    return grid


def run(out_dir: Path, seed: int = 0, overrides: dict | None = None) -> dict:
    """Train ``mnist-mlp`` under the paper's protocol into ``out_dir/run`` and write
    ``figure2.png`` and ``numbers.json`` (the Parzen row beside the paper's 225 +- 2).

    An existing ``out_dir/run`` is continued (``--resume`` semantics), so a second call
    only redraws the figure and re-evaluates.

    Args:
        overrides: dotted config keys, e.g. ``{"data.name": "mnist", "data.path": "~/mnist"}``
            for the paper's full MNIST protocol.
    """
    from PIL import Image

    from gankit import config
    from gankit.runs import evaluate_generator, generate
    from gankit.loop import fit
    from gankit.train import load_data

    out = _common.prepare(out_dir)
    cfg = config.resolve(PRESET, {"data.split": "train-minus-valid", "seed": seed, **(overrides or {})})
    run_dir = out / "run"
    trainer = fit(cfg, run_dir, resume=(run_dir / "config.json").exists())
    G = trainer.sampler
    num = NUM_SAMPLES
    samples = generate(G, num, seed=seed)
    train = load_data(cfg).x
    Image.fromarray(figure2_grid(samples, train)).save(out / "figure2.png")
    parzen = evaluate_generator(cfg, G, ["parzen"], num, seed=seed)
    numbers = {
        "preset": PRESET,
        "data": cfg.data.name,
        "train_split": cfg.data.split,
        "train_size": len(train),
        "steps": trainer.step,
        "samples": num,
        **parzen,
        "paper_mnist": PAPER_PARZEN_MNIST,
        "comparable_with_paper": cfg.data.name == "mnist",
    }
    return _common.write_numbers(out, numbers)
