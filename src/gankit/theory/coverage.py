"""The coverage failure on real digits, reproduced and then measured by inverting G.

The GAN's loss asks that G's samples look real to D; it never asks that every real x have
a z with G(z) ≈ x (Prince, *Understanding Deep Learning*, section 15.1.3; the
``mode-collapse`` demo shows it on 2D mixtures). Here the failure is built on purpose: the
DCGAN of ``mnist5k-dcgan`` is trained on the digits 0-4 only (``data.classes=0,1,2,3,4``).
A second generator, the control, is trained the same way on all ten classes. Then:

1. the half generator's samples score on 0-4 about as well as the control's on 0-9
   (FID-CNN against the training images of the classes each was trained on, with the
   real-versus-real floor beside it): judged against what it was trained on, nothing is
   missing;
2. inversion catches the missing half: for held-out digits of every class, the best
   reconstruction G(z*) (``gankit.invert``) is worse for 5-9 than for 0-4, while for the
   control the two halves are close (5-9 are not simply harder to draw). No sample-based
   score of the half generator has to know that 5-9 exist; asking G directly does.
"""

from __future__ import annotations

from pathlib import Path

import torch

from gankit.theory import _common

TRAINED = (0, 1, 2, 3, 4)
STEPS = 2000  # training steps of each DCGAN: at 800 or 1,200 the 0-4 generator was not yet caught (docs/theory.md)
N_SAMPLES = 1000  # samples for FID-CNN and the class histogram
INVERT_PER_CLASS = 20  # held-out digits inverted per class
INVERT_STEPS = 200  # Adam steps on z per digit (gankit invert's default)


def train_on_classes(classes: tuple[int, ...], steps: int, seed: int):
    """The mnist5k-dcgan generator trained ``steps`` steps on ``classes`` only (eval mode)."""
    from gankit import config
    from gankit.train import Trainer

    cfg = config.resolve("mnist5k-dcgan", {"data.classes": ",".join(map(str, classes)), "train.steps": steps,
                                           "seed": seed, "train.threads": 1,
                                           # the preset as this demo was measured with (before issue 10's tuning)
                                           "train.lr_g": 1e-3, "train.lr_d": 2e-4, "train.ema": 0.0,
                                           "model.clusters": 0})
    trainer = Trainer(cfg)
    for _ in range(steps):
        trainer.train_step()
    return trainer.sampler.eval()


def held_out_draw(per_class: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``per_class`` seeded held-out (test split) digits of each class 0-9: (x (10 k, 1, 28, 28), y)."""
    from gankit.data import load_dataset

    test = load_dataset("mnist5k", "test")
    gen = torch.Generator().manual_seed(seed)
    idx = torch.cat([torch.nonzero(test.y == c).flatten()[torch.randperm(int((test.y == c).sum()), generator=gen)]
                     [:per_class] for c in range(10)])
    return test.x[idx], test.y[idx]


def measure(G, seed: int, per_class: int = INVERT_PER_CLASS, steps: int = INVERT_STEPS,
            trained: tuple[int, ...] = TRAINED) -> dict:
    """FID-CNN of G's samples against the ``trained`` classes (and all), class histogram, inversion per class.

    ``inversion_trained`` / ``inversion_untrained`` are the mean errors on held-out digits of
    the classes 0-4 / 5-9 (``TRAINED`` and the rest), whatever G was trained on.
    """
    from gankit.data import load_dataset
    from gankit.invert import class_means, invert
    from gankit.metrics import classify, fid_from_features, load_classifier
    from gankit.runs import generate

    cnn = load_classifier()
    train, test = load_dataset("mnist5k", "train"), load_dataset("mnist5k", "test")
    classes = torch.tensor(trained)
    in_train, held_trained = torch.isin(train.y, classes), torch.isin(test.y, classes)
    samples = generate(G, N_SAMPLES, seed=seed)
    f_fake, logits = classify(cnn, samples)
    f_train, _ = classify(cnn, train.x)
    f_test, _ = classify(cnn, test.x)
    n = min(500, int(held_trained.sum()))  # FID sample size for both the samples and the floor
    fid_half = fid_from_features(f_train[in_train], f_fake[:n])
    gen = torch.Generator().manual_seed(seed)
    held = f_test[held_trained]
    floor_half = fid_from_features(f_train[in_train], held[torch.randperm(len(held), generator=gen)[:n]])
    fid_all = fid_from_features(f_train, f_fake[:n])
    floor_all = fid_from_features(f_train, f_test[torch.randperm(len(f_test), generator=gen)[:n]])
    predicted = logits.argmax(1)
    x, y = held_out_draw(per_class, seed)
    inv = invert(G, x, y, steps=steps, seed=seed)
    per_class_error = class_means(inv.error, y)
    in_trained = torch.isin(y, torch.tensor(TRAINED))
    lo, hi = float(inv.error[in_trained].mean()), float(inv.error[~in_trained].mean())
    return {
        "fid_cnn_trained_classes": fid_half, "fid_cnn_trained_classes_floor": floor_half,
        "fid_cnn_all_classes": fid_all, "fid_cnn_all_classes_floor": floor_all, "fid_n": n,
        "samples_classified_in_trained": float(torch.isin(predicted, classes).double().mean()),
        "inversion_per_class": per_class_error, "inversion_trained": lo, "inversion_untrained": hi,
        "inversion_ratio": hi / lo, "inversion_per_class_n": per_class, "inversion_steps": steps,
        "_samples": samples[:64], "_x": x, "_recon": inv.reconstructions, "_error": inv.error, "_y": y,
    }


def run(out_dir: Path, seed: int = 0) -> dict:
    """Train G on digits 0-4 and a control on 0-9, measure both, write ``coverage.png`` and ``numbers.json``."""
    out = _common.prepare(out_dir)
    half = measure(train_on_classes(TRAINED, STEPS, seed), seed)
    everything = tuple(range(10))
    control = measure(train_on_classes(everything, STEPS, seed), seed, trained=everything)
    _plot(half, control, out / "coverage.png")
    numbers = {"half": {k: v for k, v in half.items() if not k.startswith("_")},
               "control": {k: v for k, v in control.items() if not k.startswith("_")},
               "trained_classes": list(TRAINED), "train_steps": STEPS, "preset": "mnist5k-dcgan"}
    return _common.write_numbers(out, numbers)


def _plot(m: dict, control: dict, path: Path) -> None:
    from gankit.viz import image_grid

    fig = _common.figure(13, 6.2)
    grid = fig.add_gridspec(2, 3, height_ratios=[1.25, 1])
    ax = fig.add_subplot(grid[0, 0])
    ax.imshow(image_grid(m["_samples"], 8)[..., 0], cmap="gray")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"G trained on 0-4: samples. FID-CNN vs 0-4: {m['fid_cnn_trained_classes']:.0f}\n"
                 f"(control G on 0-9, vs 0-9: {control['fid_cnn_trained_classes']:.0f}; real floor "
                 f"{m['fid_cnn_trained_classes_floor']:.0f})", fontsize=9)
    ax = fig.add_subplot(grid[0, 1:])
    classes = sorted(m["inversion_per_class"])
    errors = [m["inversion_per_class"][c] for c in classes]
    ax.bar([c - 0.2 for c in classes], errors, width=0.4,
           color=["tab:blue" if c in TRAINED else "tab:red" for c in classes],
           label=f"G on 0-4: mean 0-4 {m['inversion_trained']:.4f}, 5-9 {m['inversion_untrained']:.4f} "
                 f"({m['inversion_ratio']:.2f}x)")
    ax.bar([c + 0.2 for c in classes], [control["inversion_per_class"][c] for c in classes], width=0.4,
           color="0.6", label=f"control G on 0-9: mean 0-4 {control['inversion_trained']:.4f}, "
                               f"5-9 {control['inversion_untrained']:.4f} ({control['inversion_ratio']:.2f}x)")
    ax.set_xticks(classes)
    ax.set_xlabel("class of the held-out digit")
    ax.set_ylabel("min_z |G(z) - x|² (mean, [-1, 1] pixels)")
    ax.set_title(f"Inversion of {m['inversion_per_class_n']} held-out digits per class (blue: G trained on "
                 "the class; red: never saw it; gray: the control)", fontsize=9)
    ax.legend(fontsize=8)
    order = m["_error"].argsort(descending=True)[:16]
    strip = torch.cat([m["_x"][order], m["_recon"][order]])
    ax = fig.add_subplot(grid[1, :])
    ax.imshow(image_grid(strip, 16)[..., 0], cmap="gray")
    ax.set_xticks([])
    ax.set_yticks([])
    labels = ", ".join(str(int(m["_y"][i])) for i in order)
    ax.set_title(f"The 16 worst-reconstructed digits (top) and G(z*) (bottom); their classes: {labels}", fontsize=9)
    _common.save(fig, path)
