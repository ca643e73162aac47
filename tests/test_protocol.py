"""The protocol fingerprint: what it hashes, what it leaves out, and per-sample seeds that never move."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from harness.data import load_problems
from harness.protocol import build_protocol, protocol_hash, sample_seed
from harness.registry import discover
from harness.types import Sampling

from .conftest import REPO

QUICKSTART = Sampling(temperature=0.0, max_new_tokens=256, n=1, seed=1234)


def sample_math_protocol(sampling: Sampling = QUICKSTART, **changes: object) -> dict:
    spec = dataclasses.replace(discover().get("sample-math"), **changes)  # type: ignore[arg-type]
    return build_protocol(spec, load_problems(spec), {}, sampling, spec.prompt_template, spec.system_prompt)


def test_the_quickstart_protocol_rebuilds_to_the_hash_the_shipped_score_files_carry() -> None:
    shipped = sorted((REPO / "results").glob("*__sample-math__*.json"))
    assert shipped, "results/ ships sample-math score files"
    hashes = {json.loads(p.read_text())["protocol"]["hash"] for p in shipped}
    assert hashes == {sample_math_protocol()["hash"]}
    for path in (REPO / "results").glob("*__*__*.json"):
        protocol = json.loads(path.read_text())["protocol"]
        assert protocol_hash(protocol) == protocol["hash"], path.name


@pytest.mark.parametrize(
    "change",
    [
        {"sampling": dataclasses.replace(QUICKSTART, temperature=0.6)},
        {"sampling": dataclasses.replace(QUICKSTART, n=4)},
        {"sampling": dataclasses.replace(QUICKSTART, max_new_tokens=512)},
        {"sampling": dataclasses.replace(QUICKSTART, stop=("\n\n",))},
        {"version": "2"},
        {"prompt_template": "{problem}\nAnswer with a number."},
        {"system_prompt": "You are terse."},
    ],
)
def test_every_setting_that_changes_the_scores_changes_the_hash(change: dict) -> None:
    assert sample_math_protocol(**change)["hash"] != sample_math_protocol()["hash"]


def test_where_the_problems_came_from_is_recorded_but_not_hashed(tmp_path: Path) -> None:
    spec = discover().get("sample-math")
    bundled = load_problems(spec)
    assert spec.source.bundled_path is not None
    copy = tmp_path / "my_copy.jsonl"
    copy.write_bytes(spec.source.bundled_path.read_bytes())
    local = load_problems(spec, copy)
    a = build_protocol(spec, bundled, {}, QUICKSTART, spec.prompt_template, None)
    b = build_protocol(spec, local, {}, QUICKSTART, spec.prompt_template, None)
    assert a["data"]["source"]["kind"] == "bundled" and b["data"]["source"]["kind"] == "local"
    assert a["hash"] == b["hash"]
    fewer = build_protocol(spec, load_problems(spec, limit=5), {}, QUICKSTART, spec.prompt_template, None)
    assert fewer["hash"] != a["hash"]  # other problems: the content hash differs


def test_the_hash_ignores_key_order_and_its_own_field() -> None:
    protocol = sample_math_protocol()
    reordered = dict(reversed(list(protocol.items())))
    reordered["hash"] = "anything"
    assert protocol_hash(reordered) == protocol["hash"]


def test_sample_seeds_are_pinned_distinct_and_63_bit() -> None:
    # Pinned: a change here changes every sampled completion a journal would replay against.
    assert sample_seed(1234, "aime24", "2024-I-1", 0) == 977858866879495643
    assert sample_seed(1234, "aime24", "2024-I-1", 1) == 4666714665689231055
    seeds = {
        sample_seed(s, t, p, i) for s in (0, 1) for t in ("a", "b") for p in ("p1", "p2") for i in range(4)
    }
    assert len(seeds) == 2 * 2 * 2 * 4
    assert all(0 <= seed < 2**63 for seed in seeds)
