"""The paper's Tables 1 and 2, reproduced and questioned: Parzen windows against AIS, a VAE beside the GANs.

Goodfellow et al. (2014) rank models by a Parzen-window estimate of the test log-likelihood
(Table 1: adversarial nets 225 +- 2 on MNIST) and call an adversarial model's p(x) "approximated
with Parzen density estimation" (Table 2). Wu et al. (2017) estimate the same models' log p(x) by
AIS under a Gaussian observation model and find Parzen off by hundreds of nats and ranking
models wrongly; Theis et al. (2016) show a Parzen window on k-means centroids scoring above one
on real digits. ``run`` trains four models on mnist5k's ``train-minus-valid`` split (the
``mnist-mlp`` and ``mnist5k-dcgan`` GANs, VAEs with each of their generators as decoder) and
scores them, and two Parzen controls (the training digits themselves, k-means centroids), by

- Parzen: the 2014 protocol (sigma on the ``valid`` split, every test digit), [0, 1] pixels;
- AIS: ``gankit.metrics.likelihood_eval.ais_protocol`` (sigma from a small grid on ``valid``,
  a seeded subset of the test digits, BDMC on simulated data), reported on [0, 1] pixels;
- IWAE (the VAEs) at the AIS sigma, and FID-CNN on the same samples as Parzen.

It writes ``table.md`` (ours beside the paper's Table 1 and Wu et al.'s Table 2), ``ranking.png``
and ``numbers.json``; docs/paper.md tells the story. ``quick`` shrinks every budget (training
steps, samples, temperatures, chains, points) to fit ~10 CPU minutes: its AIS numbers are loose
(the BDMC gap says how loose), its ranking a sketch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch

from gankit.metrics.likelihood import iwae, to_unit_interval
from gankit.metrics.likelihood_eval import Budget, evaluate_run, held_out_order
from gankit.theory import _common

PAPER_TABLE1 = (("DBN", 138.0, 2.0), ("Stacked CAE", 121.0, 1.6), ("Deep GSN", 214.0, 1.1),
                ("Adversarial nets", 225.0, 2.0))  # Goodfellow et al. 2014, Table 1, MNIST, Parzen, nats
WU_TABLE2 = (("GAN-50", 627.3, 300.3), ("VAE-50", 991.4, 351.2), ("VAE-10", 705.4, 408.7))  # Wu et al. 2017,
# MNIST test, [0, 1] pixels, nats: (model, AIS, Parzen); their IWAE bound falls >= 187 nats short of AIS
MODELS = (("GAN, mnist-mlp", "mnist-mlp"), ("GAN, mnist5k-dcgan", "mnist5k-dcgan"),
          ("VAE, mnist-mlp decoder", "mnist5k-vae"), ("VAE, DCGAN decoder", "mnist5k-dcvae"))
DIMS = 784


@dataclass(frozen=True)
class Setting:
    steps: int  # training steps of every model (0: each preset's own)
    parzen_samples: int  # samples the Parzen window is fit to (the paper: 10,000)
    budget: Budget  # the AIS budget
    iwae_k: int  # importance samples per image of the IWAE bound (Wu et al.: 5,000)
    kmeans_k: int  # centroids of the k-means control (Parzen on mnist5k: k = 100 loses to the real
    # digits, 300 ties, 1,000 wins by ~19 nats, 2,000 ties; docs/paper.md)


# sigma grids in [-1, 1] units: the GANs chose the top of (0.1, 0.2, 0.4) on validation data, so 0.8 is in.
FULL = Setting(0, 10_000, Budget(sigmas=(0.05, 0.1, 0.2, 0.4, 0.8)), 5000, 1000)
QUICK = Setting(500, 2000, Budget(temperatures=40, leapfrog=5, chains=4, points=12, valid_points=6,
                                  valid_temperatures=15, bdmc_points=4, sigmas=(0.1, 0.2, 0.4, 0.8)), 500, 1000)


def _train(preset: str, run_dir: Path, seed: int, setting: Setting, overrides: dict):
    """(G, cfg, encoder or None) of ``preset`` trained (or continued) on train-minus-valid."""
    from gankit import config

    sets = {"data.split": "train-minus-valid", "seed": seed, **overrides}
    if setting.steps:
        sets["train.steps"] = setting.steps
    cfg = config.resolve(preset, sets)
    resume = (run_dir / "config.json").exists()
    if cfg.train.method == "vae":
        from gankit.vae import fit_vae

        trainer = fit_vae(cfg, run_dir, resume=resume)
        return trainer.G.eval(), cfg, trainer.encoder.eval()
    from gankit.loop import fit

    trainer = fit(cfg, run_dir, resume=resume)
    return trainer.sampler.eval(), cfg, None


def _scores(samples: torch.Tensor, data_name: str, path: str, seed: int) -> dict:
    """Parzen's log-likelihood (sigma chosen on the valid split, the test split scored) and FID-CNN, as
    ``gankit eval`` computes them for a run trained on train-minus-valid."""
    from gankit.metrics import evaluate

    out = evaluate(samples, data_name, ["parzen", "fid_cnn"], seed=seed, train_split="train-minus-valid",
                   data_path=path)
    return {k: out[k] for k in ("parzen_ll", "parzen_se", "parzen_sigma", "parzen_n_test", "fid_cnn")}


def discordant_pairs(a: list[float], b: list[float]) -> int:
    """Pairs of rows that ``a`` and ``b`` order differently (0: the same ranking)."""
    n = len(a)
    return sum((a[i] - a[j]) * (b[i] - b[j]) < 0 for i in range(n) for j in range(i + 1, n))


def run(out_dir: Path, seed: int = 0, overrides: dict | None = None, quick: bool = False) -> dict:
    """Train, score and tabulate; writes ``table.md``, ``ranking.png``, ``numbers.json`` and ``runs/``."""
    from gankit.data import load_dataset
    from gankit.models.clusters import fit_clusters
    from gankit.runs import generate

    setting = QUICK if quick else FULL
    out = _common.prepare(out_dir)
    overrides = dict(overrides or {})
    data_name = overrides.get("data.name", "mnist5k")
    path = overrides.get("data.path", "")
    train = load_dataset(data_name, "train-minus-valid", path=path).x
    train = train[torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))]  # (sorted by class)
    test = load_dataset(data_name, "test", path=path).x
    rows = []
    for label, preset in MODELS:
        G, cfg, encoder = _train(preset, out / "runs" / preset, seed, setting, overrides)
        samples = generate(G, setting.parzen_samples, seed=seed)
        row = {"model": label, "preset": preset, "steps": cfg.train.steps, **_scores(samples, data_name, path, seed),
               **evaluate_run(cfg, G, setting.budget, seed=seed)}
        if encoder is not None:  # the IWAE bound on the same test digits, at the AIS sigma
            order = held_out_order(len(test), seed)
            bound = iwae(encoder, G, test[order][: setting.budget.points], sigma=row["ais_sigma"],
                         k=setting.iwae_k, seed=seed)
            row["iwae_01"] = to_unit_interval(float(bound.mean()), DIMS)
        row["ais_minus_parzen"] = row["ais_ll_01"] - row["parzen_ll"]
        rows.append(row)
    controls = [{"model": "training digits as samples", **_scores(train, data_name, path, seed)}]
    centroids, _ = fit_clusters(train, setting.kmeans_k, seed)
    centroids = centroids.view(-1, *train.shape[1:])
    controls.append({"model": f"k-means, {setting.kmeans_k} centroids",
                     **_scores(centroids, data_name, path, seed)})
    parzen, ais_01 = [r["parzen_ll"] for r in rows], [r["ais_ll_01"] for r in rows]
    discordant = discordant_pairs(parzen, ais_01)
    numbers = {
        "quick": quick, "seed": seed, "data": data_name, "train_split": "train-minus-valid",
        "units": "nats per image on [0, 1] pixels (log p on [-1, 1] pixels + 784 ln 2 = 543.4)",
        "rows": rows, "controls": controls,
        "discordant_pairs": discordant, "pairs": len(rows) * (len(rows) - 1) // 2,
        "same_ranking": discordant == 0,
        "kmeans_beats_training_digits": controls[1]["parzen_ll"] > controls[0]["parzen_ll"],
        "paper_table1": [dict(zip(("model", "parzen_ll", "parzen_se"), r)) for r in PAPER_TABLE1],
        "wu_table2": [dict(zip(("model", "ais_ll", "parzen_ll"), r)) for r in WU_TABLE2],
        "budget": {"steps": setting.steps or "each preset's", "parzen_samples": setting.parzen_samples,
                   "iwae_k": setting.iwae_k, "kmeans_k": setting.kmeans_k},
    }
    (out / "table.md").write_text(table_markdown(numbers))
    _ranking_figure(rows, controls, out / "ranking.png")
    return _common.write_numbers(out, numbers)


def _num(value, se=None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return f"{value:.{digits}f}" + (f" ± {se:.{digits}f}" if se is not None and math.isfinite(se) else "")


def table_markdown(n: dict) -> str:
    """Our table, then the paper's Table 1 and Wu et al.'s Table 2, as Markdown."""
    lines = [f"## log p(x) of mnist5k test digits ({n['units']}){' — quick budget' if n['quick'] else ''}", "",
             "| model | Parzen (σ) | AIS ± s.e. (σ) | BDMC gap | IWAE | AIS − Parzen | FID-CNN |",
             "|---|---|---|---|---|---|---|"]
    for r in n["rows"]:
        lines.append(f"| {r['model']} | {_num(r['parzen_ll'], r['parzen_se'])} ({r['parzen_sigma']:.3f}) | "
                     f"{_num(r['ais_ll_01'], r['ais_se'])} ({r['ais_sigma_01']:g}{'†' if r.get('ais_sigma_at_edge') else ''})"
                     f" | {_num(r.get('bdmc_gap'))} | "
                     f"{_num(r.get('iwae_01'))} | {_num(r['ais_minus_parzen'])} | {_num(r['fid_cnn'])} |")
    for r in n["controls"]:
        lines.append(f"| {r['model']} | {_num(r['parzen_ll'], r['parzen_se'])} ({r['parzen_sigma']:.3f}) | — | — | — "
                     f"| — | {_num(r['fid_cnn'])} |")
    verdict = "the same" if n["same_ranking"] else f"differently ({n['discordant_pairs']} of {n['pairs']} pairs swapped)"
    kmeans = "beats" if n["kmeans_beats_training_digits"] else "does not beat"
    lines += ["", f"Parzen and AIS rank the four models {verdict}. Under Parzen the k-means control {kmeans} "
              f"the training digits themselves.", "",
              "Parzen σ on [0, 1] pixels; AIS σ in brackets on [0, 1] pixels (twice that on gankit's [-1, 1]). "
              "BDMC gap: reverse minus forward AIS on data simulated from the model at that σ and budget. "
              "†: the best σ was at an end of the grid (the optimum may lie beyond it).", "",
              "### Goodfellow et al. (2014), Table 1 (MNIST, Parzen, nats)", "", "| model | Parzen |", "|---|---|"]
    lines += [f"| {m} | {v:g} ± {se:g} |" for m, v, se in PAPER_TABLE1]
    lines += ["", "### Wu et al. (2017), Table 2 (MNIST test, [0, 1] pixels, nats)", "",
              "| model | AIS | Parzen | AIS − Parzen |", "|---|---|---|---|"]
    lines += [f"| {m} | {a:g} | {p:g} | {a - p:.1f} |" for m, a, p in WU_TABLE2]
    return "\n".join(lines) + "\n"


def _ranking_figure(rows: list[dict], controls: list[dict], path: Path) -> None:
    fig = _common.figure(10, 4.2)
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.4]})
    names = [r["model"] for r in rows]
    for key, x in (("parzen_ll", 0), ("ais_ll_01", 1)):
        order = sorted(range(len(rows)), key=lambda i: -rows[i][key])
        for rank, i in enumerate(order, start=1):
            rows[i][f"_rank_{x}"] = rank
    for i, r in enumerate(rows):
        color = f"C{i}"
        left.plot([0, 1], [r["_rank_0"], r["_rank_1"]], "-o", color=color, lw=2)
        left.annotate(f"{r['parzen_ll']:.0f}", (0, r["_rank_0"]), xytext=(-8, 0), textcoords="offset points",
                      ha="right", va="center", fontsize=8)
        left.annotate(f"{r['ais_ll_01']:.0f}  {names[i]}", (1, r["_rank_1"]), xytext=(8, 0),
                      textcoords="offset points", ha="left", va="center", fontsize=8, color=color)
    left.set_xlim(-0.4, 2.2)
    left.set_ylim(len(rows) + 0.5, 0.5)
    left.set_xticks([0, 1], ["Parzen", "AIS"])
    left.set_yticks(range(1, len(rows) + 1))
    left.set_ylabel("rank (1 = highest log p)")
    left.set_title("the four models ranked by each estimate", fontsize=10)
    everything = rows + controls
    y = range(len(everything))
    right.barh(list(y), [r["parzen_ll"] for r in everything], color="0.7", label="Parzen")
    right.scatter([r.get("ais_ll_01", float("nan")) for r in everything], list(y), color="C3", zorder=3,
                  label="AIS")
    right.set_yticks(list(y), [r["model"][:34] for r in everything], fontsize=8)
    right.invert_yaxis()
    right.axvline(0, color="k", lw=0.5)
    right.set_xlabel("nats per test digit, [0, 1] pixels")
    right.set_title("Parzen (bars) and AIS (dots); controls: Parzen only", fontsize=10)
    right.legend(fontsize=8, loc="lower right")
    for r in rows:
        for k in ("_rank_0", "_rank_1"):
            r.pop(k)
    _common.save(fig, path)
