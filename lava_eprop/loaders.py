"""Reading user files safely: YAML text and ``.npz`` archives, checked before allocating.

Every entry point that reads a file goes through this module, so a hostile or
damaged file gives one :class:`~lava_eprop.errors.UserError` line, never a
traceback or an allocation the file does not justify:

* :func:`parse_yaml` reads YAML (and JSON) with nesting at most
  :data:`MAX_YAML_DEPTH` deep, numbers of at most :data:`MAX_NUMBER_CHARS`
  characters (no ``OverflowError`` or integer-string limit later) and no
  duplicate keys; no tags beyond ``yaml.safe_load``'s.
* :class:`NpzArchive` opens an ``.npz`` (a zip of ``.npy`` members) and reads
  each member's dtype and shape from its ``.npy`` header before the array.
  A member whose header does not match the bytes the member holds (truncated,
  or claiming a huge shape), an object dtype, or an array larger than the
  memory available is refused before anything is allocated for it.
"""
from __future__ import annotations

import tokenize
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from lava_eprop.errors import UserError

MAX_TEXT_BYTES = 16 * 2**20      # configs and rule files are a few kB
MAX_YAML_DEPTH = 64              # configs nest 3 deep, rule files 8
MAX_NUMBER_CHARS = 100           # float64 needs 24; bounded far below int-string limits
MAX_HEADER_BYTES = 10_000        # numpy's own default bound of an .npy header
DEFLATE_MAX_RATIO = 1032         # no deflate stream expands more than this
_NPY_MAGIC = b"\x93NUMPY"
_READ_ERRORS = (OSError, ValueError, EOFError, zipfile.BadZipFile, RuntimeError,
                NotImplementedError, zlib.error, OverflowError, SyntaxError, TypeError,
                KeyError, IndexError, tokenize.TokenError)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def read_text(path: str | Path, what: str, max_bytes: int = MAX_TEXT_BYTES) -> str:
    """A UTF-8 text file of at most ``max_bytes``; UserError naming ``what`` otherwise."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise UserError(f"{path}: {size} bytes is too large for {what} (allowed: at most "
                            f"{max_bytes} bytes)")
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise UserError(f"{path}: not a UTF-8 text file (expected {what})") from None
    except OSError as exc:
        raise UserError(f"cannot read '{path}': {exc.strerror or exc} (expected {what})"
                        ) from None


class _BoundedConstructor(yaml.constructor.SafeConstructor):
    """``yaml.safe_load``'s constructor with bounded numbers and no duplicate keys."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                    seen.add(key)
                except TypeError:       # unhashable: SafeConstructor refuses it below
                    continue
                if duplicate:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {str(key)[:40]!r}", key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


def _bounded_number(construct):
    def constructor(loader, node):
        if len(node.value) > MAX_NUMBER_CHARS:
            raise yaml.constructor.ConstructorError(
                None, None, f"a number of {len(node.value)} characters (allowed: at most "
                f"{MAX_NUMBER_CHARS})", node.start_mark)
        return construct(loader, node)
    return constructor


_BoundedConstructor.add_constructor(
    "tag:yaml.org,2002:int", _bounded_number(yaml.constructor.SafeConstructor.construct_yaml_int))
_BoundedConstructor.add_constructor(
    "tag:yaml.org,2002:float",
    _bounded_number(yaml.constructor.SafeConstructor.construct_yaml_float))

# libyaml's parser is linear in time; PyYAML's own scanner is quadratic in the nesting
# of flow collections ("[" * 20000 takes seconds), so it is only the fallback.
try:
    from yaml.cyaml import CParser as _CParser
except ImportError:                                  # PyYAML built without libyaml
    _CParser = None

if _CParser is not None:
    class _BoundedLoader(_CParser, _BoundedConstructor, yaml.resolver.Resolver):
        def __init__(self, stream):
            _CParser.__init__(self, stream)
            _BoundedConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)

    _EventLoader = yaml.CSafeLoader
else:
    class _BoundedLoader(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser,
                         yaml.composer.Composer, _BoundedConstructor, yaml.resolver.Resolver):
        def __init__(self, stream):
            yaml.reader.Reader.__init__(self, stream)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)
            yaml.composer.Composer.__init__(self)
            _BoundedConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)

    _EventLoader = yaml.SafeLoader


def _check_depth(text: str) -> None:
    """Raise a YAML error at the first collection nested deeper than MAX_YAML_DEPTH
    (read from the event stream, before anything recursive sees the document)."""
    depth = 0
    for event in yaml.parse(text, Loader=_EventLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                raise yaml.composer.ComposerError(
                    None, None, f"nesting deeper than {MAX_YAML_DEPTH} levels",
                    event.start_mark)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def parse_yaml(text: str, where: str) -> Any:
    """Parse YAML or JSON ``text``; UserError ``"<where>: malformed YAML ..."`` on
    syntax errors, nesting deeper than :data:`MAX_YAML_DEPTH`, numbers longer than
    :data:`MAX_NUMBER_CHARS` characters and duplicate keys."""
    try:
        _check_depth(text)
        return yaml.load(text, Loader=_BoundedLoader)  # noqa: S506 (a safe constructor)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise UserError(f"{where}: malformed YAML{at}: {problem}") from None


@dataclass(frozen=True)
class ArrayHeader:
    """What an ``.npy`` member's header declares."""

    shape: tuple
    dtype: np.dtype
    fortran: bool
    offset: int             # bytes before the data

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=object)) * self.dtype.itemsize


def _available_bytes() -> int | None:
    from lava_eprop.resources import available_bytes
    return available_bytes()


_KIND_NOUNS = {"b": "bool", "i": "integer", "u": "unsigned integer", "f": "float",
               "U": "string"}


def _shape_text(shape) -> str:
    return "[" + ", ".join("*" if s is None else str(s) for s in shape) + "]"


class NpzArchive:
    """An ``.npz`` file opened for checked reading.

    ``what`` names the kind of file in messages (``"not a readable <what>"``).
    :attr:`names` lists the members (``.npy`` suffix removed);
    :meth:`header` reads one member's header, :meth:`array` checks it against
    the dtype kinds and shape expected and only then reads the array.
    """

    def __init__(self, path: str | Path, what: str):
        self.path, self.what = Path(path), what
        if not self.path.is_file():
            raise UserError(f"{what} '{self.path}' does not exist")
        try:
            with open(self.path, "rb") as fh:
                start = fh.read(len(_NPY_MAGIC))
        except OSError as exc:
            raise UserError(f"cannot read '{self.path}': {exc.strerror or exc}") from None
        if start == _NPY_MAGIC:
            raise UserError(f"{self.path}: not a readable {what} (a single .npy array, not an "
                            ".npz archive: write it with numpy.savez)")
        try:
            self._zip = zipfile.ZipFile(self.path)
            infos = self._zip.infolist()
        except _READ_ERRORS as exc:
            raise UserError(f"{self.path}: not a readable {what} (not an .npz archive: "
                            f"{_first_line(exc)})") from None
        self._infos: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            name = info.filename.removesuffix(".npy")
            if name in self._infos:
                self.close()
                raise UserError(f"{self.path}: not a readable {what} (member '{name}' appears "
                                "twice)")
            self._infos[name] = info
        self._headers: dict[str, ArrayHeader] = {}

    @property
    def names(self) -> list[str]:
        return list(self._infos)

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> NpzArchive:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _refuse(self, name: str, problem: str) -> UserError:
        return UserError(f"{self.path}: not a readable {self.what} (member '{name}' {problem})")

    def header(self, name: str) -> ArrayHeader:
        """The header of member ``name``, checked against the bytes the member holds."""
        if name in self._headers:
            return self._headers[name]
        if name not in self._infos:
            found = ", ".join(sorted(self._infos)[:8]) or "none"
            raise UserError(f"{self.path}: missing array '{name}' (found: {found}; expected "
                            f"{self.what})")
        info = self._infos[name]
        if not info.filename.endswith(".npy"):
            raise self._refuse(name, "is not an .npy array")
        if info.compress_type != zipfile.ZIP_STORED and \
                info.file_size > DEFLATE_MAX_RATIO * info.compress_size + 1024:
            raise self._refuse(name, f"declares {info.file_size} bytes from "
                               f"{info.compress_size} compressed: corrupt")
        try:
            with self._zip.open(info) as fh:
                version = np.lib.format.read_magic(fh)
                if version == (1, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_1_0(
                        fh, max_header_size=MAX_HEADER_BYTES)
                elif version == (2, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_2_0(
                        fh, max_header_size=MAX_HEADER_BYTES)
                else:
                    raise ValueError(f".npy format version {version} is not supported")
                offset = fh.tell()
        except _READ_ERRORS as exc:
            raise self._refuse(name, f"has no readable .npy header ({_first_line(exc)})"
                               ) from None
        if dtype.hasobject or dtype.itemsize == 0 and dtype.kind != "U":
            raise self._refuse(name, f"has dtype {dtype}, which cannot be read safely")
        header = ArrayHeader(tuple(shape), dtype, fortran, offset)
        if info.file_size != offset + header.nbytes:
            raise self._refuse(name, f"is truncated or damaged: its header declares "
                               f"{dtype} {list(shape)} ({header.nbytes} bytes), the member "
                               f"holds {info.file_size - offset}")
        self._headers[name] = header
        return header

    def check(self, name: str, kinds: str, shape: tuple | None = None,
              meaning: str = "") -> ArrayHeader:
        """The header of ``name`` if its dtype kind is in ``kinds`` (numpy kind codes)
        and its shape matches ``shape`` (``None`` entries match any size); else a
        UserError that shows ``meaning`` (e.g. ``"[N, T, n_in]"``) as the shape."""
        h = self.header(name)
        fits = h.dtype.kind in kinds and (shape is None or (
            len(shape) == len(h.shape)
            and all(want is None or want == got for want, got in zip(shape, h.shape))))
        if not fits:
            nouns = [_KIND_NOUNS.get(k, k) for k in kinds]
            allowed = nouns[0] if len(nouns) == 1 else ", ".join(nouns[:-1]) + " or " + nouns[-1]
            want = meaning or ("any" if shape is None else _shape_text(shape))
            raise UserError(f"{self.path}: array '{name}' must have shape {want} and dtype "
                            f"{allowed}, got {h.dtype} {list(h.shape)}")
        return h

    def array(self, name: str, kinds: str, shape: tuple | None = None,
              meaning: str = "") -> np.ndarray:
        """Member ``name`` as a writable array, after :meth:`check` and a memory bound."""
        h = self.check(name, kinds, shape, meaning)
        have = _available_bytes()
        if have is not None and h.nbytes > 0.8 * have:
            raise self._refuse(name, f"needs {h.nbytes / 2**30:.1f} GiB, more than 80% of "
                               f"the {have / 2**30:.1f} GiB available")
        out = np.empty(h.shape, h.dtype, order="F" if h.fortran else "C")
        try:
            with self._zip.open(self._infos[name]) as fh:
                fh.read(h.offset)
                view = memoryview(out.reshape(-1, order="A").view(np.uint8))
                filled = 0
                while filled < h.nbytes:
                    got = fh.readinto(view[filled:])
                    if not got:
                        raise EOFError("data ends early")
                    filled += got
        except _READ_ERRORS as exc:
            raise self._refuse(name, f"cannot be read ({_first_line(exc)})") from None
        return out

    def text(self, name: str, max_chars: int = MAX_TEXT_BYTES) -> str:
        """A string scalar member (at most ``max_chars`` characters)."""
        h = self.check(name, "U", ())
        if h.dtype.itemsize // 4 > max_chars:
            raise self._refuse(name, f"holds {h.dtype.itemsize // 4} characters (allowed: at "
                               f"most {max_chars})")
        return str(self.array(name, "U", ()))
