"""The bilinear game v(a, b) = a·b: gradient play does not find the equilibrium.

Player a minimises v, player b maximises it; the unique equilibrium is (a, b) = (0, 0). This
is the smallest game that shows why GAN training can circle instead of converge
(Goodfellow 2016, NIPS tutorial, the exercise "gradient descent for games"). Writing the
state as the complex number w = a + i b, one gradient step of each method is a linear map:

- continuous-time flow (da/dt = -b, db/dt = a): w(t) = e^{it} w(0), a circle;
- simultaneous GDA: w' = (1 + iη) w, so the radius grows by exactly sqrt(1 + η²) per step;
- alternating GDA (b moves after seeing the new a): the area-preserving map
  [[1, -η], [η, 1 - η²]], which conserves a² + b² - η a b (a tilted ellipse, bounded orbit;
  Bailey, Gidel & Piliouras 2020);
- extragradient (Korpelevich 1976; Gidel et al. 2019): w' = (1 - η² + iη) w, radius
  shrinks by sqrt(1 - η² + η⁴) per step;
- optimistic GDA (Daskalakis et al. 2018): w_{t+1} = (1 + 2iη) w_t - iη w_{t-1}, whose
  slower characteristic root has modulus sqrt((1 + sqrt(1 - 4η²)) / 2) < 1 for 0 < η ≤ 1/2.

The iterations below take their gradients from autograd on v, not from these formulas, so
the tests that compare them with the closed forms check the algorithms themselves.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from gankit.errors import GankitError
from gankit.theory import _common


def bilinear_value(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """v(a, b) = a·b (a minimises, b maximises)."""
    return a * b


def game_gradients(a: float | torch.Tensor, b: float | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(∂v/∂a, ∂v/∂b) at (a, b), by autograd on ``bilinear_value``; float64 scalars."""
    a = torch.as_tensor(a, dtype=torch.float64).detach().requires_grad_(True)
    b = torch.as_tensor(b, dtype=torch.float64).detach().requires_grad_(True)
    ga, gb = torch.autograd.grad(bilinear_value(a, b), (a, b))
    return ga, gb


def _check(eta: float, steps: int) -> None:
    if not eta > 0:
        raise GankitError(f"bilinear: the step size eta must be positive, got {eta}")
    if steps < 0:
        raise GankitError(f"bilinear: the number of steps must be >= 0, got {steps}")


def _iterate(update, eta: float, steps: int, a0: float, b0: float) -> torch.Tensor:
    """The path of ``update(a, b) -> (a', b')`` from (a0, b0): shape (steps + 1, 2), float64; row t is (a_t, b_t)."""
    _check(eta, steps)
    a, b = torch.tensor(a0, dtype=torch.float64), torch.tensor(b0, dtype=torch.float64)
    path = [torch.stack([a, b])]
    for _ in range(steps):
        a, b = update(a, b)
        path.append(torch.stack([a, b]))
    return torch.stack(path)


def simultaneous_gda(eta: float, steps: int, a0: float, b0: float) -> torch.Tensor:
    """Simultaneous gradient descent (on a) / ascent (on b) from (a0, b0).

    Returns:
        The iterates, shape (steps + 1, 2), float64; row t is (a_t, b_t).
    """

    def update(a, b):
        ga, gb = game_gradients(a, b)  # both gradients at the *same* point
        return a - eta * ga, b + eta * gb

    return _iterate(update, eta, steps, a0, b0)


def alternating_gda(eta: float, steps: int, a0: float, b0: float) -> torch.Tensor:
    """Alternating GDA: a descends first, then b ascends at the new a (as GAN trainers do).

    Returns:
        The iterates, shape (steps + 1, 2), float64.
    """

    def update(a, b):
        a = a - eta * game_gradients(a, b)[0]
        return a, b + eta * game_gradients(a, b)[1]  # b sees the updated a

    return _iterate(update, eta, steps, a0, b0)


def extragradient(eta: float, steps: int, a0: float, b0: float) -> torch.Tensor:
    """Extragradient: a look-ahead step, then the real step with the look-ahead's gradients.

    Returns:
        The iterates, shape (steps + 1, 2), float64.
    """

    def update(a, b):
        ga, gb = game_gradients(a, b)
        ga, gb = game_gradients(a - eta * ga, b + eta * gb)
        return a - eta * ga, b + eta * gb

    return _iterate(update, eta, steps, a0, b0)


def optimistic_gda(eta: float, steps: int, a0: float, b0: float) -> torch.Tensor:
    """Optimistic GDA: x_{t+1} = x_t ∓ η (2 g_t - g_{t-1}), with g_{-1} = g_0.

    Returns:
        The iterates, shape (steps + 1, 2), float64.
    """
    previous: list[tuple[torch.Tensor, torch.Tensor]] = []

    def update(a, b):
        ga, gb = game_gradients(a, b)
        pa, pb = previous[0] if previous else (ga, gb)
        previous[:] = [(ga, gb)]
        return a - eta * (2 * ga - pa), b + eta * (2 * gb - pb)

    return _iterate(update, eta, steps, a0, b0)


def gradient_flow(h: float, steps: int, a0: float, b0: float) -> torch.Tensor:
    """The continuous-time flow da/dt = -∂v/∂a, db/dt = +∂v/∂b, integrated by classical RK4.

    Args:
        h: the integration step (time units); the path covers t in [0, h * steps].

    Returns:
        The states at t = 0, h, ..., shape (steps + 1, 2), float64.
    """
    _check(h, steps)

    def field(x: torch.Tensor) -> torch.Tensor:
        ga, gb = game_gradients(x[0], x[1])
        return torch.stack([-ga, gb])

    x = torch.tensor([a0, b0], dtype=torch.float64)
    path = [x]
    for _ in range(steps):
        k1 = field(x)
        k2 = field(x + 0.5 * h * k1)
        k3 = field(x + 0.5 * h * k2)
        k4 = field(x + h * k3)
        x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        path.append(x)
    return torch.stack(path)


def alternating_invariant(path: torch.Tensor, eta: float) -> torch.Tensor:
    """The quantity a² + b² - η a b that alternating GDA conserves, for each row of ``path`` (T, 2)."""
    a, b = path[:, 0], path[:, 1]
    return a * a + b * b - eta * a * b


def rates(eta: float) -> dict[str, float]:
    """The closed-form per-step radius factors (see the module doc); alternating GDA has none."""
    return {
        "simultaneous": math.sqrt(1 + eta**2),
        "extragradient": math.sqrt(1 - eta**2 + eta**4),
        "optimistic": math.sqrt((1 + math.sqrt(1 - 4 * eta**2)) / 2) if eta <= 0.5 else float("nan"),
    }


def _plot(paths: dict[str, torch.Tensor], flow: torch.Tensor, eta: float, path: Path) -> None:
    fig = _common.figure(11, 6.6)
    axes = fig.subplots(2, 3)
    t = torch.linspace(0, 2 * math.pi, 200)
    titles = {
        "simultaneous": f"simultaneous GDA: spirals out\n(radius × √(1+η²) = {math.sqrt(1 + eta**2):.4f} per step)",
        "alternating": "alternating GDA: bounded orbit\n(a² + b² − η·ab conserved)",
        "flow": "continuous-time flow: a circle",
        "extragradient": "extragradient: converges to (0, 0)",
        "optimistic": "optimistic GDA: converges to (0, 0)",
    }
    panels = [("simultaneous", (0, 0)), ("alternating", (0, 1)), ("flow", (0, 2)), ("extragradient", (1, 0)), ("optimistic", (1, 1))]
    for name, (i, j) in panels:
        ax = axes[i, j]
        p = flow if name == "flow" else paths[name]
        ax.plot(torch.cos(t), torch.sin(t), ls="--", color="0.6", lw=1, label="flow (unit circle)")
        ax.plot(p[:, 0], p[:, 1], "-", color="C0", lw=1, marker="." if name != "flow" else None, ms=3)
        ax.plot(p[0, 0], p[0, 1], "o", color="C2", label="start")
        ax.plot(0, 0, "*", color="C3", ms=10, label="equilibrium")
        ax.set_title(titles[name], fontsize=9)
        ax.set_aspect("equal")
        ax.set_xlabel("a (minimises ab)")
        ax.set_ylabel("b (maximises ab)")
    axes[0, 0].legend(fontsize=7, loc="lower left")
    ax = axes[1, 2]
    for name, p in paths.items():
        ax.semilogy(p.norm(dim=1), label=name)
    ax.set_xlabel("step")
    ax.set_ylabel("distance to (0, 0)")
    ax.set_title(f"distance to equilibrium (η = {eta:g})", fontsize=9)
    ax.legend(fontsize=7)
    _common.save(fig, path)


def run(out_dir: Path, seed: int = 0, eta: float = 0.2, steps: int = 100) -> dict:
    """Run every method from (1, 0); write ``bilinear.png`` and ``numbers.json``.

    The game is deterministic: ``seed`` is accepted for the common demo signature only.
    """
    out = _common.prepare(out_dir)
    methods = {
        "simultaneous": simultaneous_gda,
        "alternating": alternating_gda,
        "extragradient": extragradient,
        "optimistic": optimistic_gda,
    }
    paths = {name: fn(eta, steps, 1.0, 0.0) for name, fn in methods.items()}
    flow = gradient_flow(2 * math.pi / 200, 200, 1.0, 0.0)  # one full period
    theory = rates(eta)
    numbers: dict = {"eta": eta, "steps": steps, "start": [1.0, 0.0]}
    for name, p in paths.items():
        r = p.norm(dim=1)
        numbers[name] = {"final_radius": r[-1], "max_radius": r.max(), "min_radius": r.min()}
        if name != "alternating":  # its radius oscillates: no rate, an invariant instead
            numbers[name]["measured_rate_per_step"] = (r[-1] / r[0]) ** (1 / steps)
            numbers[name]["closed_form_rate"] = theory[name]
    inv = alternating_invariant(paths["alternating"], eta)
    numbers["alternating"]["invariant_first"] = inv[0]
    numbers["alternating"]["invariant_max_abs_change"] = (inv - inv[0]).abs().max()
    # The invariant's quadratic form has eigenvalues 1 ± η/2, hence these radius bounds.
    numbers["alternating"]["radius_bounds"] = [math.sqrt(inv[0] / (1 + eta / 2)), math.sqrt(inv[0] / (1 - eta / 2))]
    numbers["flow"] = {"max_abs_radius_minus_1": (flow.norm(dim=1) - 1).abs().max(), "end_minus_start": (flow[-1] - flow[0]).norm()}
    _plot(paths, flow, eta, out / "bilinear.png")
    return _common.write_numbers(out, numbers)
