"""A user dataset loaded from an ``.npz`` file.

The file holds ``inputs`` of shape [N, T, n_in] (finite numbers: 0/1 spikes
on chip, where any other value is refused; the float engine also takes other
values, as input currents) and ``targets``: either integer class labels of shape [N] (a
classification task: the decision is made in the last ``decision_window``
steps, or over the whole trial) or signals of shape [N, T, n_out] (a
regression task over every step). An optional ``held_out`` member (trial
indices, or a boolean mask of shape [N]) fixes the trials kept for held-out
evaluation; without it a fraction of the samples, drawn with ``split_seed``,
is held out; evaluations take the first ``training.eval_trials`` of them
(all, with a warning, when there are fewer). Training batches come from the
rest: drawn at random with the run's generator (``shuffle: true``, the
default) or served in file order, cycling (``shuffle: false``). On chip a null
``fixed_point.input_rate_hz`` is the training inputs' mean rate
(:func:`training_input_rate_hz`).
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import ClassVar

import numpy as np

from lava_eprop.errors import UserError, UserInputWarning
from lava_eprop.loaders import NpzArchive
from lava_eprop.schema import Field
from lava_eprop.tasks.base import Batch, Shape, Task


def _open(path: Path) -> NpzArchive:
    if not path.is_file():
        raise UserError(f"dataset file '{path}' does not exist (task.path must name an .npz "
                        "file)")
    return NpzArchive(path, ".npz file")


def _check_headers(npz: NpzArchive) -> None:
    """Refuse a dataset archive whose members are missing, or whose headers declare
    the wrong dtypes or numbers of dimensions."""
    missing = [k for k in ("inputs", "targets") if k not in npz.names]
    if missing:
        raise UserError(f"{npz.path}: missing array '{missing[0]}' (an .npz dataset needs "
                        f"'inputs' [N, T, n_in] and 'targets' [N] or [N, T, n_out]; "
                        f"found: {', '.join(sorted(npz.names)[:8]) or 'none'})")
    npz.check("inputs", "biuf", (None, None, None), "[N, T, n_in]")
    npz.check("targets", "biuf", (None,) * _targets_ndim(npz),
              "[N] (class labels) or [N, T, n_out] (signals)")
    if "held_out" in npz.names:
        npz.check("held_out", "biu", (None,), "[n] trial indices or [N] boolean mask")


def _targets_ndim(npz: NpzArchive) -> int:
    ndim = len(npz.header("targets").shape)
    return ndim if ndim in (1, 3) else 1


def load_npz(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Read and check ``inputs``, ``targets`` and ``held_out`` (None if absent); raise
    UserError on any problem.

    Their dtypes and shapes are checked from the ``.npy`` headers before the
    arrays are read (:class:`~lava_eprop.loaders.NpzArchive`)."""
    with _open(path) as npz:
        _check_headers(npz)
        inputs = npz.array("inputs", "biuf")
        targets = npz.array("targets", "biuf")
        held = npz.array("held_out", "biu") if "held_out" in npz.names else None
    return inputs, targets, held


def dataset_shape(path: Path) -> Shape:
    """The sizes of the dataset in ``path`` from its headers (the class labels of a
    classification dataset are read: they set n_out); ``data_bytes`` counts the
    arrays :class:`NpzDataset` holds and the temporaries of building it."""
    with _open(path) as npz:
        _check_headers(npz)
        n, steps, n_in = npz.header("inputs").shape
        item = npz.header("inputs").dtype.itemsize
        targets = npz.header("targets")
        if len(targets.shape) == 3:
            n_out = targets.shape[2]
            target_bytes = n * steps * n_out * (targets.dtype.itemsize + 8)
        else:
            labels = npz.array("targets", "biuf")
            finite = labels[np.isfinite(labels)] if labels.dtype.kind == "f" else labels
            top = int(np.clip(finite.max(), 0, 1023)) if finite.size else 0
            n_out, target_bytes = max(top + 1, 2), n * steps * 8
    # inputs as read and as float64, the finiteness test's booleans; the mask
    data_bytes = n * steps * (n_in * (item + 9) + 1) + target_bytes
    return Shape(n_in, n_out, steps, data_bytes=data_bytes, n_samples=n)


def check_arrays(inputs: np.ndarray, targets: np.ndarray, where: str) -> str:
    """Validate shapes and values; return the task kind."""
    if inputs.ndim != 3 or min(inputs.shape) < 1:
        raise UserError(f"{where}: 'inputs' must have shape [N, T, n_in] with every size >= 1, "
                        f"got {list(inputs.shape)}")
    if inputs.dtype.kind not in "biuf":
        raise UserError(f"{where}: 'inputs' must be numeric, got dtype {inputs.dtype}")
    if not np.all(np.isfinite(inputs)):
        raise UserError(f"{where}: 'inputs' contains NaN or Inf (allowed: finite numbers)")
    n, steps, _ = inputs.shape
    if n < 2:
        raise UserError(f"{where}: need at least 2 samples for a train / held-out split, got {n}")
    if targets.ndim == 1:
        if targets.shape[0] != n:
            raise UserError(f"{where}: 'targets' has {targets.shape[0]} labels for {n} inputs "
                            "(allowed: shape [N] labels or [N, T, n_out] signals)")
        if targets.dtype.kind not in "iub" and not (
                targets.dtype.kind == "f" and np.all(np.isfinite(targets))
                and np.all(targets == np.round(targets))):
            raise UserError(f"{where}: class labels in 'targets' must be integers, got dtype "
                            f"{targets.dtype}")
        if targets.min() < 0 or targets.max() > 1023:
            raise UserError(f"{where}: class labels must be in 0..1023, got {targets.min()}.."
                            f"{targets.max()}")
        return "classification"
    if targets.ndim == 3:
        if targets.shape[:2] != (n, steps) or targets.shape[2] < 1:
            raise UserError(f"{where}: 'targets' must have shape [N, T, n_out] = [{n}, {steps}, "
                            f"n_out] to match 'inputs', got {list(targets.shape)}")
        if targets.dtype.kind not in "biuf" or not np.all(np.isfinite(targets)):
            raise UserError(f"{where}: 'targets' signals must be finite numbers")
        return "regression"
    raise UserError(f"{where}: 'targets' must have shape [N] (class labels) or [N, T, n_out] "
                    f"(signals), got {list(targets.shape)}")


def held_out_indices(held: np.ndarray, n: int, where: str) -> np.ndarray:
    """The trial indices a ``held_out`` member names: an index array (its order kept)
    or a boolean mask of shape [N]; refused unless in range, without duplicates,
    and holding out at least one trial but not all."""
    allowed = f"allowed: trial indices 0..{n - 1} or a boolean mask of shape [{n}]"
    if held.dtype.kind == "b":
        if held.shape != (n,):
            raise UserError(f"{where}: 'held_out' mask has shape {list(held.shape)} for {n} "
                            f"trials ({allowed})")
        idx = np.flatnonzero(held)
    elif held.dtype.kind in "iu" and held.ndim == 1:
        idx = held.astype(np.int64)
        if len(idx) and (idx.min() < 0 or idx.max() >= n):
            raise UserError(f"{where}: 'held_out' index {idx[(idx < 0) | (idx >= n)][0]} is "
                            f"out of range ({allowed})")
        if len(np.unique(idx)) != len(idx):
            values, counts = np.unique(idx, return_counts=True)
            raise UserError(f"{where}: 'held_out' lists trial {values[counts > 1][0]} more "
                            f"than once ({allowed}, each at most once)")
    else:
        raise UserError(f"{where}: 'held_out' has dtype {held.dtype} and shape "
                        f"{list(held.shape)} ({allowed})")
    if not 0 < len(idx) < n:
        raise UserError(f"{where}: 'held_out' holds out {len(idx)} of the {n} trials (allowed: "
                        "at least one held out and at least one left for training)")
    return idx


def split(task, n: int, held: np.ndarray | None, where: str) -> tuple[np.ndarray, np.ndarray]:
    """``(held-out, training)`` trial indices: the file's ``held_out`` member if it has
    one, else ``task.held_out_fraction`` of the ``n`` trials drawn with
    ``task.split_seed`` (at least one, and at least one left, when the fraction is
    not 0)."""
    if held is not None:
        held_idx = held_out_indices(held, n, where)
        return held_idx, np.setdiff1d(np.arange(n), held_idx)
    order = np.random.default_rng(task["split_seed"]).permutation(n)
    n_held = int(round(task["held_out_fraction"] * n))
    n_held = min(max(n_held, 1), n - 1) if task["held_out_fraction"] > 0 else 0
    return order[:n_held], order[n_held:]


def training_input_rate_hz(task, base_dir: str, dt_ms: float) -> float:
    """The mean input rate of the dataset's training trials in Hz: the inputs (spikes)
    summed over those trials, their steps and channels, per channel and step,
    divided by the time step ``dt_ms``; on chip it sizes the input projections'
    traces when ``fixed_point.input_rate_hz`` is null."""
    path = _path(task, base_dir)
    inputs, targets, held = load_npz(path)
    check_arrays(inputs, targets, str(path))
    _, train_idx = split(task, len(inputs), held, str(path))
    per_trial = inputs.sum(axis=(1, 2), dtype=np.float64)
    per_step = per_trial[train_idx].sum() / (len(train_idx) * inputs.shape[1] * inputs.shape[2])
    return float(per_step * 1000.0 / dt_ms)


def _path(task, base_dir: str) -> Path:
    path = Path(task["path"])
    return path if path.is_absolute() else Path(base_dir) / path


class NpzDataset(Task):
    name = "dataset"
    schema: ClassVar[dict[str, Field]] = {
        "path": Field("str", None, "path of an .npz file with 'inputs' [N, T, n_in] (0/1 "
                      "spikes; --engine float also takes other finite values) and "
                      "'targets' ([N] class labels or [N, T, n_out] signals), optionally "
                      "'held_out' (trial indices or a boolean mask [N]: a fixed held-out "
                      "split); relative paths are relative to the config file"),
        "decision_window": Field("int", None, "classification: the last this many steps "
                                 "count in the loss and the decision; null = all steps", lo=1,
                                 hi=10**6, nullable=True),
        "held_out_fraction": Field("float", 0.2, "fraction of samples kept for held-out "
                                   "evaluation, drawn at random; unused when the file has "
                                   "'held_out'", lo=0.0, hi=0.9),
        "split_seed": Field("int", 0, "seed of the random train / held-out split", lo=0,
                            hi=2**32 - 1),
        "shuffle": Field("bool", True, "true: draw training trials at random (the run's "
                         "seed); false: serve them in file order, from the first again after "
                         "the last"),
    }

    @classmethod
    def config_args(cls, cfg) -> tuple:
        return cfg.task, cfg.base_dir

    @staticmethod
    def shape(task, base_dir: str) -> Shape:
        return dataset_shape(_path(task, base_dir))

    def __init__(self, task, base_dir: str):
        path = _path(task, base_dir)
        inputs, targets, held = load_npz(path)
        self.kind = check_arrays(inputs, targets, str(path))
        n, self.n_steps, self.n_in = inputs.shape
        self.inputs = inputs.astype(np.float64)
        self.path = path
        if self.kind == "classification":
            labels = targets.astype(np.int64)
            self.n_out = max(int(labels.max()) + 1, 2)
            self.targets = np.repeat(labels[:, None], self.n_steps, axis=1)
            window = task["decision_window"] or self.n_steps
            if window > self.n_steps:
                raise UserError(f"task.decision_window = {window} exceeds the {self.n_steps} "
                                f"steps of the dataset (allowed: 1 to {self.n_steps} or null)")
            self.mask = np.zeros((n, self.n_steps), dtype=bool)
            self.mask[:, -window:] = True
        else:
            self.n_out = targets.shape[2]
            self.targets = targets.astype(np.float64)
            self.mask = np.ones((n, self.n_steps), dtype=bool)
        self.held_idx, self.train_idx = split(task, n, held, str(path))
        self.shuffle = task["shuffle"]
        if not self.shuffle:
            self.train_idx = np.sort(self.train_idx)
        self.served = 0       # training trials served so far (shuffle: false)

    def check_spikes(self, where: str) -> None:
        bad = (self.inputs != 0) & (self.inputs != 1)
        if bad.any():
            at = np.argwhere(bad)[0]
            raise UserError(f"{self.path}: 'inputs' holds {self.inputs[tuple(at)]:g} at "
                            f"{list(map(int, at))}, which {where} cannot send (allowed on "
                            "chip: 0/1 spikes; --engine float takes other values)")

    def _take(self, idx: np.ndarray) -> Batch:
        return Batch(self.inputs[idx], self.targets[idx], self.mask[idx])

    def sample(self, size: int, rng: np.random.Generator) -> Batch:
        """``size`` training trials: drawn with ``rng`` (with replacement when ``size``
        exceeds the training set), or without shuffling the next ``size`` in file order."""
        if self.shuffle:
            return self._take(rng.choice(self.train_idx, size,
                                         replace=size > len(self.train_idx)))
        position = (self.served + np.arange(size)) % len(self.train_idx)
        self.served += size
        return self._take(self.train_idx[position])

    def seek(self, trials_served: int) -> None:
        self.served = trials_served

    def held_out(self, size: int, seed: int) -> Batch:
        """The first ``size`` held-out samples; all of them, with a
        :class:`~lava_eprop.errors.UserInputWarning`, when there are fewer. The
        training set when nothing is held out."""
        idx = self.held_idx if len(self.held_idx) else self.train_idx
        if size > len(idx):
            what = "held-out" if len(self.held_idx) else "training (none held out)"
            warnings.warn(f"{size} evaluation trials asked for (training.eval_trials, "
                          f"quant-report --eval-trials) but {self.path} has {len(idx)} "
                          f"{what} trials: evaluations use those {len(idx)}",
                          UserInputWarning, stacklevel=2)
        return self._take(idx[:size])
