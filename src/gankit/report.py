"""``gankit report RUN``: one self-contained HTML page about a run (RUN/report.html).

The page holds the resolved config, the training curves (losses, D(x), D(G(z))), the
latest evaluation, the sample grids over time (and as an animated GIF), and what the
trained generator can and cannot make (``gankit.coverage``): held-out images above their
reconstructions, worst first; samples beside their nearest training images; latent walks;
D's decision surface for 1D/2D runs. Everything is embedded (images as data URIs), so the
file can be mailed or archived alone; the figures are also written to RUN/figures/.
Each section is an element with an id (``curves``, ``evaluation``, ``samples``,
``animation``, ``reconstructions``, ``neighbours``, ``walk``, ``decision``, ``config``).
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

from gankit.coverage import coverage_figures
from gankit.runs import read_config


def _read_rows(path: Path) -> list[dict]:
    rows = []
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut short by a crash
    return rows


def _png_uri(data: bytes, kind: str = "png") -> str:
    return f"data:image/{kind};base64," + base64.b64encode(data).decode("ascii")


def _cell(value) -> str:
    """A table cell: floats to 6 significant digits, {class: value} dicts as "0: 0.0296, 1: 0.00401, ..."."""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_cell(v) if isinstance(v, float) else v}" for k, v in value.items())
    return str(value)


def _curves_png(train_rows: list[dict]) -> bytes:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3.2), dpi=90)
    steps = [r["step"] for r in train_rows]
    ax = fig.add_subplot(1, 2, 1)
    ax.plot(steps, [r["d_loss"] for r in train_rows], label="D loss")
    ax.plot(steps, [r["g_loss"] for r in train_rows], label="G loss")
    ax.set_xlabel("step")
    ax.legend()
    ax = fig.add_subplot(1, 2, 2)
    ax.plot(steps, [r["d_real"] for r in train_rows], label="D(x)")
    ax.plot(steps, [r["d_fake"] for r in train_rows], label="D(G(z))")
    ax.axhline(0.5, color="gray", lw=0.8)
    ax.set_ylim(0, 1)
    ax.set_xlabel("step")
    ax.legend()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def write_report(run_dir: Path, max_grids: int = 8) -> Path:
    """Write RUN/report.html and return its path.

    Raises:
        GankitError: ``run_dir`` is not a run directory (no readable config.json).
    """
    run_dir = Path(run_dir)
    cfg = read_config(run_dir)
    rows = _read_rows(run_dir / "metrics.jsonl")
    train_rows = [r for r in rows if "d_loss" in r]
    evals = [r for r in rows if r.get("kind") == "eval"]
    grids = sorted((run_dir / "samples").glob("step_*.png"))
    if len(grids) > max_grids:  # keep the first, the last, and evenly spaced ones between
        idx = sorted({round(i * (len(grids) - 1) / (max_grids - 1)) for i in range(max_grids)})
        grids = [grids[i] for i in idx]
    esc = html.escape
    figures = coverage_figures(run_dir, cfg)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>gankit report: {esc(run_dir.name)}</title>",
        "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}"
        "figure{display:inline-block;margin:4px}pre{background:#f6f6f6;padding:8px}"
        "section>img{max-width:100%;height:auto}</style></head><body>",
        f"<h1>{esc(cfg.preset or 'run')}: {esc(str(run_dir))}</h1>",
    ]
    if train_rows:
        last = train_rows[-1]
        parts.append(f"<p>Last logged step {last['step']} of {cfg.train.steps}: D loss {last['d_loss']:.4f}, "
                     f"G loss {last['g_loss']:.4f}, D(x) {last['d_real']:.3f}, D(G(z)) {last['d_fake']:.3f}.</p>")
        parts.append(f"<section id='curves'><h2>Training curves</h2>"
                     f"<img alt='training curves' src='{_png_uri(_curves_png(train_rows))}'></section>")
    else:
        parts.append("<p>No training step logged yet.</p>")
    if evals:
        latest = evals[-1]
        cells = "".join(f"<tr><th>{esc(k)}</th><td>{esc(_cell(v))}</td></tr>" for k, v in latest.items() if k != "kind")
        parts.append(f"<section id='evaluation'><h2>Latest evaluation (step {latest['step']})</h2>"
                     f"<table>{cells}</table></section>")
    if grids:
        parts.append("<section id='samples'><h2>Samples over training</h2>")
        for g in grids:
            parts.append(f"<figure><img alt='{esc(g.stem)}' src='{_png_uri(g.read_bytes())}'>"
                         f"<figcaption>{esc(g.stem.replace('_', ' '))}</figcaption></figure>")
        parts.append("</section>")
    for fig in figures:
        parts.append(f"<section id='{fig.key}'><h2>{esc(fig.heading)}</h2><p>{esc(fig.caption)}</p>"
                     f"<img alt='{esc(fig.heading)}' src='{_png_uri(fig.data, fig.kind)}'></section>")
    parts.append(f"<section id='config'><h2>Config</h2><pre>{html.escape(cfg.to_json(), quote=False)}</pre>"
                 "</section></body></html>")
    out = run_dir / "report.html"
    tmp = out.with_suffix(".html.tmp")
    tmp.write_text("\n".join(parts))
    tmp.replace(out)
    return out
