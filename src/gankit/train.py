"""Algorithm 1 of Goodfellow et al. (2014) and the Trainer that holds a run's state.

``train_step`` is one outer iteration: k discriminator updates, each on a fresh minibatch
of m data points and m noise samples, then one generator update on fresh noise.
``Trainer`` holds the data stream, the players, their optimizers and every RNG, on the
configured device, and saves and restores all of it. The loop that runs it and writes the
run directory is ``gankit.loop.fit``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from gankit import checkpoint, config as config_lib, distributed
from gankit.averaging import average_of, standing_statistics
from gankit.data import Batches, Prior, TensorData, ToyDistribution, load_data  # load_data: gankit.train.load_data for callers
from gankit.errors import GankitError
from gankit.models import build, sample_noise
from gankit.models.clusters import cluster_code, cluster_of, set_clusters
from gankit.objectives import Objective, build_objective
from gankit.optimizers import make_optimizers, schedule, set_hyper
from gankit.precision import FP32, Precision
from gankit.runs import generate
from gankit.tuning import resolve_kernels


@dataclass
class StepStats:
    """What one step of Algorithm 1 reports (means over the minibatch)."""

    d_loss: float  # the objective's D loss, last D update (paper: -E log D(x) - E log(1 - D(G(z))))
    g_loss: float  # the objective's G loss of the G update (ACGAN: + the class term)
    d_real: float  # mean sigmoid(D's output) on the last D update's data (the paper's D(x))
    d_fake: float  # mean sigmoid(D's output) on the last D update's samples


RANK_SEED_STRIDE = 7_919  # under DDP, rank r's own streams (dropout, augmentations) are seeded seed + r x this prime


def sample_z(G: nn.Module, m: int, noise: Prior | torch.Generator) -> torch.Tensor:
    """m noise vectors z ~ p_z, shape (m, G.z_dim), drawn from ``noise``: N(0, I), or
    U(-sqrt 3, sqrt 3)^z_dim for a G built with ``model.noise=uniform`` (``models.sample_noise``)."""
    G = distributed.unwrap(G)
    if isinstance(noise, Prior):
        return noise.uniform(m, G.z_dim) if getattr(G, "noise", "gaussian") == "uniform" else noise.normal(m, G.z_dim)
    return sample_noise(G, m, noise)


def sample_labels(m: int, num_classes: int, labels: Prior | torch.Generator) -> torch.Tensor:
    """m class labels c ~ Uniform{0, ..., C - 1} for conditional samples, int64 (m,), drawn from ``labels``."""
    if isinstance(labels, Prior):
        return labels.classes(m, num_classes)
    return torch.randint(num_classes, (m,), generator=labels)


def _draw(G: nn.Module, m: int, noise: Prior | torch.Generator,
          labels: Prior | torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """m noise vectors z and, for a conditional G (``labels`` given), m fake labels c ~ Uniform{0..C-1}."""
    z = sample_z(G, m, noise)
    return z, None if labels is None else sample_labels(m, distributed.unwrap(G).num_classes, labels)


def _samples(G: nn.Module, z: torch.Tensor, c: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """G's samples of ``z`` and the labels D judges them with (None: D takes none).

    A conditional G makes G(z, c); a self-conditioned G makes G(z) with the cluster code it reads
    off z (``gankit.models.clusters``), and that code is the label.
    """
    if c is not None:
        return G(z, c), c
    return G(z), cluster_code(distributed.unwrap(G), z)


def micro_batches(player: nn.Module, m: int, parts: int):
    """The rows of a minibatch of m in ``parts`` equal parts (``train.micro_batches``), each with the
    context its forward and backward run in. Under DDP all but the last part skip the gradient
    all-reduce (``no_sync``), so the ranks exchange the sum of the parts' gradients once.

    Each part's loss is divided by ``parts`` before its backward, so the summed gradient is the mean of
    the parts' mean gradients: what ``parts`` ranks of DDP compute (part r is rank r's slice, each
    rank's gradient divided by their number, the all-reduce sums them), for two parts bit for bit on
    the CPU at the ranks' thread count (with more, the all-reduce adds in another order).
    """
    if parts < 1 or m % parts:
        raise GankitError(f"train.micro_batches={parts}: must split the {m} rows of the minibatch evenly")
    n = m // parts
    ddp = isinstance(player, nn.parallel.DistributedDataParallel)
    for i in range(parts):
        sync = player.no_sync() if ddp and i < parts - 1 else contextlib.nullcontext()
        yield slice(i * n, (i + 1) * n), sync


def discriminator_step(G: nn.Module, D: nn.Module, opt_D: torch.optim.Optimizer, real: torch.Tensor,
                       noise: Prior | torch.Generator, *, objective: Objective, real_labels: torch.Tensor | None = None,
                       labels: Prior | torch.Generator | None = None,
                       precision: Precision = FP32, parts: int = 1) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One discriminator update on the minibatch ``real`` and as many fresh noise samples.

    Descends ``objective.discriminator_loss`` (the paper's game: -E log D(x) - E log(1 - D(G(z))),
    i.e. ascends V). G's parameters are untouched.

    Conditional (``labels`` given): the m fake samples are generated for labels c drawn
    uniformly from ``labels``; a cGAN D judges (x, y) and (G(z, c), c); an ACGAN D also
    descends its class terms (see ``gankit.objectives``). Self-conditioned
    (``model.clusters``): D judges (x, cluster of x) and (G(z), G's cluster code of z).

    Args:
        real: the minibatch, (m, *shape).
        noise: the generator of z.
        objective: the loss pair and its penalties (``gankit.objectives.build_objective``).
        real_labels: the minibatch's labels y, (m,) int64 (conditional only).
        labels: the generator of the fake labels c (None: unconditional).
        precision: the players' autocast and D's (scaled) update (``gankit.precision``).
        parts: the minibatch goes through G and D in this many parts, one update (``micro_batches``).

    Returns:
        (d_loss, real_logits, fake_logits), detached; the logits are the real/fake ones, (m,).
    """
    if labels is not None and real_labels is None:
        raise GankitError("a conditional discriminator step needs the minibatch's labels")
    z, c = _draw(G, len(real), noise, labels)
    opt_D.zero_grad(set_to_none=True)
    d_loss, real_logits, fake_logits = 0.0, [], []
    for rows, sync in micro_batches(D, len(real), parts):
        x = real[rows]  # a self-conditioned D judges the data with their clusters (else None)
        y = real_labels[rows] if labels is not None else cluster_of(distributed.unwrap(D), x)
        with sync:
            with torch.no_grad(), precision.autocast():  # the D step needs no gradient through G
                fake, fake_labels = _samples(G, z[rows], None if c is None else c[rows])
            with precision.autocast():  # D's forward passes; the objective computes the loss in float32
                loss, real_out, fake_out = objective.discriminator_loss(D, x, fake, y, fake_labels)
            precision.backward(loss / parts, opt_D)
        d_loss = d_loss + loss.detach() / parts
        real_logits.append(real_out)
        fake_logits.append(fake_out)
    precision.update(opt_D)
    return d_loss, torch.cat(real_logits), torch.cat(fake_logits)


@contextlib.contextmanager
def frozen(D: nn.Module):
    """D as the generator step sees it: differentiable in its input, its parameters fixed.

    Freezing D's parameters skips their weight gradients (a third of D's backward pass) and
    leaves them untouched. Under DDP the G step calls the plain D inside the wrapper: D's
    gradient all-reduce belongs to D's own update, and a forward through the wrapper would
    wait for D gradients this backward never produces.
    """
    plain = distributed.unwrap(D)
    plain.requires_grad_(False)
    try:
        yield plain
    finally:
        plain.requires_grad_(True)


def generator_step(G: nn.Module, D: nn.Module, opt_G: torch.optim.Optimizer, m: int, noise: Prior | torch.Generator,
                   *, objective: Objective, labels: Prior | torch.Generator | None = None,
                   precision: Precision = FP32, parts: int = 1) -> torch.Tensor:
    """One generator update on m fresh noise samples (in ``parts`` parts); returns its loss, detached.

    The step differentiates through D but must not change it (``frozen``).
    Conditional (``labels`` given): the samples are generated for fresh uniform labels c.
    """
    z, c = _draw(G, m, noise, labels)
    opt_G.zero_grad(set_to_none=True)
    g_loss = 0.0
    with frozen(D) as D_fixed:
        for rows, sync in micro_batches(G, m, parts):
            with sync:
                with precision.autocast():
                    fake, fake_labels = _samples(G, z[rows], None if c is None else c[rows])
                    loss = objective.generator_loss(D_fixed, fake, fake_labels)
                precision.backward(loss / parts, opt_G)
            g_loss = g_loss + loss.detach() / parts
    precision.update(opt_G)
    return g_loss


def train_step(G: nn.Module, D: nn.Module, opt_G: torch.optim.Optimizer, opt_D: torch.optim.Optimizer,
               batches: Batches, *, k: int, objective: Objective, noise: Prior | torch.Generator,
               labels: Prior | torch.Generator | None = None, precision: Precision = FP32,
               parts: int = 1) -> StepStats:
    """One outer iteration of Algorithm 1 (Goodfellow et al. 2014).

    Args:
        G, D: the players; D returns logits of shape (m,) (an ACGAN D: (m, 1 + C)).
        opt_G, opt_D: their optimizers (each holds only its own player's parameters).
        batches: the data stream; each call to ``next()`` is a fresh minibatch of m examples
            (with their labels, which conditional players use).
        k: discriminator updates per generator update.
        objective: the loss pair, penalties and augmentation (``gankit.objectives``);
            ``Objective(g_loss=...)`` is the paper's game with that generator cost.
        noise: the generator all noise samples z are drawn from.
        labels: conditional players (cGAN, ACGAN): the generator the fake labels c ~
            Uniform{0..C-1} are drawn from, fresh for every D and G update. None: unconditional.
        precision: fp32, or autocast of both players with a gradient scaler each for fp16
            (``gankit.precision.Precision``).
        parts: each update's minibatch goes through the players in this many parts, their gradients
            summed (``train.micro_batches``: the same update in less memory).
    """
    for _ in range(k):
        real, real_labels = batches.next()
        d_loss, real_logits, fake_logits = discriminator_step(
            G, D, opt_D, real, noise, objective=objective,
            real_labels=real_labels if labels is not None else None, labels=labels, precision=precision, parts=parts)
    g_loss = generator_step(G, D, opt_G, batches.m, noise, objective=objective, labels=labels, precision=precision,
                            parts=parts)
    # One sync point per step for all four numbers, instead of four.
    d_loss_v, g_loss_v, d_real, d_fake = torch.stack([
        d_loss, g_loss, torch.sigmoid(real_logits).mean(), torch.sigmoid(fake_logits).mean(),
    ]).tolist()
    return StepStats(d_loss_v, g_loss_v, d_real, d_fake)


def check_labelled(cfg: config_lib.Config, data: TensorData | ToyDistribution) -> int:
    """The number of classes a conditional model is built for (0 for an unconditional one).

    Raises:
        GankitError: ``model.conditional`` is set but the data have no labels (toy data, an
            npz without ``y``, an image folder without class sub-folders) or a single class.
    """
    cond = cfg.model.conditional
    if not cond:
        return 0
    if data.y is None or data.num_classes < 2:
        what = "no class labels" if data.y is None else f"{data.num_classes} class"
        raise GankitError(f"model.conditional={cond} needs labelled data with at least 2 classes; "
                          f"{data.name} has {what}")
    return data.num_classes


class Trainer:
    """Everything one run holds: data stream, players, optimizers, RNGs and the step counter.

    With ``train.ema`` it also holds ``G_avg``, a moving average of G's weights that
    ``sampler`` returns for sampling, evaluation and checkpoints, with its own BatchNorm statistics.
    Its whole state is saved by ``save_checkpoint`` and restored by ``load_checkpoint``, so a
    resumed run is bit-identical to one that never stopped (on CPU, same torch and threads).
    """

    def __init__(self, cfg: config_lib.Config, data: TensorData | ToyDistribution | None = None, *,
                 shard: distributed.Shard = distributed.SINGLE, device: torch.device | None = None):
        self.cfg, self.shard = cfg, shard
        distributed.check_rows(cfg, shard.world)
        self.device = device if device is not None else distributed.resolve_device(cfg.train.device, shard)
        if cfg.train.threads:
            torch.set_num_threads(cfg.train.threads)
        self.data = data if data is not None else load_data(cfg)
        self.num_classes = check_labelled(cfg, self.data)
        # model.memory_format=auto, model.thin_deconv=auto: the faster layout and kernel on this machine, measured
        # once and cached (gankit.tuning); self.cfg holds the resolved values, which the run's config.json records.
        cfg, self.memory_format_source = resolve_kernels(cfg, self.data.shape, self.device, shard.world,
                                                         self.num_classes)
        self.cfg = cfg
        # One seed, separate streams: weights and dropout use torch's global generator;
        # noise, fake labels and data order have their own, so changing one never shifts the others.
        torch.manual_seed(cfg.seed)
        G, D = build(cfg.model, self.data.shape, self.num_classes)
        if cfg.model.clusters:  # self-conditioning: k-means of the data
            set_clusters(G, D, self.data, cfg.seed)
        if hasattr(G, "init_bias_from_marginals") and isinstance(self.data, TensorData):
            G.init_bias_from_marginals(self.data.x.cpu())  # the 2014 code's output bias (models.mlp)
        G, D = G.to(self.device), D.to(self.device)
        self.opt_G, self.opt_D = make_optimizers(cfg.train, G, D)
        self.G_avg = average_of(G, cfg.train.ema) if cfg.train.ema else None
        self._standing_step = -1  # the step at which G_avg's BatchNorm statistics were last measured
        # Under torchrun the players are wrapped in DDP (rank 0's initial weights are broadcast);
        # every rank then draws its own dropout masks.
        self.G = distributed.wrap(G, self.device, shard, cfg.model.sync_bn)
        self.D = distributed.wrap(D, self.device, shard, cfg.model.sync_bn)
        if shard.rank:
            torch.manual_seed(cfg.seed + RANK_SEED_STRIDE * shard.rank)
        self.batches = Batches(self.data, cfg.data.batch_size, seed=cfg.seed, device=self.device, shard=shard)
        self.noise = Prior(cfg.seed + 1, self.device, shard)
        # (seed + 2 seeds the fixed z of the sample grids.)
        self.labels = Prior(cfg.seed + 3, self.device, shard) if self.num_classes else None
        # The objective's own random stream (augmentations, penalty interpolates): seed + 4 on
        # one process; under DDP each rank draws its own (same in distribution, not draw for draw).
        self.objective = build_objective(cfg, seed=cfg.seed + 4 + RANK_SEED_STRIDE * shard.rank)
        self.precision = Precision(cfg.train.precision, self.device.type, (self.opt_G, self.opt_D))
        self.step = 0
        self.lr_scale = 1.0  # lowered by NaN rollbacks
        self.best: dict = {}  # eval.best: {"key", "value", "step"} of checkpoints/best (gankit.loop)

    def begin_step(self):
        """Ready an update at ``self.step``: the schedule's learning rates (and SGD's momentum) set, both
        players in training mode. Returns the objective at this step. (The lab's single D and G updates
        begin here too.)"""
        t = self.cfg.train
        lr_g, lr_d, momentum = schedule(t, self.step, self.batches.batches_per_epoch)
        sgd_momentum = momentum if t.optimizer == "sgd" else None
        set_hyper(self.opt_G, lr_g * self.lr_scale, sgd_momentum)
        set_hyper(self.opt_D, lr_d * self.lr_scale, sgd_momentum)
        self.G.train()
        self.D.train()
        return self.objective.at(self.step)

    def train_step(self) -> StepStats:
        t = self.cfg.train
        objective = self.begin_step()
        stats = train_step(self.G, self.D, self.opt_G, self.opt_D, self.batches, k=t.k, objective=objective,
                           noise=self.noise, labels=self.labels, precision=self.precision,
                           parts=t.micro_batches)
        if self.G_avg is not None:
            self.G_avg.update_parameters(distributed.unwrap(self.G))
        self.step += 1
        ada = self.objective.ada
        if ada is not None and self.step % t.ada_interval == 0:  # ADA's p, from D's outputs on the data
            ada.adjust(t.ada_interval * t.k * self.cfg.data.batch_size,
                       reduce=lambda values: distributed.agree(values, False, self.shard)[0])
        return stats

    @property
    def augment_p(self) -> float | None:
        """ADA's augmentation probability p now (None without ``train.augment=ada``)."""
        return None if self.objective.ada is None else self.objective.ada.p

    @property
    def sampler(self) -> nn.Module:
        """The generator samples and evaluations use: the weight average if ``train.ema`` (its
        BatchNorm statistics measured on it: ``standing_statistics``), else G."""
        if self.G_avg is None:
            return distributed.unwrap(self.G)
        if self._standing_step != self.step:  # measured once per step asked for; the next update drops them
            standing_statistics(self.G_avg.module, self.cfg.data.batch_size, seed=self.cfg.seed + 5)
            self._standing_step = self.step
        return self.G_avg.module

    def sample(self, n: int, seed: int = 0, labels: torch.Tensor | None = None) -> torch.Tensor:
        """n samples from ``sampler`` in eval mode, from noise seeded by ``seed`` (training RNGs untouched).

        A conditional G needs ``labels``, (n,) int64.
        """
        return generate(self.sampler, n, seed, labels=labels)

    def state(self) -> dict:
        """Everything but the weights that exact resume needs; a collective under DDP (every
        rank's RNG states are gathered), so every rank calls it."""
        rng = {"torch": torch.get_rng_state(), "objective": self.objective.rng.get_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        state = {
            "opt_G": self.opt_G.state_dict(),
            "opt_D": self.opt_D.state_dict(),
            "batches": self.batches.state_dict(),
            "noise": self.noise.get_state(),
            "objective_rng": self.objective.rng.get_state(),
            "torch_rng": rng["torch"],
            "rank_rng": distributed.gather(rng, self.shard),
            "lr_scale": self.lr_scale,
            "scalers": self.precision.state_dict(),
        }
        if self.labels is not None:
            state["labels"] = self.labels.get_state()
        if self.G_avg is not None:
            state["ema_updates"] = int(self.G_avg.n_averaged)
        if self.objective.ada is not None:
            state["ada"] = self.objective.ada.state_dict()
        state["best"] = dict(self.best)
        return state

    def save_checkpoint(self, run_dir: Path, best: bool = False) -> Path | None:
        """Save RUN/checkpoints/step_N (rank 0 writes; every rank must call it); returns its folder.
        ``best``: it is also ``checkpoints/best`` (``eval.best``)."""
        state = self.state()
        if not self.shard.is_main:
            return None
        return checkpoint.save(run_dir, self.step, distributed.unwrap(self.G), distributed.unwrap(self.D), state,
                               shape=self.data.shape, num_classes=self.num_classes,
                               G_avg=None if self.G_avg is None else self.sampler, keep=self.cfg.log.keep, best=best)

    def load_checkpoint(self, folder: Path) -> None:
        """Restore the state ``save_checkpoint`` wrote (every rank reads the same folder).

        Each rank takes back its own RNG state when the checkpoint was written by as many
        ranks; with a different number of processes the run goes on, but not bit for bit.
        """
        distributed.unwrap(self.G).load_state_dict(checkpoint.load_weights(folder / checkpoint.GENERATOR))
        distributed.unwrap(self.D).load_state_dict(checkpoint.load_weights(folder / checkpoint.DISCRIMINATOR))
        state = checkpoint.load_state(folder / checkpoint.STATE)
        self.opt_G.load_state_dict(state["opt_G"])
        self.opt_D.load_state_dict(state["opt_D"])
        self.batches.load_state_dict(state["batches"])
        self.noise.set_state(state["noise"])
        if "objective_rng" in state:  # (checkpoints written before the objective had its own stream)
            self.objective.rng.set_state(state["objective_rng"])
        if self.labels is not None:
            self.labels.set_state(state["labels"])
        if self.G_avg is not None and "ema_updates" in state:
            self.G_avg.module.load_state_dict(checkpoint.load_weights(folder / checkpoint.GENERATOR_AVG))
            self.G_avg.n_averaged.fill_(int(state["ema_updates"]))
        elif self.G_avg is not None:  # train.ema switched on at a resume: the next update copies G
            self.G_avg.n_averaged.zero_()
        self._standing_step = -1  # new weights: the sampler measures their statistics afresh
        ranks = state.get("rank_rng", [])
        if len(ranks) == self.shard.world:
            mine = ranks[self.shard.rank]
            torch.set_rng_state(mine["torch"])
            self.objective.rng.set_state(mine.get("objective", self.objective.rng.get_state()))
            if "cuda" in mine and self.device.type == "cuda":
                torch.cuda.set_rng_state(mine["cuda"], self.device)
        else:
            torch.set_rng_state(state["torch_rng"])
        if self.objective.ada is not None and "ada" in state:  # (else: ADA switched on at a resume, p from 0)
            self.objective.ada.load_state_dict(state["ada"])
        self.best = dict(state.get("best", {}))
        self.precision.load_state_dict(state.get("scalers", []))
        self.lr_scale = float(state.get("lr_scale", 1.0))
        self.step = int(state["step"])
