"""The literal codec: what crosses the sandbox boundary is plain data, bounded, or an error."""

from __future__ import annotations

import collections
import contextlib
import math
import os
import random
import sys

import pytest

from harness.scoring._literal_codec import (
    CodecError,
    EncodeError,
    Limits,
    RemoteIterator,
    decode,
    encode,
)

ROUND_TRIPS = [
    None, True, False, 0, -1, 2**63 - 1, -(2**63), 2**63, -(2**70), 10**5000, 1.5, -0.0, math.inf, -math.inf,
    1 + 2j, "", "héllo", "\ud800 lone surrogate", b"\x00\xff", bytearray(b"ab"), [], (), set(), frozenset(),
    {}, [1, 2, 3], [1.0, 2.5], [1, 2.0, "x"], [10**30, 1], (1, (2, [3])), {1, 2}, frozenset({(1, 2)}),
    {"a": [1], 2: (3,), (1, 2): None}, range(1, 10, 2), int, str, type(None),
]  # fmt: skip


@pytest.mark.parametrize("value", ROUND_TRIPS, ids=lambda v: type(v).__name__)
def test_built_in_values_round_trip_with_their_exact_type(value) -> None:
    back = decode(encode(value))
    assert type(back) is type(value)
    assert (
        repr(back) == repr(value) if not isinstance(value, int) or value.bit_length() < 60 else back == value
    )


def test_nan_and_negative_zero_keep_their_bits() -> None:
    assert math.isnan(decode(encode(math.nan)))
    assert math.copysign(1, decode(encode(-0.0))) == -1


def test_tuple_list_and_set_stay_distinct() -> None:
    assert [type(x) for x in decode(encode(([1], (1,), {1}, frozenset({1}))))] == [
        list,
        tuple,
        set,
        frozenset,
    ]


def test_subclasses_arrive_as_their_base_type() -> None:
    class Rigged(int):
        def __eq__(self, other: object) -> bool:
            return True

        __hash__ = int.__hash__

    class Shouting(str):
        def __str__(self) -> str:
            return "LIES"

    counter = collections.Counter("aab")
    assert decode(encode(counter)) == {"a": 2, "b": 1} and type(decode(encode(counter))) is dict
    assert type(decode(encode(collections.defaultdict(list, a=[1])))) is dict
    assert type(decode(encode(collections.OrderedDict(a=1)))) is dict
    assert decode(encode(Rigged(3))) == 3 and type(decode(encode(Rigged(3)))) is int
    assert decode(encode(Rigged(3))) != 4  # the rigged __eq__ did not cross
    assert decode(encode(Shouting("ok"))) == "ok"
    assert type(decode(encode(collections.namedtuple("P", "x y")(1, 2)))) is tuple


def test_objects_are_refused_or_become_references() -> None:
    class Anything:
        def __eq__(self, other: object) -> bool:
            return True

    with pytest.raises(EncodeError, match="Anything object is not data"):
        encode(Anything())
    data = encode([Anything(), 5], on_object=lambda obj: 7)
    assert decode(data, on_ref=lambda ref: ("ref", ref)) == [("ref", 7), 5]
    with pytest.raises(CodecError, match="reference where only data"):
        decode(data)


def test_iterators_are_read_once_and_bounded() -> None:
    back = decode(encode(x * x for x in range(4)))
    assert isinstance(back, RemoteIterator) and list(back) == [0, 1, 4, 9] and list(back) == []
    assert back != [0, 1, 4, 9]  # an iterator is not equal to a list, as in Python

    def endless():
        while True:
            yield 1

    with pytest.raises(EncodeError, match=r"larger than 1000 bytes|more than"):
        encode(endless(), Limits(max_bytes=1000))


def test_dict_views_keep_their_comparison_rules() -> None:
    d = {"a": 1, "b": 2}
    assert decode(encode(d.keys())) == {"a", "b"}
    assert list(decode(encode(d.values()))) == [1, 2]
    assert decode(encode(d.items())) == {("a", 1), ("b", 2)}


def deep(levels: int) -> list:
    root: list = []
    node = root
    for _ in range(levels):
        node.append([])
        node = node[0]
    return root


def test_limits_are_enforced_on_both_sides() -> None:
    with pytest.raises(EncodeError, match="deeper than 100"):
        encode(deep(3000))
    with pytest.raises(CodecError, match="deeper than 100"):
        decode(b"l\x01\x00\x00\x00" * 3000 + b"N")
    with pytest.raises(EncodeError, match="larger than 64 bytes"):
        encode(10**400, Limits(max_int_bytes=64))
    with pytest.raises(CodecError, match="larger than 64 bytes"):
        decode(encode(10**400), Limits(max_int_bytes=64))
    with pytest.raises(CodecError, match="more than 10 items"):
        decode(encode(list(range(100))), Limits(max_items=10))
    with pytest.raises(CodecError, match="larger than 10 bytes"):
        decode(encode("x" * 100), Limits(max_bytes=10))


def test_hash_collision_floods_are_refused() -> None:
    modulus = sys.hash_info.modulus  # every multiple of it hashes to 0
    flood = b"S" + (1000).to_bytes(4, "little") + b"".join(encode(i * modulus) for i in range(1, 1001))
    with pytest.raises(CodecError, match="share one hash"):
        decode(flood)
    assert len(decode(encode(set(range(5000))))) == 5000


def test_unhashable_keys_and_bad_ranges_are_errors_not_crashes() -> None:
    set_of_list = b"S\x01\x00\x00\x00" + encode([1])
    with pytest.raises(CodecError, match="not hashable"):
        decode(set_of_list)
    with pytest.raises(CodecError, match="non-zero step"):
        decode(b"r" + encode(1) + encode(2) + encode(0))
    with pytest.raises(CodecError, match="unknown built-in type"):
        decode(b"Y" + (4).to_bytes(4, "little") + b"evil")


def test_random_bytes_only_ever_raise_codec_error() -> None:
    rng = random.Random(9)
    tags = b"NTFiIfcsbalStzdqgrxKVJRY"
    for _ in range(3000):
        data = bytes(
            rng.choice(tags) if rng.random() < 0.3 else rng.randrange(256)
            for _ in range(rng.randrange(1, 60))
        )
        with contextlib.suppress(CodecError):
            decode(data)
    for _ in range(200):
        with contextlib.suppress(CodecError):
            decode(os.urandom(200))


def test_hostile_container_methods_do_not_reach_the_encoder() -> None:
    class Sneaky(list):
        def __iter__(self):
            raise RuntimeError("should not be called")

        def __len__(self) -> int:
            return 10**9

    assert decode(encode(Sneaky([1, 2]))) == [1, 2]

    class Exploding:
        def __iter__(self):
            return self

        def __next__(self):
            raise ValueError("boom")

    with pytest.raises(EncodeError, match="could not be read as data"):
        encode(Exploding())
