"""Optimisers applied to the gradients of :mod:`lava_eprop.reference.eprop`.

SGD: ``w -= eta * g``.

Adam (Kingma & Ba 2015; ``beta1 = 0.9``, ``beta2 = 0.999``, ``eps = 1e-8``)
in two forms that differ only in where ``eps`` enters (``training.adam``):

* ``tf1`` (the default): what the reference code's ``tf.train.AdamOptimizer``
  computes (TensorFlow 1's ``ApplyAdam`` kernel, in its order of operations)::

      lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)
      m += (g - m) * (1 - beta1)
      v += (g^2 - v) * (1 - beta2)
      w -= (m * lr_t) / (sqrt(v) + eps)

  ``eps`` is added to the *uncorrected* ``sqrt(v)``: in the first steps, where
  ``sqrt(v)`` is about ``sqrt(1 - beta2^t) |g|``, it weighs ``1 / sqrt(1 -
  beta2^t)`` (31.6 at ``t = 1``) times more than in the bias-corrected form.
* ``bias_corrected``: Algorithm 1 of the paper (and ``torch.optim.Adam``)::

      w -= lr * m_hat / (sqrt(v_hat) + eps),  m_hat = m / (1 - beta1^t),
                                              v_hat = v / (1 - beta2^t)

The two agree where ``|g| >> eps``; for gradients of order ``1e-6`` and
below they do not.
"""
from __future__ import annotations

import math

import numpy as np

ADAM_FORMS = ("tf1", "bias_corrected")


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
    """Adam with one moment pair per parameter name; ``form`` is ``tf1`` or
    ``bias_corrected`` (see the module docstring)."""

    def __init__(self, lr: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 form: str = "tf1"):
        if form not in ADAM_FORMS:
            raise ValueError(f"Adam form {form!r} (allowed: {', '.join(ADAM_FORMS)})")
        self.lr, self.beta1, self.beta2, self.eps, self.form = lr, beta1, beta2, eps, form
        self.m: dict = {}
        self.v: dict = {}
        self.t = 0

    def step(self, params: dict, grads: dict) -> None:
        self.t += 1
        if self.form == "tf1":
            self._step_tf1(params, grads)
        else:
            self._step_bias_corrected(params, grads)

    def _moments(self, name: str, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.m.setdefault(name, np.zeros_like(g)), self.v.setdefault(name, np.zeros_like(g))

    def _step_tf1(self, params: dict, grads: dict) -> None:
        lr_t = self.lr * math.sqrt(1 - self.beta2 ** self.t) / (1 - self.beta1 ** self.t)
        for name, g in grads.items():
            m, v = self._moments(name, g)
            m += (g - m) * (1 - self.beta1)
            v += (g * g - v) * (1 - self.beta2)
            params[name] -= (m * lr_t) / (np.sqrt(v) + self.eps)

    def _step_bias_corrected(self, params: dict, grads: dict) -> None:
        c1 = 1 - self.beta1 ** self.t
        c2 = 1 - self.beta2 ** self.t
        for name, g in grads.items():
            m, v = self._moments(name, g)
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


def make_optimizer(name: str, lr: float, adam: str = "tf1"):
    """``sgd`` or ``adam`` (in the form ``adam``, see :data:`ADAM_FORMS`) with
    learning rate ``lr``."""
    return SGD(lr) if name == "sgd" else Adam(lr, form=adam)


def trained_parameters(w, cfg) -> dict:
    """The arrays the optimiser updates, views into the float weights ``w``: ``w_in``,
    ``w_rec``, ``w_out``, ``b_out`` with ``network.readout_bias`` and ``fb`` with
    adaptive feedback (``training.feedback``)."""
    params = {"w_in": w.w_in, "w_rec": w.w_rec, "w_out": w.w_out}
    if cfg.network.readout_bias:
        params["b_out"] = w.b_out
    if cfg.training.feedback == "adaptive":
        params["fb"] = w.fb
    return params
