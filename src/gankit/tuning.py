"""Settings that depend on the machine, chosen by a measurement on it, never by the CPU gankit was tuned on.

``model.memory_format=auto`` (the default) becomes ``channels_last`` or ``contiguous`` for a
convolutional pair, and ``model.thin_deconv=auto`` becomes ``onednn`` or ``native`` for a DCGAN G's
1-3 channel image layer (``gankit.models.layers.ThinConvTranspose2d``): the combination whose training
passes (D on data and samples, then G through D, forward and backward, at the run's batch size and
thread count) run fastest here, timed in interleaved rounds.
The same CPU has chosen differently on two days (docs/BENCHMARKS.md: on the AMD EPYC channels-last
was 10-20% faster one month and 5% slower the next at one thread; on an Intel Xeon 23-28 against 19
passes/s), so a constant default is wrong somewhere. oneDNN pads a 1-channel output to a block of 8
or 16 channels, which the native kernel does not; how much that costs against oneDNN's faster inner
loops is again the CPU's to say.

A seed must still fix the run: layout and kernel change the convolutions' float-sum order, so the choice
is made once per machine and setting and kept in a small JSON cache (``$GANKIT_CACHE``, else
``~/.cache/gankit/tuning.json``) keyed by the CPU model, torch's version, the thread count and the
nets' settings. The same command then takes the same kernels every time on this machine, and the
resolved values are written to the run's config.json, so ``--resume`` and ``gankit sample`` use them.
A setting given explicitly is kept and only the other is measured.
``GANKIT_MEMORY_FORMAT=channels_last|contiguous`` pins ``auto``'s layout and skips the measurement (the
test suite does; the thin layer then keeps PyTorch's kernel unless it is set). Under torchrun, on a GPU,
and for nets without convolutions nothing is measured: ``channels_last`` (what tensor cores prefer) for
conv nets, ``contiguous`` for the rest, and PyTorch's default kernel (``onednn``) for the thin layer.
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
KERNELS = ("onednn", "native")  # model.thin_deconv
DEFAULT = ("channels_last", "onednn")  # gankit's layout since its start, PyTorch's kernel
ROUNDS = 5  # interleaved rounds of the measurement
PASSES = 3  # timed training passes per candidate and round (after one warm-up pass)
MARGIN = 0.03  # another candidate must be this much faster than DEFAULT to be chosen


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
    fields = {f.name: getattr(model_cfg, f.name) for f in dataclasses.fields(model_cfg)}  # ("auto" or a pin)
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


def candidate_name(layout: str, kernel: str) -> str:
    return f"{layout}+{kernel}"


def time_candidates(model_cfg, shape: tuple[int, ...], batch_size: int, candidates: list[tuple[str, str]],
                    num_classes: int = 0) -> dict[str, float]:
    """Median seconds of one training pass per (layout, thin kernel) candidate, keyed ``layout+kernel``:
    D's loss on data and samples, then G's through D, each forward and backward, at ``batch_size``;
    candidates interleaved over ``ROUNDS`` rounds, their order reversed every other round.

    The nets are built from ``model_cfg``; a self-conditioned pair is timed as the conditional pair inside it,
    on random clusters (the same layers). torch's global random state is put back afterwards, so measuring
    never shifts a seeded run.
    """
    from gankit.models import build

    plain = dataclasses.replace(model_cfg, clusters=0, memory_format="contiguous", thin_deconv="onednn")
    if model_cfg.clusters:
        plain, num_classes = dataclasses.replace(plain, conditional="cgan"), model_cfg.clusters
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        G, D = build(plain, shape, num_classes)
        pairs = {candidate_name(*c): (_copy_as(G, *c), _copy_as(D, *c)) for c in candidates}
        z = torch.randn(batch_size, model_cfg.z_dim)
        real = torch.rand(batch_size, *shape) * 2 - 1
        y = torch.randint(max(num_classes, 1), (batch_size,)) if num_classes else None
        times: dict[str, list[float]] = {name: [] for name in pairs}
        for r in range(ROUNDS):
            for name in pairs if r % 2 == 0 else reversed(pairs):
                g, d = pairs[name]
                _training_pass(g, d, z, real, y)  # warm-up: oneDNN builds its kernels on first use
                start = time.perf_counter()
                for _ in range(PASSES):
                    _training_pass(g, d, z, real, y)
                times[name].append((time.perf_counter() - start) / PASSES)
    return {name: statistics.median(values) for name, values in times.items()}


def _copy_as(module: torch.nn.Module, layout: str, kernel: str) -> torch.nn.Module:
    from gankit.models import with_kernels, with_layout

    return with_kernels(with_layout(copy.deepcopy(module), layout), kernel)


def _training_pass(G, D, z, real, y) -> None:
    args = (y,) if y is not None else ()
    fake = G(z, *args)
    d_loss = D(real, *args).float().mean() - D(fake.detach(), *args).float().mean()
    d_loss.backward()
    g_loss = -D(fake, *args).float().mean()
    g_loss.backward()
    G.zero_grad(set_to_none=True)
    D.zero_grad(set_to_none=True)


def resolve_kernels(cfg, shape: tuple[int, ...], device: torch.device, world: int = 1, num_classes: int = 0):
    """``cfg`` with ``model.memory_format=auto`` and ``model.thin_deconv=auto`` resolved for this machine
    (see the module's docstring); a value given explicitly is kept. Returns (config, how: "set" |
    "measured" | "cached" | "pinned" | "rule"), how the layout and kernel were found."""
    m = cfg.model
    if m.memory_format != "auto" and m.thin_deconv != "auto":
        return cfg, "set"
    from gankit.models import CONV_FAMILIES

    def resolved(layout: str, kernel: str, how: str):
        return dataclasses.replace(cfg, model=dataclasses.replace(m, memory_format=layout, thin_deconv=kernel)), how

    layout_pin = m.memory_format if m.memory_format != "auto" else ""
    kernel_pin = m.thin_deconv if m.thin_deconv != "auto" else ""
    if m.family not in CONV_FAMILIES or len(shape) != 3:
        return resolved(layout_pin or "contiguous", kernel_pin or "onednn", "rule")
    env = os.environ.get("GANKIT_MEMORY_FORMAT", "")
    if env in LAYOUTS:  # nothing measured
        return resolved(layout_pin or env, kernel_pin or "onednn", "pinned")
    if device.type != "cpu" or world > 1:
        return resolved(layout_pin or "channels_last", kernel_pin or "onednn", "rule")
    layouts = [layout_pin] if layout_pin else list(LAYOUTS)
    kernels = [kernel_pin] if kernel_pin else list(KERNELS) if m.family == "dcgan" else ["onednn"]
    candidates = [(layout, kernel) for layout in layouts for kernel in kernels]
    if len(candidates) == 1:
        return resolved(*candidates[0], "set")
    rows = cfg.data.batch_size // cfg.train.micro_batches  # what G and D see at once
    path, key = cache_path(), _key(m, shape, rows)
    entry = _read_cache(path).get(key)
    if isinstance(entry, dict) and (entry.get("memory_format"), entry.get("thin_deconv")) in candidates:
        return resolved(entry["memory_format"], entry["thin_deconv"], "cached")
    times = time_candidates(m, shape, rows, candidates, num_classes)
    default = (DEFAULT[0] if DEFAULT[0] in layouts else layouts[0], DEFAULT[1] if DEFAULT[1] in kernels else kernels[0])
    choice = choose(times, candidates, default)
    _write_cache(path, key, {"memory_format": choice[0], "thin_deconv": choice[1], "seconds_per_pass": times,
                             "measured": time.strftime("%Y-%m-%d %H:%M:%S")})
    return resolved(*choice, "measured")


def choose(times: dict[str, float], candidates: list[tuple[str, str]], default: tuple[str, str]) -> tuple[str, str]:
    """The fastest candidate, unless ``default`` is within ``MARGIN`` of it: a near tie keeps the default."""
    fastest = min(candidates, key=lambda c: times[candidate_name(*c)])
    if times[candidate_name(*fastest)] < (1 - MARGIN) * times[candidate_name(*default)]:
        return fastest
    return default
