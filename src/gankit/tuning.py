"""Settings that depend on the machine, chosen by a measurement on it, never by the CPU gankit was tuned on.

``model.memory_format=auto`` (the default) becomes ``channels_last`` or ``contiguous`` for a
convolutional pair: the one whose training passes (D on data and samples, then G through D, forward
and backward, at the run's batch size and thread count) run faster here, timed in interleaved rounds.
The same CPU has chosen differently on two days (docs/BENCHMARKS.md: on the AMD EPYC channels-last
was 10-20% faster one month and 5% slower the next at one thread; on an Intel Xeon 23-28 against 19
passes/s), so a constant default is wrong somewhere.

A seed must still fix the run: the layout changes the convolutions' float-sum order, so the choice
is made once per machine and setting and kept in a small JSON cache (``$GANKIT_CACHE``, else
``~/.cache/gankit/tuning.json``) keyed by the CPU model, torch's version, the thread count and the
nets' shapes. The same command then takes the same layout every time on this machine, and the
resolved value is written to the run's config.json, so ``--resume`` and ``gankit sample`` use it.
``GANKIT_MEMORY_FORMAT=channels_last|contiguous`` pins ``auto`` without measuring (the test suite
does). Under torchrun, on a GPU, and for nets without convolutions nothing is measured:
``channels_last`` (what tensor cores prefer) for conv nets, ``contiguous`` for the rest.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch

LAYOUTS = ("channels_last", "contiguous")
ROUNDS = 3  # interleaved rounds of the measurement
PASSES = 3  # timed training passes per layout and round (after one warm-up pass)
MARGIN = 0.03  # contiguous must be this much faster to be chosen (channels-last: gankit's default since its start)


def cpu_model() -> str:
    """The CPU's model name as the kernel reports it ("AMD EPYC 9B14", "Intel(R) Xeon(R) ..."), else the machine."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown CPU"


def cache_path() -> Path:
    return Path(os.environ.get("GANKIT_CACHE") or Path.home() / ".cache" / "gankit" / "tuning.json")


def _key(model_cfg, shape: tuple[int, ...], batch_size: int) -> str:
    fields = {f.name: getattr(model_cfg, f.name) for f in dataclasses.fields(model_cfg) if f.name != "memory_format"}
    return json.dumps({"cpu": cpu_model(), "torch": torch.__version__, "threads": torch.get_num_threads(),
                       "shape": list(shape), "batch": batch_size, "model": fields}, sort_keys=True)


def _read_cache(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _write_cache(path: Path, key: str, value: dict) -> None:
    """Add one entry; a cache that cannot be written costs a measurement next time, nothing else."""
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        cache = _read_cache(path)
        cache[key] = value
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(cache, indent=1, sort_keys=True) + "\n")
        os.replace(tmp, path)


def time_layouts(model_cfg, shape: tuple[int, ...], batch_size: int, num_classes: int = 0) -> dict[str, float]:
    """Median seconds of one training pass per layout: D's loss on data and samples, then G's through D,
    each forward and backward, at ``batch_size``; layouts interleaved over ``ROUNDS`` rounds.

    The nets are built from ``model_cfg`` (self-conditioning's clusters left out: the same convolutions);
    torch's global random state is put back afterwards, so measuring never shifts a seeded run.
    """
    from gankit.models import build

    plain = dataclasses.replace(model_cfg, clusters=0, memory_format="contiguous")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        G, D = build(plain, shape, num_classes)
        pairs = {name: (_copy_layout(G, name), _copy_layout(D, name)) for name in LAYOUTS}
        z = torch.randn(batch_size, model_cfg.z_dim)
        real = torch.rand(batch_size, *shape) * 2 - 1
        y = torch.randint(max(num_classes, 1), (batch_size,)) if num_classes else None
        times: dict[str, list[float]] = {name: [] for name in LAYOUTS}
        for r in range(ROUNDS):
            for name in LAYOUTS if r % 2 == 0 else reversed(LAYOUTS):
                g, d = pairs[name]
                _training_pass(g, d, z, real, y)  # warm-up: oneDNN builds its kernels on first use
                start = time.perf_counter()
                for _ in range(PASSES):
                    _training_pass(g, d, z, real, y)
                times[name].append((time.perf_counter() - start) / PASSES)
    return {name: statistics.median(values) for name, values in times.items()}


def _copy_layout(module: torch.nn.Module, name: str) -> torch.nn.Module:
    from gankit.models import with_layout

    return with_layout(copy.deepcopy(module), name)


def _training_pass(G, D, z, real, y) -> None:
    args = (y,) if y is not None else ()
    fake = G(z, *args)
    d_loss = D(real, *args).float().mean() - D(fake.detach(), *args).float().mean()
    d_loss.backward()
    g_loss = -D(fake, *args).float().mean()
    g_loss.backward()
    G.zero_grad(set_to_none=True)
    D.zero_grad(set_to_none=True)


def resolve_memory_format(cfg, shape: tuple[int, ...], device: torch.device, world: int = 1, num_classes: int = 0):
    """``cfg`` with ``model.memory_format=auto`` resolved for this machine (see the module's docstring);
    any other value is kept. Returns (config, how: "set" | "measured" | "cached" | "pinned" | "rule")."""
    m = cfg.model
    if m.memory_format != "auto":
        return cfg, "set"
    from gankit.models import CONV_FAMILIES

    def resolved(name: str, how: str):
        return dataclasses.replace(cfg, model=dataclasses.replace(m, memory_format=name)), how

    if m.family not in CONV_FAMILIES or len(shape) != 3:
        return resolved("contiguous", "rule")
    pinned = os.environ.get("GANKIT_MEMORY_FORMAT", "")
    if pinned in LAYOUTS:
        return resolved(pinned, "pinned")
    if device.type != "cpu" or world > 1:
        return resolved("channels_last", "rule")
    path, key = cache_path(), _key(m, shape, cfg.data.batch_size)
    entry = _read_cache(path).get(key)
    if isinstance(entry, dict) and entry.get("memory_format") in LAYOUTS:
        return resolved(entry["memory_format"], "cached")
    times = time_layouts(m, shape, cfg.data.batch_size, num_classes)
    choice = "contiguous" if times["contiguous"] < (1 - MARGIN) * times["channels_last"] else "channels_last"
    _write_cache(path, key, {"memory_format": choice, "seconds_per_pass": times,
                             "measured": time.strftime("%Y-%m-%d %H:%M:%S")})
    return resolved(choice, "measured")
