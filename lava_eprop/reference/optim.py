"""Optimisers applied to the gradients of :mod:`lava_eprop.reference.eprop`.

SGD: ``w -= eta * g``. Adam (Kingma & Ba 2015) with ``beta1 = 0.9``,
``beta2 = 0.999``, ``eps = 1e-8`` and bias correction, as in the reference
code's ``tf.train.AdamOptimizer``.
"""
from __future__ import annotations

import numpy as np


class SGD:
    """Plain gradient descent."""

    def __init__(self, lr: float):
        self.lr = lr

    def step(self, params: dict, grads: dict) -> None:
        for name, g in grads.items():
            params[name] -= self.lr * g

    def state(self) -> dict:
        return {}

    def load_state(self, state: dict) -> None:
        """Nothing to restore: SGD has no state."""


class Adam:
    """Adam with bias correction; one moment pair per parameter name."""

    def __init__(self, lr: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.m: dict = {}
        self.v: dict = {}
        self.t = 0

    def step(self, params: dict, grads: dict) -> None:
        self.t += 1
        c1 = 1 - self.beta1 ** self.t
        c2 = 1 - self.beta2 ** self.t
        for name, g in grads.items():
            m = self.m.setdefault(name, np.zeros_like(g))
            v = self.v.setdefault(name, np.zeros_like(g))
            m *= self.beta1
            m += (1 - self.beta1) * g
            v *= self.beta2
            v += (1 - self.beta2) * g * g
            params[name] -= self.lr * (m / c1) / (np.sqrt(v / c2) + self.eps)

    def state(self) -> dict:
        """Step count and moments, as flat arrays (``t``, ``m_<name>``, ``v_<name>``)."""
        return {"t": np.array(self.t), **{f"m_{k}": a for k, a in self.m.items()},
                **{f"v_{k}": a for k, a in self.v.items()}}

    def load_state(self, state: dict) -> None:
        """Restore what :meth:`state` returned."""
        self.t = int(state["t"])
        self.m = {k[2:]: np.array(a) for k, a in state.items() if k.startswith("m_")}
        self.v = {k[2:]: np.array(a) for k, a in state.items() if k.startswith("v_")}


def make_optimizer(name: str, lr: float):
    """``sgd`` or ``adam`` with learning rate ``lr``."""
    return SGD(lr) if name == "sgd" else Adam(lr)
