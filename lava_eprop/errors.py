"""The exception type for mistakes in user input, and the warning for input used
otherwise than asked.

A :class:`UserError` carries a one-line message naming what is wrong and what
is allowed. The CLI prints it on stderr without a traceback and exits with
status 2; library callers can catch it like any ``ValueError``. A
:class:`UserInputWarning` says in one line what was done instead (the CLI
prints every warning as one ``warning: ...`` line).
"""


class UserError(ValueError):
    """Bad user input (config, dataset, file or option): one-line message."""


class UserInputWarning(UserWarning):
    """User input that is used, but not as it asks (one-line message)."""


class NumericalError(RuntimeError):
    """A NaN or Inf appeared in a model variable during training."""
