"""One config key's declaration (:class:`Field`), shared by :mod:`lava_eprop.config`
and the task modules (:mod:`lava_eprop.tasks`), which declare their own keys."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Field:
    """One config key: type, default, allowed values and meaning.

    ``kind`` is one of ``int``, ``float``, ``bool``, ``str``, ``floats``
    (a non-empty list of floats). ``lo``/``hi`` bound numbers (``lo_open``
    makes the lower bound exclusive); ``choices`` lists allowed strings;
    ``nullable`` allows ``null``.
    """

    kind: str
    default: Any
    doc: str
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    choices: tuple = ()
    nullable: bool = False

    def allowed(self) -> str:
        """Human-readable allowed range, used in error messages and docs."""
        if self.choices:
            text = "one of " + ", ".join(self.choices)
        elif self.kind == "bool":
            text = "true or false"
        elif self.lo is not None or self.hi is not None:
            parts = []
            if self.lo is not None:
                parts.append(f"{'>' if self.lo_open else '>='} {_fmt(self.lo)}")
            if self.hi is not None:
                parts.append(f"<= {_fmt(self.hi)}")
            noun = {"int": "integer", "float": "number", "floats": "list of numbers, each"}[self.kind]
            text = f"{noun} " + " and ".join(parts)
        else:
            text = {"int": "integer", "float": "number", "str": "string",
                    "floats": "list of numbers"}[self.kind]
        return text + (" or null" if self.nullable else "")


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)


#: ``Field(..., **POSITIVE)``: a number > 0.
POSITIVE = {"lo": 0.0, "lo_open": True}
