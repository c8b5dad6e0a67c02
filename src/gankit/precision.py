"""Mixed precision for the two players: an autocast context and a per-player update step.

``train.precision``:

- ``fp32``: plain float32; an update is ``zero_grad``, ``backward`` (once per part of the minibatch),
  ``update`` (``optimizer.step``).
- ``bf16``: the players' forward passes under ``torch.autocast(dtype=bfloat16)`` (CPU and
  CUDA). bfloat16 has float32's exponent range, so gradients need no scaling.
- ``fp16``: autocast to float16 and a ``GradScaler`` for each player. float16 gradients
  underflow without loss scaling, and one scaler shared by G and D is a known source of
  NaNs: an overflow in one player's backward would shrink the scale of the other (the
  PyTorch AMP notes use one scaler per *loss* that owns its optimizer).

The losses and penalties stay float32 whatever the mode: ``gankit.objectives`` casts D's
outputs before any loss. A GradScaler skips an update whose gradients overflowed, which is
normal while it finds its scale; a loss that is itself NaN or Inf still reaches the trainer's
NaN guard on the step it first appears.
"""

from __future__ import annotations

import contextlib

import torch

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


class Precision:
    """How the players compute: autocast dtype, and one gradient scaler per optimizer for fp16.

    Args:
        mode: fp32 | bf16 | fp16.
        device_type: "cpu", "cuda" or "mps" (where autocast applies).
        optimizers: the players' optimizers, e.g. (opt_G, opt_D); fp16 gives each its scaler.
    """

    def __init__(self, mode: str = "fp32", device_type: str = "cpu", optimizers: tuple = ()):
        if mode not in DTYPES:
            raise ValueError(f"precision must be one of {', '.join(DTYPES)}, got {mode!r}")
        self.mode, self.device_type = mode, device_type
        self._scalers = {id(opt): torch.amp.GradScaler(device_type) for opt in optimizers} if mode == "fp16" else {}

    def autocast(self) -> contextlib.AbstractContextManager:
        """The context the players' forward passes run in (a no-op for fp32)."""
        if self.mode == "fp32":
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=DTYPES[self.mode])

    def backward(self, loss: torch.Tensor, opt: torch.optim.Optimizer) -> None:
        """Add the gradient of ``loss`` to the parameters ``opt`` holds (scaled by its scaler for fp16).
        Called once per part of a minibatch (``train.micro_batches``), between ``zero_grad`` and ``update``."""
        scaler = self._scalers.get(id(opt))
        (loss if scaler is None else scaler.scale(loss)).backward()

    def update(self, opt: torch.optim.Optimizer) -> None:
        """Step ``opt`` on the gradients ``backward`` summed (fp16: skipped if they overflowed)."""
        scaler = self._scalers.get(id(opt))
        if scaler is None:
            opt.step()
            return
        scaler.step(opt)
        scaler.update()

    def state_dict(self) -> list[dict]:
        """The scalers' states (scale, growth tracker), in the order of ``optimizers``."""
        return [s.state_dict() for s in self._scalers.values()]

    def load_state_dict(self, states: list[dict]) -> None:
        for scaler, state in zip(self._scalers.values(), states):
            scaler.load_state_dict(state)


FP32 = Precision()
