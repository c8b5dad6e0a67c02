"""One live run: gankit's ``Trainer`` in a training thread, driven by commands from a bounded queue.

Everything that touches the players happens in that one thread: training steps, the single D or
G updates, settings applied mid-run, frames for the page, exports. The server's threads only put
commands on the queue (and wait for the answer) or read the snapshots the thread publishes, so the
run is the same whether or not a page watches it: frames use fixed noise of their own, the players
in eval mode, and never draw from the run's random streams.

A run's config is always ``gankit.config.resolve(preset, overrides)``: the problem's preset, the
problem's own overrides, then the user's settings, exactly what ``gankit train PRESET --set ...``
would train. A setting the running players can take (k, the costs, learning rates, remedies that
live in the objective, ...) is applied at the next step; one that changes the players or the data
(a model shape, the seed, the data set) restarts the run at step 0, and the answer says so.
"""

from __future__ import annotations

import copy
import os
import tempfile
import dataclasses
import json
import math
import queue
import shutil
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import torch

from gankit import config as config_lib
from gankit.data import Batches
from gankit.distributed import unwrap
from gankit.errors import GankitError
from gankit.lab.problems import ACTIONS, LIVE_KEYS, OBJECTIVE_KEYS, _flat, check_sets, resolve
from gankit.lab.views import View
from gankit.lab.files import export_run, save_points
from gankit.loop import check_finite
from gankit.objectives import build_objective
from gankit.optimizers import make_optimizers
from gankit.precision import Precision
from gankit.train import StepStats, Trainer, discriminator_step, generator_step

SERIES = ("step", "d_loss", "g_loss", "d_real", "d_fake", "g_grad", "jsd_d")
MAX_POINTS = 4000  # per series; past it every other point is dropped and the stride doubles
QUEUE_SIZE = 32  # commands waiting for the training thread; a full queue answers "busy"


class Busy(Exception):
    """The command queue is full."""


class Session:
    """A run trained in its own thread; ``control``, ``export``, ``state`` and ``frame`` are thread-safe.

    Args:
        problem: one of ``PROBLEMS``.
        overrides: the user's dotted settings on top of the problem's config.
        grid: the side of D's heat map (grid x grid points in 2D).
        frame_interval: seconds between frames while a page watches (0.08: 12.5 frames/s at most).
    """

    def __init__(self, problem: str = "ring8", overrides: dict[str, Any] | None = None, *, grid: int = 64,
                 frame_interval: float = 0.08):
        self.problem, self.overrides = problem, dict(overrides or {})
        self.grid, self.frame_interval = grid, frame_interval
        self.commands: queue.Queue = queue.Queue(maxsize=QUEUE_SIZE)
        self.playing = False
        self.error: str | None = None
        self._stop = threading.Event()
        self._watched_until = 0.0
        self._last_frame = 0.0
        self._dirty = True
        self._frame: bytes | None = None
        self._frame_id = 0
        self._state: dict = {}
        # Frames are drawn in a thread of their own from copies of the players, handed over one at
        # a time: the training thread only copies (a millisecond or two for these nets).
        self._snapshot: tuple | None = None
        self._snapshot_ready = threading.Event()
        self._drawer_idle = threading.Event()
        self._drawer_idle.set()
        self.frame_series: dict[str, list] = {k: [] for k in ("step", "jsd", "modes", "hq")}
        self._drawn_generation = 0
        self.peers: list[Session] = []  # runs side by side: none steps ahead of the slowest playing one
        self._folder = Path(tempfile.gettempdir()) / f"gankit-lab-{os.getpid()}-{id(self):x}"  # uploaded data
        self._uploads = 0
        self._start(resolve(problem, self.overrides))  # a bad start raises here, in the caller's thread
        self._thread = threading.Thread(target=self._run, name="gankit-lab-train", daemon=True)
        self._drawer = threading.Thread(target=self._draw, name="gankit-lab-frames", daemon=True)
        self._thread.start()
        self._drawer.start()

    # ---- called from any thread -------------------------------------------------------------
    def submit(self, kind: str, payload: dict, timeout: float = 60.0) -> dict:
        """Queue a command for the training thread and wait for its answer (GankitError: a bad value)."""
        done: Future = Future()
        try:
            self.commands.put_nowait((kind, payload, done))
        except queue.Full:
            raise Busy("the training thread has too many commands waiting; try again") from None
        return done.result(timeout)

    def control(self, action: str | None = None, sets: dict | None = None) -> dict:
        if action is not None and action not in ACTIONS:
            raise GankitError(f"action: expected one of {', '.join(ACTIONS)}, got {json.dumps(action)[:40]}")
        return self.submit("control", {"action": action, "set": check_sets(sets)})

    def export(self, out: str) -> dict:
        if not isinstance(out, str) or not out.strip():
            raise GankitError("out: expected the path of a new run directory")
        return self.submit("export", {"out": out})

    def use_data(self, points: Any = None, npz: bytes | None = None) -> dict:
        """Train on the user's 1D/2D points (drawn in the page, or a CSV or .npz file): a restart
        (``gankit.lab.files.save_points``)."""
        self._uploads += 1
        path, data = save_points(self._folder / f"data_{self._uploads}.npz", points, npz)
        sets: dict[str, Any] = {"data.name": "npz", "data.path": str(path), "model.clusters": 0, "train.ema": 0.0,
                                "data.batch_size": min(self.cfg.data.batch_size, len(data.x))}
        dim = data.shape[0]
        if self.trainer.data.shape[0] != dim or self.cfg.model.family == "toy":  # nets for points of this dimension
            sets["problem"] = "ring8" if dim == 2 else "gauss1d"
        return self.submit("control", {"action": "pause", "set": sets})

    def state(self) -> dict:
        """The last published ``{"step", "config", "metrics", ...}`` (a snapshot; never blocks training)."""
        return self._state

    def frame(self) -> tuple[int, bytes | None]:
        """(frame id, the newest frame as JSON bytes); asking keeps frames coming for two seconds."""
        self._watched_until = time.monotonic() + 2.0
        return self._frame_id, self._frame

    def close(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
        self._drawer.join(timeout)
        while not self.commands.empty():  # commands that came too late are answered, not left waiting
            self.commands.get_nowait()[2].set_exception(GankitError("the lab is stopping"))
        shutil.rmtree(self._folder, ignore_errors=True)  # uploaded points (exports hold their own copy)

    # ---- the training thread ----------------------------------------------------------------
    def _start(self, cfg: config_lib.Config) -> None:
        trainer = Trainer(cfg)  # may raise (data smaller than a minibatch...): nothing has changed yet
        view = View(trainer, grid=self.grid)
        self.cfg, self.trainer, self.view = cfg, trainer, view
        self._config = cfg.to_dict()  # what /api/state shows; made again only when the config changes
        self.series: dict[str, list] = {k: [] for k in SERIES}
        self.generation = getattr(self, "generation", 0) + 1  # the drawer starts its series afresh
        self.stride, self.updates = 1, {"d": 0, "g": 0}
        self.last: dict[str, float] = {}
        self.playing, self.error, self._dirty = False, None, True
        self._publish()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._drain(block=not self.playing)
            if self.playing:
                if self.trainer.step >= self.cfg.train.steps:
                    self.playing = False
                elif self._ahead():
                    time.sleep(0.001)  # wait for the runs beside this one
                else:
                    try:
                        self._record(self.trainer.train_step())
                    except Exception as exc:  # the thread must outlive a failed step: pause and say why
                        self.playing = False
                        self.error = f"step {self.trainer.step + 1} failed ({type(exc).__name__}: {exc}); paused"
                self._publish()
            now = time.monotonic()
            if now < self._watched_until and (self.playing or self._dirty) and self._drawer_idle.is_set() and \
                    now - self._last_frame >= self.frame_interval:
                self._hand_over(now)

    def _ahead(self) -> bool:
        """Whether a run beside this one (side by side, stepping together) is still a step behind:
        a paused one holds the others back, so the runs stay on the same step."""
        behind = [p.trainer.step for p in self.peers
                  if p is not self and not p._stop.is_set() and p.trainer.step < p.cfg.train.steps]
        return bool(behind) and self.trainer.step > min(behind)

    def _drain(self, block: bool) -> None:
        try:
            item = self.commands.get(timeout=0.02) if block else self.commands.get_nowait()
        except queue.Empty:
            return
        while True:
            kind, payload, done = item
            try:
                done.set_result(self._control(**payload) if kind == "control" else self._export(**payload))
            except GankitError as exc:
                done.set_exception(exc)
            except Exception as exc:  # a bug must not kill the training thread; the caller sees it
                done.set_exception(GankitError(f"{kind}: {type(exc).__name__}: {exc}"))
            self._dirty = True
            try:
                item = self.commands.get_nowait()
            except queue.Empty:
                break
        self._publish()

    def _control(self, action: str | None, set: dict) -> dict:
        restarted = self._apply(set) if set else None
        if action == "play":
            self.playing, self.error = True, None
        elif action == "pause":
            self.playing = False
        elif action == "reset":
            self._start(self.cfg)
        elif action == "step_d":
            self.playing = False
            self._one_update("d")
        elif action == "step_g":
            self.playing = False
            self._one_update("g")
        self._publish()
        return {"step": self.trainer.step, "playing": self.playing, "updates": dict(self.updates),
                "applied": sorted(set), "reset": restarted}

    def _apply(self, sets: dict[str, Any]) -> str | None:
        """Apply settings; returns why the run restarted, or None if the running players took them."""
        problem = str(sets.get("problem", self.problem))
        overrides = {} if "problem" in sets else dict(self.overrides)  # a problem comes with its own settings
        overrides.update({k: config_lib.coerce(k, v) for k, v in sets.items() if k != "problem"})
        new = resolve(problem, overrides)  # GankitError names the key; nothing has changed yet
        old_flat, new_flat = _flat(self.cfg), _flat(new)
        changed = [k for k in new_flat if new_flat[k] != old_flat[k]]
        frozen = [k for k in changed if k not in LIVE_KEYS]
        why = "problem" if problem != self.problem else (frozen[0] if frozen else None)
        if why:
            self._start(new)
        self.problem, self.overrides = problem, overrides
        if why:
            return f"{why} changes the players or the data: the run restarted at step 0"
        self._apply_live(new, changed)
        return None

    def _apply_live(self, new: config_lib.Config, changed: list[str]) -> None:
        t = self.trainer
        if "data.batch_size" in changed:  # a new minibatch size: the data stream starts afresh (may raise)
            t.batches = Batches(t.data, new.data.batch_size, seed=new.seed, device=t.device)
        t.cfg = self.cfg = new
        self._config = new.to_dict()
        if OBJECTIVE_KEYS & set(changed):  # same random stream, new loss pair and penalties
            objective = build_objective(new, seed=new.seed + 4)
            objective.rng.set_state(t.objective.rng.get_state())
            t.objective = objective
        if "train.optimizer" in changed:  # a new optimizer starts with empty moments
            t.opt_G, t.opt_D = make_optimizers(new.train, t.G, t.D)
            t.precision = Precision(new.train.precision, t.device.type, (t.opt_G, t.opt_D))
        elif {"train.beta1", "train.beta2"} & set(changed) and new.train.optimizer == "adam":
            for opt in (t.opt_G, t.opt_D):
                for group in opt.param_groups:
                    group["betas"] = (new.train.beta1, new.train.beta2)
        if "train.threads" in changed and new.train.threads:
            torch.set_num_threads(new.train.threads)

    def _one_update(self, player: str) -> None:
        """One D update or one G update (Algorithm 1's inner steps), as ``Trainer.train_step`` makes them."""
        t = self.trainer
        objective = t.begin_step()
        if player == "d":
            real, _ = t.batches.next()
            d_loss, real_logits, fake_logits = discriminator_step(t.G, t.D, t.opt_D, real, t.noise,
                                                                  objective=objective, precision=t.precision,
                                                                  parts=t.cfg.train.micro_batches)
            self.last.update(d_loss=_finite(d_loss), d_real=_finite(torch.sigmoid(real_logits).mean()),
                             d_fake=_finite(torch.sigmoid(fake_logits).mean()), jsd_d=self._jsd_from_d(float(d_loss)))
        else:
            g_loss = generator_step(t.G, t.D, t.opt_G, t.batches.m, t.noise, objective=objective,
                                    precision=t.precision, parts=t.cfg.train.micro_batches)
            if t.G_avg is not None:
                t.G_avg.update_parameters(t.G)
            self.last.update(g_loss=_finite(g_loss), g_grad=_finite(self._g_grad()))
        self.updates[player] += 1

    def _g_grad(self) -> float:
        """‖∇θ G's cost‖ of G's last update (its gradients are kept until the next one)."""
        grads = [p.grad.detach().norm() for p in self.trainer.G.parameters() if p.grad is not None]
        return float(torch.linalg.vector_norm(torch.stack(grads))) if grads else math.nan

    def _jsd_from_d(self, d_loss: float) -> float | None:
        """(log 4 - D's loss) / 2: the JSD Theorem 1 reads off an optimal D (the paper's game, no penalty)."""
        t = self.cfg.train
        if t.loss != "gan" or t.label_smoothing or t.gp or t.r1:
            return None
        return _finite((math.log(4.0) - d_loss) / 2)

    def _record(self, stats: StepStats) -> None:
        step = self.trainer.step
        self.updates["d"] += self.cfg.train.k
        self.updates["g"] += 1
        problem = check_finite(stats, step)
        if problem:
            self.playing, self.error = False, f"{problem}: paused (lower the learning rates, then reset)"
        last = {**dataclasses.asdict(stats), "g_grad": self._g_grad(), "jsd_d": self._jsd_from_d(stats.d_loss)}
        self.last = {k: _finite(v) for k, v in last.items()}
        if step % self.stride == 0:
            for key in SERIES:
                self.series[key].append(step if key == "step" else self.last[key])
            if len(self.series["step"]) > MAX_POINTS:
                self.series = {k: v[::2] for k, v in self.series.items()}
                self.stride *= 2

    def _publish(self) -> None:
        self._state = {"step": self.trainer.step, "config": self._config, "metrics": dict(self.last),
                       "problem": self.problem, "overrides": dict(self.overrides), "playing": self.playing,
                       "updates": dict(self.updates), "error": self.error}

    def _hand_over(self, now: float) -> None:
        """Give the drawer copies of the players, the objective and the series as they are now."""
        t = self.trainer
        players = copy.deepcopy((unwrap(t.G), unwrap(t.D)))
        series = {k: list(v) for k, v in self.series.items()}  # (thinned on the drawer's thread)
        self._snapshot = (self.view, *players, t.objective, t.step, series, self._state, self.generation)
        self._last_frame, self._dirty = now, False
        self._drawer_idle.clear()
        self._snapshot_ready.set()

    def _draw(self) -> None:
        """The drawer thread: one frame per snapshot, published as JSON bytes."""
        while not self._stop.is_set():
            if not self._snapshot_ready.wait(0.1):
                continue
            self._snapshot_ready.clear()
            view, G, D, objective, step, series, state, generation = self._snapshot
            try:
                frame = view.frame(G, D, objective)
                fs = self.frame_series
                if generation != self._drawn_generation:  # a restarted run: its own series
                    fs = self.frame_series = {k: [] for k in fs}
                    self._drawn_generation = generation
                for key in ("jsd", "modes", "hq"):
                    fs[key].append(frame["now"].get(key))
                fs["step"].append(step)
                if len(fs["step"]) > MAX_POINTS:
                    self.frame_series = {k: v[::2] for k, v in fs.items()}
                frame["series"] = {**_thin(series), **{f"f_{k}": v for k, v in _thin(self.frame_series).items()}}
                frame["state"] = state
                self._frame = json.dumps(frame, allow_nan=False).encode()
                self._frame_id += 1
            except Exception as exc:  # a drawing bug shows in the state; training goes on
                self.error = f"frame: {type(exc).__name__}: {exc}"
            finally:
                self._drawer_idle.set()

    def _export(self, out: str) -> dict:
        step = export_run(self.trainer, self.cfg, self.series, Path(out).expanduser(), self._folder)
        return {"out": out, "step": step}


def _thin(series: dict[str, list], points: int = 400) -> dict[str, list]:
    """Every n-th point of each series (at most ``points``), to 5 significant digits, for the page."""
    n = min(len(v) for v in series.values())
    every = max(1, math.ceil(n / points))
    return {k: [v if v is None or isinstance(v, int) else float(f"{v:.5g}") for v in vs[:n:every]]
            for k, vs in series.items()}


def _finite(value: Any) -> float | None:
    """A float for JSON: None for NaN, infinities and None (JSON has no NaN)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
