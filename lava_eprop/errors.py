"""The one exception type for mistakes in user input.

A :class:`UserError` carries a one-line message naming what is wrong and what
is allowed. The CLI prints it on stderr without a traceback and exits with
status 2; library callers can catch it like any ``ValueError``.
"""


class UserError(ValueError):
    """Bad user input (config, dataset, file or option): one-line message."""


class NumericalError(RuntimeError):
    """A NaN or Inf appeared in a model variable during training."""
