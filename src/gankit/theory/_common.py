"""Shared plumbing of the lecture demos: output folder, figures, and ``numbers.json``.

Figures are drawn on a bare ``matplotlib.figure.Figure`` (no pyplot, no global backend
state), which renders PNG through Agg; matplotlib is imported only when a demo draws.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import torch

DPI = 80  # figures stay small (< 150 KB) for docs/figures


def prepare(out_dir: Path | str) -> Path:
    """Create ``out_dir`` (and its parents) if needed and return it as a Path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return out


def figure(width: float, height: float):
    """A new Agg-rendered figure of ``width`` x ``height`` inches, constrained layout."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def save(fig, path: Path) -> None:
    """Write ``fig`` as a PNG at the demos' resolution."""
    fig.savefig(path, dpi=DPI)


def jsonable(x: Any) -> Any:
    """Tensors, numpy scalars and nested containers -> plain floats, ints, lists and dicts.

    Non-finite floats become the strings "inf", "-inf" or "nan" so that the file is strict
    JSON (``json.dumps`` would otherwise write the non-standard ``Infinity``).
    """
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, torch.Tensor):
        return jsonable(x.tolist())
    if isinstance(x, bool) or x is None or isinstance(x, str):
        return x
    if isinstance(x, int):
        return x
    if hasattr(x, "item"):  # numpy scalar
        return jsonable(x.item())
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    return x


def write_numbers(out_dir: Path, numbers: dict) -> dict:
    """Write ``numbers`` (made JSON-safe) to ``out_dir/numbers.json`` and return the safe dict."""
    safe = jsonable(numbers)
    (out_dir / "numbers.json").write_text(json.dumps(safe, indent=2) + "\n")
    return safe
