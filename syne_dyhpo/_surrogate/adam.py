"""Adam (Kingma and Ba 2015) without ``torch.optim``.

The step is PyTorch's single-tensor Adam (no weight decay, no AMSGrad), the
one it runs on CPU tensors, operation for operation. ``torch.optim``'s
optimizers import ``torch._dynamo`` on construction: about a second of CPU,
paid by the first fit of every process, which on a run of a few seconds is a
large part of its budget.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

#: PyTorch's defaults: decays of the first and second moment estimates, and
#: the term that keeps the denominator positive.
BETA1, BETA2, EPS = 0.9, 0.999, 1e-8


class Adam:
    """Adam over ``params`` with step size ``lr`` (PyTorch's other defaults)."""

    def __init__(self, params: Iterable[torch.nn.Parameter], lr: float):
        self.params = [p for p in params if p.requires_grad]
        self.lr = lr
        self.steps = 0
        self.first = [torch.zeros_like(p) for p in self.params]
        self.second = [torch.zeros_like(p) for p in self.params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        """One update of every parameter that has a gradient."""
        self.steps += 1
        step_size = self.lr / (1 - BETA1**self.steps)
        second_correction = (1 - BETA2**self.steps) ** 0.5
        for p, first, second in zip(self.params, self.first, self.second, strict=True):
            if p.grad is None:
                continue
            grad = p.grad
            first.lerp_(grad, 1 - BETA1)
            second.mul_(BETA2).addcmul_(grad, grad, value=1 - BETA2)
            denom = (second.sqrt() / second_correction).add_(EPS)
            p.addcdiv_(first, denom, value=-step_size)
