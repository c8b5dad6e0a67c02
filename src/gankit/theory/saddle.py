"""The saddle L(θ, φ) = -θ² + φ²: where gradient ascent-descent does converge.

θ maximises L and φ minimises it. The equilibrium (0, 0) is a saddle point of the surface:
along θ it is a maximum (∂²L/∂θ² = -2), along φ a minimum (∂²L/∂φ² = +2), so each player
is at its own best response: L(θ, 0) <= L(0, 0) <= L(0, φ). Unlike the bilinear game, the
players do not interact, so simultaneous gradient ascent (θ) / descent (φ) with step η
multiplies both coordinates by (1 - 2η) per step and converges for 0 < η < 1.
"""

from __future__ import annotations

from pathlib import Path

import torch

from gankit.errors import GankitError
from gankit.theory import _common


def saddle_value(theta: torch.Tensor, phi: torch.Tensor) -> torch.Tensor:
    """L(θ, φ) = -θ² + φ² (θ maximises, φ minimises)."""
    return -theta**2 + phi**2


def gradient_ascent_descent(eta: float, steps: int, theta0: float, phi0: float) -> torch.Tensor:
    """Simultaneous gradient ascent on θ and descent on φ, gradients by autograd.

    Returns:
        The iterates, shape (steps + 1, 2), float64; row t is (θ_t, φ_t).
    """
    if not eta > 0:
        raise GankitError(f"saddle: the step size eta must be positive, got {eta}")
    theta = torch.tensor(theta0, dtype=torch.float64)
    phi = torch.tensor(phi0, dtype=torch.float64)
    path = [torch.stack([theta, phi])]
    for _ in range(steps):
        t, p = theta.clone().requires_grad_(True), phi.clone().requires_grad_(True)
        g_theta, g_phi = torch.autograd.grad(saddle_value(t, p), (t, p))
        theta, phi = theta + eta * g_theta, phi - eta * g_phi
        path.append(torch.stack([theta, phi]))
    return torch.stack(path)


def hessian_at(theta: float, phi: float) -> torch.Tensor:
    """The Hessian of L at (θ, φ), shape (2, 2), by autograd."""
    x = torch.tensor([theta, phi], dtype=torch.float64)
    return torch.autograd.functional.hessian(lambda v: saddle_value(v[0], v[1]), x)


def _plot(path: torch.Tensor, eta: float, out: Path) -> None:
    fig = _common.figure(12.5, 4.0)
    grid = torch.linspace(-2, 2, 25, dtype=torch.float64)
    T, P = torch.meshgrid(grid, grid, indexing="ij")
    L = saddle_value(T, P)
    ax = fig.add_subplot(1, 3, 1, projection="3d")
    ax.plot_surface(T.numpy(), P.numpy(), L.numpy(), cmap="coolwarm", alpha=0.6, linewidth=0)
    ax.plot(path[:, 0], path[:, 1], saddle_value(path[:, 0], path[:, 1]), "k.-", ms=3, lw=1, zorder=5)
    ax.scatter([0], [0], [0], color="C3", s=40, marker="*")
    ax.set_xlabel("θ (maximises)")
    ax.set_ylabel("φ (minimises)")
    ax.set_zlabel("L")
    ax.set_title("L = −θ² + φ²: max along θ, min along φ", fontsize=9)
    ax.view_init(elev=25, azim=-60)
    ax = fig.add_subplot(1, 3, 2)
    ax.plot(grid, saddle_value(grid, torch.zeros_like(grid)), label="L(θ, 0): θ = 0 is a maximum")
    ax.plot(grid, saddle_value(torch.zeros_like(grid), grid), label="L(0, φ): φ = 0 is a minimum")
    ax.plot(0, 0, "*", color="C3", ms=12)
    ax.set_xlabel("θ or φ")
    ax.set_ylabel("L")
    ax.legend(fontsize=7)
    ax.set_title("each player's slice through (0, 0)", fontsize=9)
    ax = fig.add_subplot(1, 3, 3)
    cs = ax.contour(T.numpy(), P.numpy(), L.numpy(), levels=15, cmap="coolwarm")
    ax.clabel(cs, fontsize=6)
    ax.plot(path[:, 0], path[:, 1], "k.-", ms=4, lw=1, label=f"gradient ascent–descent (η = {eta:g})")
    ax.plot(path[0, 0], path[0, 1], "o", color="C2", label="start")
    ax.plot(0, 0, "*", color="C3", ms=12, label="saddle (0, 0)")
    ax.set_xlabel("θ (maximises)")
    ax.set_ylabel("φ (minimises)")
    ax.set_aspect("equal")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(f"each coordinate × (1 − 2η) = {1 - 2 * eta:g} per step", fontsize=9)
    _common.save(fig, out)


def run(out_dir: Path, seed: int = 0, eta: float = 0.1, steps: int = 40) -> dict:
    """Descend/ascend from (θ, φ) = (1.5, 1.8); write ``saddle.png`` and ``numbers.json``.

    Deterministic: ``seed`` is accepted for the common demo signature only.
    """
    out = _common.prepare(out_dir)
    path = gradient_ascent_descent(eta, steps, 1.5, 1.8)
    r = path.norm(dim=1)
    numbers = {
        "eta": eta,
        "steps": steps,
        "start": path[0],
        "final": path[-1],
        "final_distance": r[-1],
        "measured_rate_per_step": (r[-1] / r[0]) ** (1 / steps),
        "closed_form_rate": abs(1 - 2 * eta),
        "hessian_at_saddle": hessian_at(0.0, 0.0),
        "value_at_saddle": saddle_value(torch.tensor(0.0), torch.tensor(0.0)),
    }
    _plot(path, eta, out / "saddle.png")
    return _common.write_numbers(out, numbers)
