"""Initial weights from a saved network: ``lava-eprop train CONFIG --init NETWORK.npz``.

A run given initial weights starts from them (weights and feedback B; with
``training.feedback: symmetric`` B is their ``W_out^T``) instead of random
ones; everything else (the trials drawn, the held-out set, the on-chip rule
seeds) is what the seed makes it. The random initial weights are still drawn
and discarded, so the run equals one whose random initial weights happened
to be the given ones. On chip the engines quantise them as they quantise
random initial weights (the plan's weight exponents, then the even grid).

What must match: the network file's task sizes (``n_in``, ``n_out``) and
every ``network`` key that defines what the weights compute (``n_rec``, the
neuron model, time constants, threshold, ...). What may differ: the
``training`` and ``fixed_point`` sections (a float-trained network continues
learning on chip with other settings), the task itself if its sizes agree,
and the keys that only shape learning or random initialisation,
:data:`FREE_NETWORK_KEYS`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from lava_eprop.config import Config
from lava_eprop.errors import UserError
from lava_eprop.network_file import load_network
from lava_eprop.reference.params import Weights

FREE_NETWORK_KEYS = ("dampening", "w_in_scale", "w_rec_scale", "w_out_scale")
INIT_WITH_RESUME = ("--init with --resume: the checkpoint already holds the weights its run "
                    "started from (allowed: --resume alone, which also continues a run "
                    "begun with --init)")


def check_initial(weights: Weights, cfg: Config, n_in: int, n_out: int,
                  where: str = "initial weights") -> Weights:
    """``weights`` as a run of ``cfg`` on a task of ``n_in`` inputs and ``n_out``
    outputs starts from them (float64 copies; symmetric feedback: B = W_out^T).

    Refuses, naming ``where``, arrays of the wrong shape, non-finite values,
    and recurrent self-connections where ``network.self_connections`` is false.
    """
    n_rec = cfg.network.n_rec
    shapes = {"w_in": (n_rec, n_in), "w_rec": (n_rec, n_rec), "w_out": (n_out, n_rec),
              "b_out": (n_out,), "fb": (n_rec, n_out)}
    for name, shape in shapes.items():
        arr = np.asarray(getattr(weights, name))
        if arr.shape != shape:
            raise UserError(f"{where}: '{name}' has shape {list(arr.shape)}, this run needs "
                            f"{list(shape)} (n_rec {n_rec}, task n_in {n_in}, n_out {n_out})")
        if not np.all(np.isfinite(arr)):
            raise UserError(f"{where}: '{name}' contains NaN or Inf (allowed: finite numbers)")
    w = Weights(**{k: np.array(v, np.float64) for k, v in weights.as_dict().items()})
    if not cfg.network.self_connections and np.any(np.diag(w.w_rec)):
        raise UserError(f"{where}: 'w_rec' has self-connections (a nonzero diagonal) but "
                        "network.self_connections is false (allowed: a zero diagonal, or "
                        "self_connections: true)")
    if cfg.training.feedback == "symmetric":
        w.fb = w.w_out.T.copy()
    return w


def load_initial(path: str | Path, cfg: Config, n_in: int, n_out: int) -> Weights:
    """The weights of the network file ``path`` for a run of ``cfg`` (task sizes
    ``n_in``, ``n_out``), after checking that they fit it (:func:`check_initial`)
    and that its network is the one ``cfg`` describes (module docstring)."""
    where = f"--init {path}"
    net = load_network(path)
    ours, theirs = cfg.network, net.config.network
    for key in ours:
        if key not in FREE_NETWORK_KEYS and ours[key] != theirs.get(key):
            raise UserError(f"{where}: network.{key} is {theirs.get(key)!r} there, "
                            f"{ours[key]!r} in this config (must match: what the weights "
                            "compute; may differ: training, fixed_point, network."
                            f"{', network.'.join(FREE_NETWORK_KEYS)})")
    file_in, file_out = net.weights.w_in.shape[1], net.weights.w_out.shape[0]
    if (file_in, file_out) != (n_in, n_out):
        raise UserError(f"{where}: a network of {file_in} inputs and {file_out} outputs, this "
                        f"task has n_in {n_in} and n_out {n_out} (must match)")
    return check_initial(net.weights, cfg, n_in, n_out, where)
