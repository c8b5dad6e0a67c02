"""Training a VAE whose decoder is a gankit generator (``train.method=vae``), into an ordinary run directory.

The likelihood-based model beside the GANs of Tables 1-2 (Wu et al. 2017's VAE-50): the
decoder is ``gankit.models.build``'s G for the config, the encoder ``gankit.models.vae``'s,
and each step is one Adam step on the negative ELBO of a minibatch,

    -ELBO(x) = -E_q log N(x; G(z), vae_sigma^2 I) + KL(q(z | x) || N(0, I))

(``gankit.metrics.likelihood.elbo``: one reparametrised sample, the KL in closed form).
Algorithm 1 is not involved. The run directory is the GAN's: ``config.json``,
``metrics.jsonl`` (step, elbo, recon, kl), ``samples/step_*.png``, ``checkpoints/last`` with
``generator.safetensors`` = the decoder (so ``gankit sample``, ``eval`` and ``report`` read it
as any G) and ``discriminator.safetensors`` = the encoder (a VAE has no D).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from gankit import checkpoint, config as config_lib, distributed
from gankit.data import Batches
from gankit.errors import GankitError
from gankit.loop import check_run_dir, prepare_run_dir
from gankit.metrics.likelihood import elbo_terms
from gankit.models import build
from gankit.models.vae import build_encoder
from gankit.runs import generate


@dataclass
class VAEStats:
    """One step's numbers, means over the minibatch (nats per image)."""

    elbo: float
    recon: float  # E_q log N(x; G(z), sigma^2 I), one sample
    kl: float  # KL(q(z | x) || N(0, I))


class VAETrainer:
    """The decoder G, the encoder, their Adam optimizer, the data stream and the step counter."""

    shard = distributed.SINGLE

    def __init__(self, cfg: config_lib.Config, device: torch.device | None = None):
        from gankit.train import load_data  # the same data the GAN presets train on

        if cfg.train.method != "vae":
            raise GankitError(f"train.method={cfg.train.method}: gankit.vae trains train.method=vae only")
        if distributed.launched_by_torchrun():
            raise GankitError("train.method=vae trains on one process: run it without torchrun")
        self.cfg = cfg
        self.device = device or distributed.resolve_device(cfg.train.device)
        if cfg.train.threads:
            torch.set_num_threads(cfg.train.threads)
        self.data = load_data(cfg)
        torch.manual_seed(cfg.seed)
        G, _ = build(cfg.model, self.data.shape)
        if hasattr(G, "init_bias_from_marginals"):
            G.init_bias_from_marginals(self.data.x.cpu())
        self.G, self.encoder = G.to(self.device), build_encoder(cfg.model, self.data.shape).to(self.device)
        t = cfg.train
        self.opt = torch.optim.Adam([*self.G.parameters(), *self.encoder.parameters()], lr=t.lr_g,
                                    betas=(t.beta1, t.beta2))
        self.batches = Batches(self.data, cfg.data.batch_size, seed=cfg.seed, device=self.device)
        self.noise = torch.Generator(self.device).manual_seed(cfg.seed + 1)
        self.step = 0

    def train_step(self) -> VAEStats:
        self.G.train()
        self.encoder.train()
        x, _ = self.batches.next()
        ll, kl = elbo_terms(*self.encoder(x), self.G, x, sigma=self.cfg.train.vae_sigma, generator=self.noise)
        bound = ll - kl
        loss = -bound.mean()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.step += 1
        e, k = float(bound.detach().mean()), float(kl.detach().mean())
        return VAEStats(e, e + k, k)

    @property
    def sampler(self) -> torch.nn.Module:
        return self.G

    def sample(self, n: int, seed: int = 0) -> torch.Tensor:
        return generate(self.G, n, seed)

    def save_checkpoint(self, run_dir: Path) -> Path:
        state = {"opt": self.opt.state_dict(), "batches": self.batches.state_dict(),
                 "noise": self.noise.get_state(), "torch_rng": torch.get_rng_state(), "method": "vae"}
        return checkpoint.save(run_dir, self.step, self.G, self.encoder, state, shape=self.data.shape)

    def load_checkpoint(self, folder: Path) -> None:
        self.G.load_state_dict(checkpoint.load_weights(folder / checkpoint.GENERATOR))
        self.encoder.load_state_dict(checkpoint.load_weights(folder / checkpoint.DISCRIMINATOR))
        state = checkpoint.load_state(folder / checkpoint.STATE)
        self.opt.load_state_dict(state["opt"])
        self.batches.load_state_dict(state["batches"])
        self.noise.set_state(state["noise"])
        torch.set_rng_state(state["torch_rng"])
        self.step = int(state["step"])


def load_encoder(run_dir: Path, cfg: config_lib.Config, shape: tuple[int, ...]) -> torch.nn.Module:
    """A VAE run's encoder from RUN/checkpoints/last (eval mode, CPU)."""
    last = checkpoint.latest(run_dir)
    if last is None or cfg.train.method != "vae":
        raise GankitError(f"{run_dir}: not a trained VAE run (train.method=vae with a checkpoint)")
    encoder = build_encoder(cfg.model, shape)
    encoder.load_state_dict(checkpoint.load_weights(last / checkpoint.DISCRIMINATOR))
    return encoder.eval()


def fit_vae(cfg: config_lib.Config, run_dir: Path, *, resume: bool = False,
            progress: Callable[[int, VAEStats], None] | None = None) -> VAETrainer:
    """Train the VAE of ``cfg`` into ``run_dir`` (or continue it with ``resume``) until ``train.steps``.

    Raises:
        GankitError: a non-empty ``run_dir`` without ``resume``, bad data, a NaN loss.
    """
    run_dir = Path(run_dir)
    last = check_run_dir(run_dir, resume)
    trainer = VAETrainer(cfg)  # loads the data before anything is written
    if last is not None:
        trainer.load_checkpoint(last)
    prepare_run_dir(run_dir, cfg, last, trainer.step)
    metrics = run_dir / "metrics.jsonl"
    log, start, t0 = cfg.log, trainer.step, time.perf_counter()
    while trainer.step < cfg.train.steps:
        stats = trainer.train_step()
        step = trainer.step
        if not torch.isfinite(torch.tensor(stats.elbo)):
            raise GankitError(f"step {step}: the ELBO is {stats.elbo}; stopped (lower train.lr_g)")
        is_last = step == cfg.train.steps
        if step % log.every == 0 or is_last:
            row = {"step": step, "elbo": stats.elbo, "recon": stats.recon, "kl": stats.kl,
                   "steps_per_s": (step - start) / max(time.perf_counter() - t0, 1e-9)}
            with open(metrics, "a") as f:
                f.write(json.dumps(row) + "\n")
        if step % log.sample_every == 0 or is_last:
            from gankit.viz import save_samples

            save_samples(trainer.sample(log.grid, seed=cfg.seed + 2), run_dir / "samples" / f"step_{step:07d}.png")
        if step % log.checkpoint_every == 0 or is_last:
            trainer.save_checkpoint(run_dir)
        if progress is not None:
            progress(step, stats)
    trainer.pace = (trainer.step - start, time.perf_counter() - t0)  # (steps, seconds), for the CLI's last line
    return trainer
