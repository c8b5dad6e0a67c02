"""The objective of a run: the loss pair, its penalties and what D is shown, built once from the config.

``train_step`` (Algorithm 1) never learns which game it plays: it asks the objective for
D's loss on a minibatch of data and one of samples, and for G's loss on samples. As in
TF-GAN's ``gan_loss(model, generator_loss_fn, discriminator_loss_fn,
gradient_penalty_weight=...)``, the objective is that small: two pure functions of D's
outputs (``gankit.losses``), the penalty weights, one-sided label smoothing (bound into the
D loss), the DiffAugment policy, the instance noise and, for an ACGAN, the weights of the
class terms. The one thing that changes during a run, the instance noise's annealing, is
asked for by step (``Objective.at``), so Algorithm 1 still never sees the step counter.

The objective calls D itself because the penalties need D and its inputs, and augmentation
goes between the samples and D. D's half-precision outputs are cast to float32 before any
loss, so a D run in lower precision (autocast) still has its losses computed in float32.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn

from gankit import losses
from gankit.augment import AdaptiveAugment, adaptive_policy, diff_augment, parse_policy

Tensor = torch.Tensor


def discriminate(D: nn.Module, x: Tensor, y: Tensor | None) -> Tensor:
    """D's output, (m,) or (m, 1 + C) for an ACGAN D; only a cGAN D is shown the labels."""
    return D(x, y) if getattr(D, "conditional", "") == "cgan" else D(x)


def is_acgan(D: nn.Module) -> bool:
    return getattr(D, "conditional", "") == "acgan"


@dataclass(frozen=True)
class Objective:
    """A GAN objective: what D descends and what G descends, given D and the samples.

    Attributes:
        d_loss: D's loss, a function of (real_logits, fake_logits), e.g.
            ``losses.discriminator_loss`` (label smoothing already bound in).
        g_loss: G's loss, a function of fake_logits, e.g. ``losses.nonsaturating_generator_loss``.
        gp: weight of the gradient penalty on interpolates (0: off).
        r1: gamma of the R1 penalty on data; the loss adds gamma/2 E||grad D(x)||^2 (0: off).
        augment: the DiffAugment policies applied before D, in order (() : none).
        noise: instance noise (Sønderby et al. 2016; Arjovsky & Bottou 2017, section 3.3): the
            standard deviation of Gaussian noise added to every input D is shown (data and
            samples, after augmentation, in both players' steps), at the start of the run.
            Data and samples blurred alike overlap, so D cannot separate them perfectly and
            G's gradient does not vanish; D judges coarse structure before fine detail.
        noise_steps: the noise is annealed linearly to 0 over this many steps (``at``).
        noise_scale: the fraction of ``noise`` in force now (set by ``at``).
        class_weight, fake_class_weight: the ACGAN class terms (``losses.acgan_*``); unused
            for other players.
        rng: the generator of every random draw the objective makes (augmentations, the
            interpolation weights of the gradient penalty); the run saves its state.
        ada: adaptive augmentation (``train.augment=ada``): ``augment``'s policies are applied
            with its probability p, and D's outputs on the data are passed to it; None: off.
    """

    d_loss: Callable[[Tensor, Tensor], Tensor] = losses.discriminator_loss
    g_loss: Callable[[Tensor], Tensor] = losses.nonsaturating_generator_loss
    gp: float = 0.0
    r1: float = 0.0
    augment: tuple[str, ...] = ()
    noise: float = 0.0
    noise_steps: int = 1
    noise_scale: float = 1.0
    class_weight: float = 1.0
    fake_class_weight: float = 1.0
    rng: torch.Generator = field(default_factory=torch.Generator, compare=False)
    ada: AdaptiveAugment | None = field(default=None, compare=False)

    def at(self, step: int) -> Objective:
        """The objective for the update after ``step`` updates: the instance noise's standard
        deviation is ``noise * max(0, 1 - step / noise_steps)``; everything else is the same."""
        if not self.noise:
            return self
        return dataclasses.replace(self, noise_scale=max(0.0, 1.0 - step / self.noise_steps))

    def _see(self, D: nn.Module, x: Tensor, y: Tensor | None) -> Tensor:
        """D's output on x as the players see it (augmented, noised), at least in float32."""
        if self.ada is not None:
            x = self.ada.apply(x, self.rng)
        elif self.augment:
            x = diff_augment(x, self.augment, self.rng)
        sd = self.noise * self.noise_scale
        if sd:
            e = torch.randn(x.shape, generator=self.rng, device=self.rng.device)
            x = x + sd * e.to(x.device, x.dtype)
        out = discriminate(D, x, y)
        # A D run in half precision (autocast) gives float16/bfloat16: losses in float32.
        return out.float() if out.dtype in (torch.float16, torch.bfloat16) else out

    def discriminator_loss(self, D: nn.Module, real: Tensor, fake: Tensor, real_labels: Tensor | None = None,
                           fake_labels: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """D's loss on a minibatch of data and one of G's samples (the latter without a graph to G).

        Args:
            D: the discriminator.
            real: data, (m, *shape); real_labels: their labels (conditional players), (m,).
            fake: samples G(z), (m, *shape); fake_labels: the labels they were made for, (m,).

        Returns:
            (loss, real_logits, fake_logits): the scalar to descend (with its graph), and D's
            real/fake outputs (m,) (or (m / pack,)), detached, in float32 (or float64).
        """
        if self.r1:
            real = real.detach().requires_grad_(True)
        real_out, fake_out = self._see(D, real, real_labels), self._see(D, fake, fake_labels)
        if is_acgan(D):
            loss = losses.acgan_discriminator_loss(real_out, fake_out, real_labels, fake_labels, self.class_weight,
                                                   self.fake_class_weight, source_loss=self.d_loss)
            real_logits, fake_logits = real_out[:, 0], fake_out[:, 0]
        else:
            loss, real_logits, fake_logits = self.d_loss(real_out, fake_out), real_out, fake_out
        if self.ada is not None:
            self.ada.observe(real_logits)  # the overfitting heuristic r_t (gankit.augment.AdaptiveAugment)
        if self.gp:
            # One label set for the interpolates: the data's (a cGAN D needs labels).
            score = functools.partial(self._score, D, y=real_labels)
            loss = loss + self.gp * losses.gradient_penalty(score, real, fake, self.rng)
        if self.r1:
            loss = loss + 0.5 * self.r1 * losses.r1_penalty(real_logits, real)
        return loss, real_logits.detach(), fake_logits.detach()

    def _score(self, D: nn.Module, x: Tensor, y: Tensor | None) -> Tensor:
        out = self._see(D, x, y)
        return out[:, 0] if is_acgan(D) else out

    def generator_loss(self, D: nn.Module, fake: Tensor, fake_labels: Tensor | None = None) -> Tensor:
        """G's loss on its samples ``fake`` (m, *shape), made for ``fake_labels`` (conditional), (m,)."""
        fake_out = self._see(D, fake, fake_labels)
        if is_acgan(D):
            return losses.acgan_generator_loss(fake_out, fake_labels, self.g_loss, self.class_weight)
        return self.g_loss(fake_out)


def build_objective(cfg, seed: int | None = None) -> Objective:
    """The objective a ``gankit.config.Config`` asks for (``train.loss``, ``train.g_cost``, ...).

    Its random draws come from a generator seeded with ``seed`` (default ``cfg.seed + 4``:
    the run's other streams use seed .. seed + 3).
    """
    t = cfg.train
    d_loss, g_loss = losses.LOSSES[t.loss]
    if t.loss == "gan":
        g_loss = losses.generator_cost(t.g_cost)
        if t.label_smoothing:
            d_loss = functools.partial(losses.discriminator_loss, label_smoothing=t.label_smoothing)
    noise = {"noise": t.instance_noise, "noise_steps": t.instance_noise_steps or t.steps} if t.instance_noise else {}
    rng = torch.Generator().manual_seed(cfg.seed + 4 if seed is None else seed)
    adaptive, policy = adaptive_policy(parse_policy(t.augment))
    ada = AdaptiveAugment(policy, t.ada_target, t.ada_kimg) if adaptive else None
    return Objective(d_loss=d_loss, g_loss=g_loss, gp=t.gp, r1=t.r1, augment=policy, **noise,
                     class_weight=t.class_weight, fake_class_weight=t.fake_class_weight, rng=rng, ada=ada)
