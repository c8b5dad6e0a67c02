"""Inverting the generator: for each real x, the z with G(z) closest to x.

The GAN's loss never asks that every real example x have a z with G(z) ≈ x (Prince,
*Understanding Deep Learning*, section 15.1.3): a generator can leave out part of the data
and still fool D. Asking G directly answers which real images it cannot make. For each x we
solve

    z* = argmin_z ‖G(z) − x‖² / d  [+ λ ‖φ(G(z)) − φ(x)‖² / 128]

(d the number of pixels or coordinates, φ the bundled digit CNN's features, λ
``feature_weight``) by Adam on z, from ``restarts`` starting points z ~ N(0, I) per image,
all images of a batch and all their restarts optimised together, G frozen in eval mode.
z is kept on the sphere of radius sqrt(z_dim), projected back after every step: N(0, I)
in 100 dimensions puts nearly all its mass near that sphere, and a z far off it is one G
never draws from. Left free, z drifts there and G "reconstructs" digits it never
generates: on a DCGAN trained on digits 0-4 the error ratio of held-out 5-9 to 0-4 was
1.35 with free z (3 restarts x 300 steps, 100 images) and 2.0 with the sphere (200 steps).
The restart with the lowest objective wins; ``error`` is its pixel mean squared error
(images in [-1, 1]). Latent optimisation of this kind is the "projection" of Zhu et al.
(2016, iGAN) and the recall test of Webster et al. (2019, "Detecting overfitting of deep
generative networks via latent recovery"). A conditional G is inverted with the given
labels (z only is searched, the class is held fixed). A self-conditioned G
(``model.clusters``) reads its cluster off z_0 through a step function with no gradient: z_0
is set to select the image's nearest cluster and held there, and the rest of z is searched.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from gankit.errors import GankitError
from gankit.models.clusters import start_z0


@dataclass
class Inversion:
    """The result of ``invert`` for N images.

    Attributes:
        z: the best latent vector per image, (N, z_dim) float32.
        reconstructions: G(z) (with the labels for a conditional G), (N, *shape) float32.
        error: per-image mean squared error between G(z) and x, (N,) float32.
        labels: the labels the images came with, (N,) int64, or None.
    """

    z: torch.Tensor
    reconstructions: torch.Tensor
    error: torch.Tensor
    labels: torch.Tensor | None = None

    def arrays(self) -> dict[str, np.ndarray]:
        """The npz content: ``z``, ``reconstructions``, ``error`` (+ ``labels``)."""
        out = {"z": self.z.numpy(), "reconstructions": self.reconstructions.numpy(), "error": self.error.numpy()}
        if self.labels is not None:
            out["labels"] = self.labels.numpy()
        return out


def check_inputs(x: torch.Tensor, shape: tuple[int, ...], labels: torch.Tensor | None, num_classes: int,
                 conditional: bool, what: str = "images") -> None:
    """Raise a one-line GankitError unless ``x`` and ``labels`` fit the generator.

    Args:
        x: the images, (N, *shape).
        shape: one sample's shape as the generator makes it.
        labels: (N,) integer labels or None.
        num_classes: the classes labels may take (0: the data have none).
        conditional: the generator needs labels.
        what: the file or name the inputs came from, for the message.
    """
    if x.dim() < 2 or tuple(x.shape[1:]) != tuple(shape) or len(x) == 0:
        raise GankitError(f"{what}: x has shape {tuple(x.shape)}, but the generator makes samples of shape "
                          f"{tuple(shape)}: expected (N, {', '.join(map(str, shape))}) with N >= 1")
    if not torch.isfinite(x).all():
        raise GankitError(f"{what}: x contains NaN or Inf values")
    if conditional and labels is None:
        raise GankitError(f"{what}: the generator is conditional ({num_classes} classes): give the labels as y")
    if labels is None:
        return
    if labels.shape != (len(x),):
        raise GankitError(f"{what}: y has shape {tuple(labels.shape)}, expected ({len(x)},), one label per image")
    if not num_classes:
        raise GankitError(f"{what}: labels given, but this run's data have no classes")
    bad = (labels < 0) | (labels >= num_classes)
    if bad.any():
        raise GankitError(f"{what}: label {int(labels[bad][0])} is outside the classes 0..{num_classes - 1}")


def read_images(path: Path) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``x`` (float32) and ``y`` (int64, or None) from an npz file, checked for the basics.

    Raises:
        GankitError: missing or unreadable file, no ``x``, non-numeric or non-integer arrays.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            if "x" not in f.files:
                raise GankitError(f"{path}: no array 'x' (found: {', '.join(f.files) or 'none'})")
            x, y = f["x"], f["y"] if "y" in f.files else None
    except FileNotFoundError:
        raise GankitError(f"{path}: no such file") from None
    except (ValueError, OSError, EOFError) as exc:
        raise GankitError(f"{path}: not a readable npz file ({str(exc).splitlines()[0] if str(exc) else 'bad'})") \
            from None
    if not np.issubdtype(x.dtype, np.number):
        raise GankitError(f"{path}: x must be numeric, got dtype {x.dtype}")
    if y is not None:
        if not np.issubdtype(y.dtype, np.integer):
            raise GankitError(f"{path}: y must hold integer class labels, got dtype {y.dtype}")
        y = torch.from_numpy(y.astype(np.int64))
    return torch.from_numpy(x.astype(np.float32)), y


def save_npz(inversion: Inversion, path: Path) -> None:
    """Write ``inversion.arrays()`` to ``path`` atomically (a temporary file, then a rename)."""
    path = Path(path)
    buf = io.BytesIO()
    np.savez(buf, **inversion.arrays())
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(buf.getvalue())
    tmp.replace(path)


def _features(net: nn.Module | None, x: torch.Tensor) -> torch.Tensor | None:
    return None if net is None else net.features(x)


def invert(G: nn.Module, x: torch.Tensor, labels: torch.Tensor | None = None, *, steps: int = 200,
           restarts: int = 1, lr: float = 0.1, seed: int = 0, batch_size: int = 500, feature_weight: float = 0.0,
           sphere: bool = True, device: str | torch.device = "cpu") -> Inversion:
    """Find z* = argmin_z ‖G(z) − x‖² for every image by Adam on z with restarts.

    Deterministic for a given ``seed`` (on one device and thread count): the starting
    points are drawn up front from one generator, so they do not depend on ``batch_size``.
    G's weights are untouched (only z is optimised; gradients are taken with respect to z
    alone) and its training/eval mode is restored on return.

    Args:
        G: the generator; ``G.z_dim`` is read; a conditional G (``num_classes`` > 0) needs labels.
        x: the images (or points), (N, *shape), in the data's own space.
        labels: (N,) int64: the class to generate for a conditional G; carried to the
            result (for per-class summaries) for an unconditional one.
        steps: Adam steps per batch.
        restarts: starting points per image; the best one (lowest objective) is kept.
        lr: Adam's learning rate.
        seed: seeds the starting points.
        batch_size: images per optimisation batch (each with ``restarts`` z's).
        feature_weight: λ, the weight of the bundled digit CNN's feature distance (28x28
            grayscale only); 0 uses pixels alone.
        sphere: keep z on the sphere of radius sqrt(z_dim) (see the module docstring).
        device: where G runs ("cpu", "cuda", ...).

    Returns:
        An ``Inversion`` on the CPU.
    """
    if steps < 1 or restarts < 1 or batch_size < 1:
        raise GankitError(f"invert: steps, restarts and batch_size must be >= 1, got {steps}, {restarts}, {batch_size}")
    classes = int(getattr(G, "num_classes", 0))
    if classes and labels is None:
        raise GankitError(f"this generator is conditional ({classes} classes): give the labels to invert with")
    net = None
    if feature_weight > 0:
        from gankit.metrics.classifier import check_digit_images, load_classifier

        check_digit_images(x, "invert with feature_weight > 0")
        net = load_classifier().to(device)
    device = torch.device(device)
    n, r = len(x), restarts
    # (r, n, z_dim) drawn in that order: restart 0 starts at the same z whatever the number of restarts.
    z0 = torch.randn(r, n, G.z_dim, generator=torch.Generator().manual_seed(seed)).transpose(0, 1)
    radius = float(G.z_dim) ** 0.5
    if sphere:
        z0 = z0 * (radius / z0.norm(dim=2, keepdim=True))
    held = start_z0(G, x.to(device, torch.float32))  # a self-conditioned G: the z_0 of each image's cluster
    if held is not None:
        held = held.cpu().repeat_interleave(r)  # one per row of the batches below
        z0[:, :, 0] = held.view(n, r)
    was_training = G.training
    G.eval()
    zs, recons, errors = [], [], []
    try:
        for start in range(0, n, batch_size):
            xb = x[start : start + batch_size].to(device, torch.float32)
            b = len(xb)
            target = xb.repeat_interleave(r, dim=0)  # (b * r, *shape): image i's restarts are rows i*r .. i*r+r-1
            yb = None
            if classes:
                yb = labels[start : start + b].to(device).repeat_interleave(r)
            with torch.no_grad():
                target_f = _features(net, target)
            z = z0[start : start + b].reshape(b * r, G.z_dim).to(device).clone().requires_grad_(True)
            held_b = None if held is None else held[start * r : (start + b) * r].to(device)
            opt = torch.optim.Adam([z], lr=lr)
            for _ in range(steps):
                objective = _objective(G, z, yb, target, net, target_f, feature_weight)
                (grad,) = torch.autograd.grad(objective.sum(), [z])  # only z: G's weights get no gradient
                z.grad = grad
                opt.step()
                if sphere:
                    with torch.no_grad():
                        z.mul_(radius / z.norm(dim=1, keepdim=True).clamp_min(1e-12))
                if held_b is not None:
                    with torch.no_grad():
                        z[:, 0] = held_b
            with torch.no_grad():
                objective = _objective(G, z, yb, target, net, target_f, feature_weight).view(b, r)
                best = objective.argmin(1) + torch.arange(b, device=device) * r
                z_best = z.detach()[best]
                recon = G(z_best) if yb is None else G(z_best, yb[best])
                err = (recon - xb).pow(2).flatten(1).mean(1)
            zs.append(z_best.cpu())
            recons.append(recon.float().cpu().contiguous())
            errors.append(err.float().cpu())
    finally:
        G.train(was_training)
    return Inversion(torch.cat(zs), torch.cat(recons), torch.cat(errors), labels)


def _objective(G: nn.Module, z: torch.Tensor, y: torch.Tensor | None, target: torch.Tensor,
               net: nn.Module | None, target_f: torch.Tensor | None, feature_weight: float) -> torch.Tensor:
    """Per-row objective (rows,): pixel MSE [+ λ · feature MSE under the digit CNN]."""
    fake = G(z) if y is None else G(z, y)
    loss = (fake - target).pow(2).flatten(1).mean(1)
    if net is not None:
        loss = loss + feature_weight * (net.features(fake) - target_f).pow(2).mean(1)
    return loss


def class_means(error: torch.Tensor, labels: torch.Tensor) -> dict[int, float]:
    """{class: mean error of its images} for the classes present in ``labels``."""
    return {int(c): float(error[labels == c].double().mean()) for c in torch.unique(labels)}


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation between rows of ``z0`` and ``z1`` (Shoemake 1985; White 2016).

    Gaussian z concentrates near the sphere of radius sqrt(z_dim); the straight line between
    two such points passes closer to the origin, where G saw no training noise. slerp keeps
    the walk at the endpoints' radius (exactly, when they share one).

    Args:
        z0, z1: (N, z_dim) endpoints.
        t: (K,) fractions in [0, 1].

    Returns:
        (N, K, z_dim): row i, column k is slerp(z0[i], z1[i], t[k]).
    """
    a, b = z0.double(), z1.double()
    cos = (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1)).clamp_min(1e-12)
    omega = torch.arccos(cos.clamp(-1.0, 1.0))[:, None]  # (N, 1)
    t = t.double()[None, :]  # (1, K)
    sin = torch.sin(omega)
    near = sin.abs() < 1e-6  # (almost) parallel endpoints: slerp tends to the straight line
    safe = torch.where(near, torch.ones_like(sin), sin)
    w0 = torch.where(near, 1 - t, torch.sin((1 - t) * omega) / safe)
    w1 = torch.where(near, t, torch.sin(t * omega) / safe)
    return (w0[..., None] * a[:, None] + w1[..., None] * b[:, None]).to(z0.dtype)


def latent_walk(G: nn.Module, rows: int, steps: int, seed: int = 0, labels: torch.Tensor | None = None) -> torch.Tensor:
    """G along ``rows`` spherical walks of ``steps`` points between seeded random z's.

    Args:
        labels: (rows,) int64, the class of each walk, for a conditional G.

    Returns:
        (rows * steps, *shape): the walks one after the other (row-major for a grid).
    """
    if rows < 1 or steps < 2:
        raise GankitError(f"latent walk: need rows >= 1 and at least 2 steps, got {rows} and {steps}")
    gen = torch.Generator().manual_seed(seed)
    z0, z1 = torch.randn(rows, G.z_dim, generator=gen), torch.randn(rows, G.z_dim, generator=gen)
    z = slerp(z0, z1, torch.linspace(0, 1, steps)).reshape(rows * steps, G.z_dim)
    was_training = G.training
    G.eval()
    try:
        with torch.no_grad():
            return G(z) if labels is None else G(z, labels.repeat_interleave(steps))
    finally:
        G.train(was_training)
