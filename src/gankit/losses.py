"""Losses of the adversarial game, as pure functions of discriminator logits.

Conventions (DESIGN.md): D returns logits ``l``, D(x) = sigmoid(l), "real" is label 1.
Every loss is a mean-reduced scalar and uses the stable identities

    -log(sigmoid(l))     = softplus(-l)
    -log(1 - sigmoid(l)) = softplus(l)

never ``log(sigmoid(l))``. Each generator cost is something the generator *minimises*.

References:
    Goodfellow et al. (2014), "Generative Adversarial Nets", eq. (1) and Algorithm 1.
    Goodfellow (2014), "On distinguishability criteria for estimating generative models".
    Goodfellow (2016), "NIPS 2016 Tutorial: Generative Adversarial Networks", section 3.2.
    Odena, Olah & Shlens (2017), "Conditional Image Synthesis with Auxiliary Classifier
    GANs", eqs. (2) and (3): the ACGAN losses.
    Mao et al. (2017), "Least Squares Generative Adversarial Networks": ``least_squares_*``.
    Arjovsky, Chintala & Bottou (2017), "Wasserstein GAN": ``wasserstein_*``.
    Lim & Ye (2017), "Geometric GAN"; Miyato et al. (2018), "Spectral Normalization for
    GANs": ``hinge_*``.
    Gulrajani et al. (2017), "Improved Training of Wasserstein GANs": ``gradient_penalty``.
    Mescheder, Geiger & Nowozin (2018), "Which Training Methods for GANs do actually
    Converge?": ``r1_penalty``.

The least-squares, Wasserstein and hinge losses read D's raw output (the "logit") as a
score, not as the logit of a probability; their names and values follow TF-GAN
(``tfgan.losses``), whose published test values the tests reproduce.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from gankit.errors import GankitError


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor,
                       label_smoothing: float = 0.0) -> torch.Tensor:
    """The discriminator's cross-entropy: ``-E log D(x) - E log(1 - D(G(z)))``.

    This is minus the value function V(D, G) of Goodfellow et al. (2014), eq. (1), so D
    ascends V by descending this loss (Algorithm 1, the discriminator step).

    One-sided label smoothing (Salimans et al. 2016, "Improved Techniques for Training
    GANs", section 3.4) with a = ``label_smoothing`` gives the data the target 1 - a
    instead of 1 and leaves the fakes' target at 0 (smoothing it too would move D's optimum
    towards p_g where p_data is small):
    ``-E[(1 - a) log D(x) + a log(1 - D(x))] - E log(1 - D(G(z)))``. a = 0 is the paper's game.

    Args:
        real_logits: D's logits on data, shape (m,) (or any shape; the mean is taken).
        fake_logits: D's logits on generated samples, shape (m,).
        label_smoothing: a in [0, 1), the mass moved from the data's target 1 to 0.

    Returns:
        A scalar: ``mean(softplus(-real_logits)) + mean(softplus(fake_logits))`` for a = 0.
    """
    real_term = F.softplus(-real_logits).mean()
    if label_smoothing:
        # -(1-a) log s(l) - a log(1 - s(l)) = (1-a) softplus(-l) + a softplus(l)
        real_term = (1 - label_smoothing) * real_term + label_smoothing * F.softplus(real_logits).mean()
    return real_term + F.softplus(fake_logits).mean()


def minimax_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The saturating minimax cost: ``E log(1 - D(G(z)))``.

    The generator's side of the zero-sum game of Goodfellow et al. (2014), eq. (1). Its
    gradient with respect to the logit is ``-sigmoid(l) = -D(G(z))``, which vanishes when D
    confidently rejects the samples (D(G(z)) -> 0): the reason the paper suggests the
    non-saturating cost in practice.

    Args:
        fake_logits: D's logits on generated samples, shape (m,).

    Returns:
        A scalar: ``-mean(softplus(fake_logits))``  # log(1 - sigmoid(l)) = -softplus(l)
    """
    return -F.softplus(fake_logits).mean()


def nonsaturating_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The non-saturating cost ("log D trick"): ``-E log D(G(z))``.

    Goodfellow et al. (2014), section 3: "rather than training G to minimize log(1 - D(G(z)))
    we can train G to maximize log D(G(z))". Its gradient with respect to the logit is
    ``-(1 - D(G(z)))``, which tends to -1, not 0, as D(G(z)) -> 0.

    Args:
        fake_logits: D's logits on generated samples, shape (m,).

    Returns:
        A scalar: ``mean(softplus(-fake_logits))``  # -log(sigmoid(l)) = softplus(-l)
    """
    return F.softplus(-fake_logits).mean()


def maximum_likelihood_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The maximum-likelihood cost: ``-1/2 E exp(sigmoid^-1(D(G(z))))``.

    Goodfellow (2014), "On distinguishability criteria", and the 2016 tutorial, eq. (11):
    with an optimal discriminator, the expected gradient of this cost equals that of
    minimising KL(p_data || p_g), i.e. maximum likelihood. Since sigmoid^-1(D) is the logit,
    the cost is ``-1/2 mean(exp(l))``; its gradient is ``-1/2 D / (1 - D)``, tiny when D
    rejects the samples and huge when D accepts them (high variance in practice).

    Args:
        fake_logits: D's logits on generated samples, shape (m,).

    Returns:
        A scalar: ``-0.5 * mean(exp(fake_logits))``.
    """
    return -0.5 * torch.exp(fake_logits).mean()


GENERATOR_COSTS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "minimax": minimax_generator_loss,
    "nonsaturating": nonsaturating_generator_loss,
    "maximum_likelihood": maximum_likelihood_generator_loss,
}


def generator_cost(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """The generator cost registered under ``name`` (see ``GENERATOR_COSTS``)."""
    try:
        return GENERATOR_COSTS[name]
    except KeyError:
        valid = ", ".join(GENERATOR_COSTS)
        raise GankitError(f"unknown generator cost {name!r}; valid: {valid}") from None


def value_function(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The value V(D, G) = E log D(x) + E log(1 - D(G(z))) of Goodfellow et al. (2014), eq. (1).

    D maximises it, G minimises it; at the global optimum p_g = p_data it equals -log 4.
    """
    return -discriminator_loss(real_logits, fake_logits)


def class_cross_entropy(class_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The auxiliary classifier's term ``-E log softmax(c_logits)[y]`` (Odena et al. 2017).

    Equals ``mean(logsumexp(c_logits) - c_logits[y])``; its gradient with respect to the
    logits is ``(softmax(c_logits) - one_hot(y)) / m``. Applied to logits: never softmax
    first and then ``cross_entropy`` (which applies log-softmax itself), the bug of a
    popular reference implementation.

    Args:
        class_logits: shape (m, C), unnormalised.
        labels: shape (m,), int64 in [0, C).
    """
    return F.cross_entropy(class_logits, labels)


def split_acgan_logits(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """An ACGAN discriminator's output (m, 1 + C) -> (real/fake logits (m,), class logits (m, C))."""
    return logits[:, 0], logits[:, 1:]


def acgan_discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, real_labels: torch.Tensor,
                             fake_labels: torch.Tensor, class_weight: float, fake_class_weight: float = 1.0,
                             source_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = discriminator_loss,
                             ) -> torch.Tensor:
    """The ACGAN discriminator's loss: the source cross-entropy plus the class cross-entropy.

    Odena et al. (2017), eqs. (2)-(3): D maximises L_S + L_C with L_S the log-likelihood of
    the right source (real/fake) and L_C that of the right class, *on real and on fake
    samples*. As a loss to descend, with w = ``class_weight`` (Odena: w = 1):

        -E log D(x) - E log(1 - D(G(z, c))) + w [-E log p(y | x) - u E log p(c | G(z, c))]

    with u = ``fake_class_weight`` = 1 in the paper. With u = 0 D learns the classes from the
    data only, so G must draw what a classifier of real digits recognises; otherwise D can
    also learn to read the class from whatever G puts in its samples, a cue G and D share
    that need not look like the digit (docs/BENCHMARKS.md compares the two on mnist5k).

    Args:
        real_logits: D's output on data, shape (m, 1 + C) (see ``split_acgan_logits``).
        fake_logits: D's output on G(z, c), shape (m', 1 + C).
        real_labels: the data's labels y, (m,) int64.
        fake_labels: the labels c the samples were generated for, (m',) int64.
        class_weight: w, the weight of the class term.
        fake_class_weight: u, the weight of its part on G's samples.
        source_loss: the real/fake part, a D loss of (real, fake) source logits (Odena:
            ``discriminator_loss``; any of ``LOSSES``' discriminator losses).

    Returns:
        A scalar: ``source_loss(...) + w * (CE(real) + u * CE(fake))``.
    """
    real_source, real_class = split_acgan_logits(real_logits)
    fake_source, fake_class = split_acgan_logits(fake_logits)
    classes = class_cross_entropy(real_class, real_labels)
    if fake_class_weight:
        classes = classes + fake_class_weight * class_cross_entropy(fake_class, fake_labels)
    return source_loss(real_source, fake_source) + class_weight * classes


def acgan_generator_loss(fake_logits: torch.Tensor, fake_labels: torch.Tensor,
                         g_cost: Callable[[torch.Tensor], torch.Tensor], class_weight: float) -> torch.Tensor:
    """The ACGAN generator's loss: its adversarial cost plus the class cross-entropy of its samples.

    Odena et al. (2017): G maximises L_C - L_S; the real-data part of L_C does not depend
    on G, so what G descends is (w = ``class_weight``)

        g_cost(source logits of G(z, c)) + w * (-E log p(c | G(z, c)))

    with ``g_cost`` one of ``GENERATOR_COSTS`` (``minimax`` gives -L_S exactly; gankit's
    presets use the non-saturating form, as for the unconditional game).

    Args:
        fake_logits: D's output on G(z, c), shape (m, 1 + C).
        fake_labels: c, (m,) int64.
        g_cost: the generator cost applied to the real/fake logits.
        class_weight: w.
    """
    source, classes = split_acgan_logits(fake_logits)
    return g_cost(source) + class_weight * class_cross_entropy(classes, fake_labels)


def r1_penalty(real_logits: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """The R1 gradient penalty ``E ||grad_x D_logit(x)||^2`` on data (Mescheder et al. 2018, eq. 9).

    Works for any input shape (N, ...); ``real`` must have ``requires_grad=True`` and
    ``real_logits`` must be computed from it. Scale by gamma/2 at the call site
    (``train.r1`` is gamma).
    """
    (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
    return grad.pow(2).flatten(1).sum(1).mean()


def gradient_penalty(D: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """The WGAN-GP penalty ``E (||grad_x D(x_hat)||_2 - 1)^2`` (Gulrajani et al. 2017, eq. 3).

    x_hat = e * real + (1 - e) * fake with e ~ U[0, 1] drawn per sample, so the penalty
    acts on straight lines between data and samples, where the optimal critic's gradient
    has norm 1. The norm is taken per sample over all its entries: works for any input
    shape (N, ...). Weight it at the call site (``train.gp``; Gulrajani: 10).

    Args:
        D: a function of x (N, ...) returning one score per sample, (N,) (a pack of
            ``model.pack`` samples shares its score; the sum over scores is what is
            differentiated, so that is fine).
        real, fake: data and generated samples, the same shape (N, ...).
        generator: where e is drawn from (a CPU ``torch.Generator``; None: torch's global one).

    Returns:
        A scalar, differentiable with respect to D's parameters (create_graph).
    """
    shape = (len(real),) + (1,) * (real.dim() - 1)
    eps = torch.rand(shape, generator=generator).to(device=real.device, dtype=real.dtype)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)
    return (grad.flatten(1).norm(2, dim=1) - 1).pow(2).mean()


def least_squares_discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """LSGAN's discriminator loss: ``1/2 E (D(x) - 1)^2 + 1/2 E D(G(z))^2``.

    Mao et al. (2017), eq. (2) with the 0-1 coding a = 0, b = 1 (TF-GAN's
    ``least_squares_discriminator_loss``); D(.) is the raw output, no sigmoid.

    Args:
        real_logits, fake_logits: D's outputs on data and on G(z), (m,).
    """
    return 0.5 * (real_logits - 1).pow(2).mean() + 0.5 * fake_logits.pow(2).mean()


def least_squares_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """LSGAN's generator loss: ``1/2 E (D(G(z)) - 1)^2`` (Mao et al. 2017, eq. 2, c = 1)."""
    return 0.5 * (fake_logits - 1).pow(2).mean()


def wasserstein_discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The WGAN critic's loss: ``E D(G(z)) - E D(x)`` (Arjovsky et al. 2017, eq. 3 and Algorithm 1).

    Minus the Kantorovich-Rubinstein estimate of W1(p_data, p_g); it means something only
    for a (near) 1-Lipschitz critic: pair it with ``train.gp`` or ``model.spectral_norm``.
    """
    return fake_logits.mean() - real_logits.mean()


def wasserstein_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The WGAN generator's loss: ``-E D(G(z))`` (Arjovsky et al. 2017, Algorithm 1)."""
    return -fake_logits.mean()


def hinge_discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The hinge loss: ``E max(0, 1 - D(x)) + E max(0, 1 + D(G(z)))``.

    Lim & Ye (2017), "Geometric GAN", eq. (9); Miyato et al. (2018), eq. (17).
    """
    return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()


def hinge_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The hinge game's generator loss: ``-E D(G(z))`` (Lim & Ye 2017; Miyato et al. 2018, eq. 17)."""
    return -fake_logits.mean()


# train.loss -> (discriminator loss, generator loss); "gan"'s generator loss is train.g_cost.
LOSSES: dict[str, tuple[Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                        Callable[[torch.Tensor], torch.Tensor] | None]] = {
    "gan": (discriminator_loss, None),
    "lsgan": (least_squares_discriminator_loss, least_squares_generator_loss),
    "wgan": (wasserstein_discriminator_loss, wasserstein_generator_loss),
    "hinge": (hinge_discriminator_loss, hinge_generator_loss),
}
