"""A bounded, literal-only binary codec for values that cross the sandbox boundary.

A candidate program's return values travel to the trusted side (the harness, or the judge process) as
bytes in this format, never as objects: what arrives is built here from plain built-in types only.
`decode` is the trusted half. It never executes anything from the data, enforces a size, a nesting
depth and an integer-size limit, refuses hash-collision floods in sets and dicts, and raises only
`CodecError` on any malformed input. tuple, list, set, frozenset, dict, bytes, bytearray, complex and
float (nan, inf and -0.0 included, bit for bit) stay distinct types; subclasses of built-in types (a
`Counter`, a `defaultdict`, an `int` subclass with a rigged `__eq__`) are sent as their base type.

Built-in types themselves (`int`, `str`, ...) travel by name. `encode` runs on either side. Objects
that are not data become a reference (`on_object`) where the caller allows it (the assert-style judge
uses these as opaque handles), and an `EncodeError` otherwise.

This file imports only the standard library: it also runs inside the sandbox, under `python -I -S`.
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

_U32 = struct.Struct("<I")
_I64 = struct.Struct("<q")
_F64 = struct.Struct("<d")
_C128 = struct.Struct("<dd")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_COLLISION_CHECK_FROM = 256  # sets/dicts at least this big get their hashes checked
_MAX_SAME_HASH = 64


class CodecError(ValueError):
    """Malformed, oversized or too deeply nested data (decode side)."""


class EncodeError(ValueError):
    """A value that cannot be sent as data (encode side)."""


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 32 * 1024 * 1024
    max_depth: int = 100
    max_int_bytes: int = 1 << 20  # about 2.5 million decimal digits
    max_items: int = 1 << 21  # bounds the memory a decoded value takes (about 40 bytes per item)


DEFAULT_LIMITS = Limits()


class RemoteIterator:
    """What an iterator (a generator, `map`, ...) returned by a candidate decodes to: its items, once."""

    def __init__(self, items: list[Any]) -> None:
        self._items = iter(items)

    def __iter__(self) -> RemoteIterator:
        return self

    def __next__(self) -> Any:
        return next(self._items)

    def __repr__(self) -> str:
        return "<iterator returned by the solution>"


# ---------------------------------------------------------------------------------------------- encode


def encode(
    value: Any, limits: Limits = DEFAULT_LIMITS, on_object: Callable[[Any], int] | None = None
) -> bytes:
    """The bytes for `value`; EncodeError if it is too big, too deep, or not data and `on_object` is None."""
    out = bytearray()
    try:
        _Encoder(out, limits, on_object).value(value, 0)
    except EncodeError:
        raise
    except RecursionError:
        raise EncodeError(f"the value is nested deeper than {limits.max_depth} levels") from None
    except Exception as exc:  # a hostile __iter__, a container changed while it was read, ...
        raise EncodeError(
            f"the value could not be read as data ({type(exc).__name__}: {exc})"[:300]
        ) from None
    return bytes(out)


class _Encoder:
    def __init__(self, out: bytearray, limits: Limits, on_object: Callable[[Any], int] | None) -> None:
        self.out = out
        self.limits = limits
        self.on_object = on_object
        self.items = 0

    def _room(self) -> None:
        if len(self.out) > self.limits.max_bytes:
            raise EncodeError(f"the value is larger than {self.limits.max_bytes} bytes")

    def _sized(self, tag: bytes, payload: bytes) -> None:
        self.out += tag + _U32.pack(len(payload)) + payload
        self._room()

    def value(self, v: Any, depth: int) -> None:
        if depth > self.limits.max_depth:
            raise EncodeError(f"the value is nested deeper than {self.limits.max_depth} levels")
        self.items += 1
        if self.items > self.limits.max_items:
            raise EncodeError(f"the value holds more than {self.limits.max_items} items")
        t = type(v)
        if v is None:
            self.out += b"N"
        elif t is bool:
            self.out += b"T" if v else b"F"
        elif isinstance(v, int):
            self._int(int.__int__(v))
        elif isinstance(v, float):
            self.out += b"f" + _F64.pack(float.__float__(v))
        elif isinstance(v, complex):
            self.out += b"c" + _C128.pack(_REAL.__get__(v), _IMAG.__get__(v))
        elif isinstance(v, str):
            self._sized(b"s", str.encode(v, "utf-8", "surrogatepass"))
        elif isinstance(v, bytes):
            self._sized(b"b", bytes.__getitem__(v, slice(None)))
        elif isinstance(v, bytearray):
            self._sized(b"a", bytes(bytearray.__getitem__(v, slice(None))))
        elif isinstance(v, dict):
            self._pairs(b"d", dict.items(v), depth)
        elif isinstance(v, list):
            self._list(list.__getitem__(v, slice(None)), depth)
        elif isinstance(v, tuple):
            self._sequence(b"t", tuple.__iter__(v), depth)
        elif isinstance(v, frozenset):
            self._sequence(b"z", frozenset.__iter__(v), depth)
        elif isinstance(v, set):
            self._sequence(b"S", set.__iter__(v), depth)
        elif t is range:
            self.out += b"r"
            for part in (v.start, v.stop, v.step):
                self.value(part, depth + 1)
        elif t in _VIEW_TAGS:
            self._sequence(_VIEW_TAGS[t], iter(v), depth)
        elif t is type and v in _TYPE_NAMES:
            self._sized(b"Y", _TYPE_NAMES[v].encode())
        else:
            self._other(v, depth)

    def _int(self, n: int) -> None:
        if _INT64_MIN <= n <= _INT64_MAX:
            self.out += b"i" + _I64.pack(n)
            return
        size = (n.bit_length() + 8) // 8
        if size > self.limits.max_int_bytes:
            raise EncodeError(f"an integer is larger than {self.limits.max_int_bytes} bytes")
        self._sized(b"I", n.to_bytes(size, "little", signed=True))

    def _list(self, items: list[Any], depth: int) -> None:
        if len(items) > 1 and all(type(x) is int for x in items):
            try:
                packed = struct.pack(f"<{len(items)}q", *items)
            except struct.error:  # some do not fit in 64 bits
                packed = b""
            if packed:
                self.items += len(items)
                self.out += b"q" + _U32.pack(len(items)) + packed
                self._room()
                return
        if len(items) > 1 and all(type(x) is float for x in items):
            self.items += len(items)
            self.out += b"g" + _U32.pack(len(items)) + struct.pack(f"<{len(items)}d", *items)
            self._room()
            return
        self._sequence(b"l", iter(items), depth)

    def _sequence(self, tag: bytes, items: Iterator[Any], depth: int) -> None:
        """Items streamed in, their count patched in afterwards, so a long iterator stops at the limit."""
        self.out += tag
        at = len(self.out)
        self.out += b"\0\0\0\0"
        count = 0
        for item in items:
            self.value(item, depth + 1)
            self._room()
            count += 1
        self.out[at : at + 4] = _U32.pack(count)

    def _pairs(self, tag: bytes, items: Iterable[tuple[Any, Any]], depth: int) -> None:
        self.out += tag
        at = len(self.out)
        self.out += b"\0\0\0\0"
        count = 0
        for key, item in items:
            self.value(key, depth + 1)
            self.value(item, depth + 1)
            self._room()
            count += 1
        self.out[at : at + 4] = _U32.pack(count)

    def _other(self, v: Any, depth: int) -> None:
        if (type(v).__module__ or "").startswith("numpy") and getattr(v, "shape", None) == ():
            item = v.item()  # a numpy scalar: its Python value
            if type(item) in _SCALARS:
                self.value(item, depth)
                return
        kind = type(v)
        if hasattr(kind, "__next__") and hasattr(kind, "__iter__"):
            self._sequence(b"x", v, depth)  # a generator, map, zip, ...: its items, lazily
            return
        if self.on_object is None:
            raise EncodeError(f"a {kind.__name__} object is not data (return built-in values only)")
        self.out += b"R" + _U32.pack(self.on_object(v))


_SCALARS = (bool, int, float, complex, str, bytes)
# Built-in types travel by name (MBPP passes `int` or `str` to a function as a filter).
_TYPES = (bool, int, float, complex, str, bytes, bytearray, list, tuple, set, frozenset, dict, type(None),
          object, range, type)  # fmt: skip
_TYPE_NAMES = {kind: kind.__name__ for kind in _TYPES}
_TYPES_BY_NAME = {name: kind for kind, name in _TYPE_NAMES.items()}
_REAL, _IMAG = complex.real, complex.imag
_VIEW_TAGS = {type({}.keys()): b"K", type({}.values()): b"V", type({}.items()): b"J"}


# ---------------------------------------------------------------------------------------------- decode


def decode(
    data: bytes | bytearray | memoryview,
    limits: Limits = DEFAULT_LIMITS,
    on_ref: Callable[[int], Any] | None = None,
) -> Any:
    """The value `data` holds, built from built-in types only; CodecError on anything else."""
    view = memoryview(data).cast("B") if not isinstance(data, bytes) else data
    if len(view) > limits.max_bytes:
        raise CodecError(f"the data is larger than {limits.max_bytes} bytes")
    decoder = _Decoder(bytes(view), limits, on_ref)
    try:
        value = decoder.value(0)
    except CodecError:
        raise
    except (struct.error, IndexError, UnicodeDecodeError, OverflowError, MemoryError) as exc:
        raise CodecError(f"malformed data ({type(exc).__name__})") from None
    if decoder.pos != len(decoder.data):
        raise CodecError(f"{len(decoder.data) - decoder.pos} bytes left over after the value")
    return value


class _Decoder:
    def __init__(self, data: bytes, limits: Limits, on_ref: Callable[[int], Any] | None) -> None:
        self.data = data
        self.pos = 0
        self.limits = limits
        self.on_ref = on_ref
        self.items = 0

    def _add_items(self, n: int) -> None:
        self.items += n
        if self.items > self.limits.max_items:
            raise CodecError(f"more than {self.limits.max_items} items")

    def _take(self, n: int) -> bytes:
        end = self.pos + n
        if n < 0 or end > len(self.data):
            raise CodecError("the data ends in the middle of a value")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def _count(self, item_size: int = 1) -> int:
        (n,) = _U32.unpack(self._take(4))
        if n * item_size > len(self.data) - self.pos:
            raise CodecError("a length is larger than the data that follows it")
        return n

    def value(self, depth: int) -> Any:
        if depth > self.limits.max_depth:
            raise CodecError(f"nested deeper than {self.limits.max_depth} levels")
        self._add_items(1)
        tag = self._take(1)
        simple = _SIMPLE.get(tag)
        if simple is not None:
            return simple[0]
        reader = _READERS.get(tag)
        if reader is None:
            raise CodecError(f"unknown type tag {tag!r}")
        return reader(self, depth)

    def _int_i(self, depth: int) -> int:
        return _I64.unpack(self._take(8))[0]

    def _int_big(self, depth: int) -> int:
        n = self._count()
        if n > self.limits.max_int_bytes:
            raise CodecError(f"an integer is larger than {self.limits.max_int_bytes} bytes")
        return int.from_bytes(self._take(n), "little", signed=True)

    def _float(self, depth: int) -> float:
        return _F64.unpack(self._take(8))[0]

    def _complex(self, depth: int) -> complex:
        return complex(*_C128.unpack(self._take(16)))

    def _str(self, depth: int) -> str:
        return self._take(self._count()).decode("utf-8", "surrogatepass")

    def _bytes(self, depth: int) -> bytes:
        return self._take(self._count())

    def _bytearray(self, depth: int) -> bytearray:
        return bytearray(self._take(self._count()))

    def _items(self, depth: int) -> list[Any]:
        n = self._count()
        return [self.value(depth + 1) for _ in range(n)]

    def _list(self, depth: int) -> list[Any]:
        return self._items(depth)

    def _tuple(self, depth: int) -> tuple[Any, ...]:
        return tuple(self._items(depth))

    def _set(self, depth: int) -> set[Any]:
        return set(_hashable(self._items(depth)))

    def _frozenset(self, depth: int) -> frozenset[Any]:
        return frozenset(_hashable(self._items(depth)))

    def _dict(self, depth: int) -> dict[Any, Any]:
        n = self._count(2)
        pairs = [(self.value(depth + 1), self.value(depth + 1)) for _ in range(n)]
        _hashable([k for k, _ in pairs])
        return dict(pairs)

    def _packed_ints(self, depth: int) -> list[int]:
        n = self._count(8)
        self._add_items(n)
        return list(struct.unpack(f"<{n}q", self._take(8 * n)))

    def _packed_floats(self, depth: int) -> list[float]:
        n = self._count(8)
        self._add_items(n)
        return list(struct.unpack(f"<{n}d", self._take(8 * n)))

    def _range(self, depth: int) -> range:
        start, stop, step = (self.value(depth + 1) for _ in range(3))
        if not all(type(x) is int for x in (start, stop, step)) or step == 0:
            raise CodecError("a range needs three integers and a non-zero step")
        return range(start, stop, step)

    def _iterator(self, depth: int) -> RemoteIterator:
        return RemoteIterator(self._items(depth))

    def _keys(self, depth: int) -> Any:
        return dict.fromkeys(_hashable(self._items(depth))).keys()

    def _values(self, depth: int) -> Any:
        return dict(enumerate(self._items(depth))).values()

    def _view_items(self, depth: int) -> Any:
        pairs = self._items(depth)
        if not all(type(p) is tuple and len(p) == 2 for p in pairs):
            raise CodecError("dict items must be pairs")
        _hashable([k for k, _ in pairs])
        return dict(pairs).items()

    def _type(self, depth: int) -> type:
        name = self._str(depth)
        if name not in _TYPES_BY_NAME:
            raise CodecError(f"unknown built-in type {name[:40]!r}")
        return _TYPES_BY_NAME[name]

    def _ref(self, depth: int) -> Any:
        (ref,) = _U32.unpack(self._take(4))
        if self.on_ref is None:
            raise CodecError("an object reference where only data is allowed")
        return self.on_ref(ref)


_SIMPLE: dict[bytes, tuple[Any]] = {b"N": (None,), b"T": (True,), b"F": (False,)}
_READERS: dict[bytes, Callable[[_Decoder, int], Any]] = {
    b"i": _Decoder._int_i, b"I": _Decoder._int_big, b"f": _Decoder._float, b"c": _Decoder._complex,
    b"s": _Decoder._str, b"b": _Decoder._bytes, b"a": _Decoder._bytearray, b"l": _Decoder._list,
    b"t": _Decoder._tuple, b"S": _Decoder._set, b"z": _Decoder._frozenset, b"d": _Decoder._dict,
    b"q": _Decoder._packed_ints, b"g": _Decoder._packed_floats, b"r": _Decoder._range,
    b"x": _Decoder._iterator, b"K": _Decoder._keys, b"V": _Decoder._values, b"J": _Decoder._view_items,
    b"R": _Decoder._ref, b"Y": _Decoder._type,
}  # fmt: skip


def _hashable(items: list[Any]) -> list[Any]:
    """`items` if they can all go into one set cheaply: hashable, and not a hash-collision flood."""
    try:
        hashes = [hash(item) for item in items]
    except TypeError as exc:
        raise CodecError(f"a set element or dict key is not hashable ({exc})") from None
    if len(hashes) >= _COLLISION_CHECK_FROM:
        hashes.sort()
        run = 1
        for previous, current in itertools.pairwise(hashes):
            run = run + 1 if current == previous else 1
            if run > _MAX_SAME_HASH:
                raise CodecError(f"more than {_MAX_SAME_HASH} set elements or dict keys share one hash")
    return items
