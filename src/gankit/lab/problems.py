"""The lab's problems and the rules for its settings: which problems it trains, which settings the
running players take at the next step (the rest restart the run), and the checks on what a page sends.
No thread, no state: ``gankit.lab.session`` applies them."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

from gankit import config as config_lib
from gankit.errors import GankitError

# problem -> (preset, its overrides): the lectures' small problems (gauss1d: toy1d's data, an MLP pair).
PROBLEMS: dict[str, tuple[str, dict[str, Any]]] = {
    "toy1d": ("toy1d", {}),
    "gauss1d": ("toy1d", {"model.family": "mlp", "model.z_dim": 1, "model.width": 32, "model.depth": 2,
                          "train.k": 1, "train.lr_d": 1e-3, "train.lr_g": 1e-3}),
    "ring8": ("ring8", {}),
    "grid25": ("grid25", {}),
}
ACTIONS = ("play", "pause", "reset", "step_d", "step_g")
LAB_DATA = ("gauss1d", "ring8", "grid25", "npz")  # 1D and 2D data the page can draw
# Settings the running players take at the next step; any other change restarts the run.
SCHEDULE_KEYS = {"train.k", "train.steps", "train.lr_g", "train.lr_d", "train.lr_decay", "train.lr_min",
                 "train.momentum", "train.momentum_final", "train.momentum_steps", "train.momentum_epochs",
                 "train.on_nan", "train.threads"}
OBJECTIVE_KEYS = {"train.loss", "train.g_cost", "train.gp", "train.r1", "train.label_smoothing",
                  "train.instance_noise", "train.instance_noise_steps", "train.class_weight",
                  "train.fake_class_weight"}
OPTIMIZER_KEYS = {"train.optimizer", "train.beta1", "train.beta2"}
LIVE_KEYS = SCHEDULE_KEYS | OBJECTIVE_KEYS | OPTIMIZER_KEYS | {"data.batch_size"} | \
    {f"log.{f.name}" for f in dataclasses.fields(config_lib.LogConfig)} | \
    {f"eval.{f.name}" for f in dataclasses.fields(config_lib.EvalConfig)}


def _flat(cfg: config_lib.Config) -> dict[str, Any]:
    out = {"seed": cfg.seed}
    for section in ("data", "model", "train", "log", "eval"):
        out.update({f"{section}.{k}": v for k, v in dataclasses.asdict(getattr(cfg, section)).items()})
    return out


def resolve(problem: str, overrides: dict[str, Any]) -> config_lib.Config:
    """The validated config of ``problem`` with the user's ``overrides``; GankitError names a bad key."""
    if problem not in PROBLEMS:
        raise GankitError(f"problem: unknown {problem!r}; valid: {', '.join(PROBLEMS)}")
    preset, base = PROBLEMS[problem]
    cfg = config_lib.resolve(preset, {**base, **overrides})
    if cfg.data.name not in LAB_DATA:
        raise GankitError(f"data.name: the lab draws 1D and 2D data ({', '.join(LAB_DATA)}), not {cfg.data.name!r}")
    if cfg.model.family not in ("toy", "mlp") or cfg.model.conditional:
        raise GankitError(f"model.family: the lab trains the toy and mlp players, unconditional, not "
                          f"{cfg.model.family}{' ' + cfg.model.conditional if cfg.model.conditional else ''}")
    return cfg


def check_sets(sets: Any) -> dict[str, Any]:
    """The body's ``set``: an object of dotted keys to scalars (GankitError naming the field otherwise)."""
    if sets is None:
        return {}
    if not isinstance(sets, dict):
        raise GankitError("set: expected an object of dotted keys to values")
    for key, value in sets.items():
        if not isinstance(value, (str, int, float, bool)) or (isinstance(value, float) and not math.isfinite(value)):
            raise GankitError(f"set.{key}: expected a string, number or boolean, got {json.dumps(value)[:40]}")
        if key != "problem":
            config_lib.coerce(key, value)  # unknown keys and wrong types, named
    return dict(sets)
