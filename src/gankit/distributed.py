"""Where a training process runs: its device, and its place in a torchrun group (DDP).

Everything rank-specific lives here, at the edges of training, so that ``train_step`` reads
the same on one process and on N (PyTorch's own DDP examples keep that shape):

- ``setup`` joins the process group torchrun describes in the environment (gloo on CPU,
  NCCL on CUDA) and returns this process's ``Shard``; without torchrun it is ``SINGLE``.
- ``Shard.take`` keeps this rank's rows of a *global* minibatch. The data stream and the
  noise and label generators draw every global batch of m on every rank from the same
  seeded generators and keep their slice, so N ranks compute one process's step up to the
  order of floating-point sums (DESIGN.md, "Distributed").
- ``check_rows`` refuses a minibatch whose per-process slice does not split into its parts
  (``train.micro_batches``), packs and minibatch-stddev groups (one line naming the setting).
- ``wrap`` puts a player in DistributedDataParallel (gradients averaged over ranks);
  ``unwrap`` gives the plain module back for sampling, averaging and checkpoints.
- ``agree`` turns per-rank numbers into one value all ranks act on (the logged losses, the
  NaN guard, a stop signal that reached one rank first).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from gankit.errors import GankitError


@dataclass(frozen=True)
class Shard:
    """This process's place in the group: rank r of N, and its GPU index on the node."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Rank 0 alone writes the run directory."""
        return self.rank == 0

    def take(self, batch: torch.Tensor) -> torch.Tensor:
        """This rank's rows of a global batch: rows [r m/N, (r + 1) m/N) of its m rows."""
        if self.world == 1:
            return batch
        n = len(batch) // self.world
        return batch[self.rank * n : (self.rank + 1) * n]


SINGLE = Shard()


def resolve_device(name: str, shard: Shard = SINGLE, key: str = "train.device") -> torch.device:
    """The torch.device for ``train.device`` (auto | cpu | cuda | cuda:N | mps).

    ``auto`` picks CUDA if present, else MPS, else the CPU. Under torchrun, ``auto`` and
    ``cuda`` mean this node's GPU number ``local_rank``.

    Raises:
        GankitError: the device is not present here (one line naming it and ``key``, the
            setting or flag it came from).
    """
    if name not in ("auto", "cpu", "mps") and re.fullmatch(r"cuda(:\d+)?", name) is None:
        raise GankitError(f"{key}={name}: must be auto, cpu, cuda, cuda:N or mps")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise GankitError(f"{key}={name}: no CUDA device is available")
        index = int(name.partition(":")[2] or shard.local_rank)
        if index >= torch.cuda.device_count():
            raise GankitError(f"{key}={name}: CUDA device {index} does not exist "
                              f"({torch.cuda.device_count()} visible)")
        return torch.device("cuda", index)
    if name == "mps" and not torch.backends.mps.is_available():
        raise GankitError(f"{key}=mps: no MPS device is available")
    return torch.device(name)


def launched_by_torchrun() -> bool:
    """True when the environment describes a process group of more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def setup(device_name: str, batch_size: int) -> tuple[Shard, torch.device]:
    """Join torchrun's process group (if any); returns (this process's Shard, its device).

    The backend follows the device: NCCL for CUDA, gloo otherwise. torchrun's environment
    (MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK) says where to rendezvous.

    Raises:
        GankitError: the device is missing, or ``data.batch_size`` (the global m) does not
            split evenly over the processes.
    """
    if not launched_by_torchrun():
        return SINGLE, resolve_device(device_name)
    shard = Shard(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ.get("LOCAL_RANK", "0")))
    if batch_size % shard.world:
        raise GankitError(f"data.batch_size={batch_size}: the global minibatch must split evenly over "
                          f"{shard.world} processes")
    device = resolve_device(device_name, shard)
    if not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
            dist.init_process_group("nccl", device_id=device)
        else:
            dist.init_process_group("gloo")
    return shard, device


def check_rows(cfg, world: int) -> None:
    """The rows each process's D sees at once (m / processes / ``train.micro_batches``) must split
    into its parts, packs and minibatch-stddev groups of the Config ``cfg`` (``gankit.config.validate``
    checks them for one process).

    Raises:
        GankitError: one line naming the setting that does not divide them.
    """
    m, parts = cfg.data.batch_size // world, cfg.train.micro_batches
    if m % parts:
        raise GankitError(f"train.micro_batches={parts}: must split each of the {world} processes' {m} rows of the "
                          f"minibatch evenly")
    rows, pack, group = m // parts, cfg.model.pack, cfg.model.mbstd
    why = f"({world} processes, train.micro_batches={parts})"
    if rows % pack:
        raise GankitError(f"model.pack: pack={pack} must divide the {rows} rows D sees at once {why}")
    if group and (rows // pack) % group:
        raise GankitError(f"model.mbstd: group size {group} must divide the {rows // pack} inputs D sees at once "
                          f"{why[:-1]}, model.pack={pack})")


def teardown() -> None:
    """Leave the process group (every rank, also after an error), so that all exit cleanly."""
    if dist.is_initialized():
        dist.destroy_process_group()


def wrap(module: nn.Module, device: torch.device, shard: Shard, sync_bn: bool = False) -> nn.Module:
    """``module`` in DistributedDataParallel under torchrun; ``module`` itself on one process.

    BatchNorm keeps per-rank statistics (``broadcast_buffers=False``), as each rank
    normalises its own slice; ``sync_bn`` converts it to SyncBatchNorm (statistics over the
    global minibatch, CUDA only).
    """
    if shard.world == 1:
        return module
    if sync_bn:
        if device.type != "cuda":
            raise GankitError("model.sync_bn=true needs CUDA devices (SyncBatchNorm has no CPU kernel)")
        module = nn.SyncBatchNorm.convert_sync_batchnorm(module)
    ids = [device.index] if device.type == "cuda" else None
    # The initial buffers are equal on every rank; no sync in forward keeps BatchNorm per rank.
    return _DDP(module, device_ids=ids, forward_sync_buffers=False)


class _DDP(nn.parallel.DistributedDataParallel):
    """DDP that answers for its player's attributes (``G.z_dim``, ``D.conditional``), so the
    training step reads the same with or without it."""

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.module, name)


def unwrap(module: nn.Module) -> nn.Module:
    """The plain player inside a DDP wrapper (sampling, weight averages, checkpoints)."""
    return module.module if isinstance(module, nn.parallel.DistributedDataParallel) else module


def agree(values: list[float], flag: bool, shard: Shard) -> tuple[list[float], bool]:
    """The mean of ``values`` over ranks and whether any rank raised ``flag``, on every rank.

    One all-reduce per call. Used once per step: the logged losses become the global
    minibatch's (each rank's loss is the mean over its equal slice), the NaN guard sees the
    same numbers everywhere, and a signal that reached one rank stops them all after the
    same step.
    """
    if shard.world == 1:
        return values, flag
    t = torch.tensor([*values, float(flag)], dtype=torch.float64)
    if dist.get_backend() == "nccl":
        t = t.cuda()
    dist.all_reduce(t)
    out = t.cpu().tolist()
    return [v / shard.world for v in out[:-1]], out[-1] > 0


def gather(obj, shard: Shard) -> list:
    """``obj`` from every rank, in rank order (a list of one on a single process)."""
    if shard.world == 1:
        return [obj]
    out = [None] * shard.world
    dist.all_gather_object(out, obj)
    return out


def barrier(shard: Shard) -> None:
    """Wait for every rank (e.g. after the run-directory checks, before rank 0 writes)."""
    if shard.world > 1:
        dist.barrier()
