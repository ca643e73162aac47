"""The protocol fingerprint: everything that decides whether two scores are comparable.

Two score files with the same `protocol.hash` were produced from the same problems, prompts, sampling settings
and grader, and differ only in the model. The model's identity (including its chat template, which is part of
the model, not of the protocol) sits beside the protocol in the score file.

Where the problems came from (hub or a local copy) is recorded but not hashed: the content hash already says
whether the problems are the same, and a local copy of a hub dataset must stay comparable with the hub.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from harness.data import LoadedProblems
from harness.types import Sampling, TaskSpec

PROTOCOL_VERSION = 1
SEED_POLICY = "per-sample: sha256(seed, task, problem_id, sample_index) -> 63-bit seed"
REASONING_POLICY = "text inside <think>...</think> is not graded; an unclosed think block has no answer"
UNHASHED = (("data", "source"),)  # recorded for people, left out of the hash (see module docstring)


def build_protocol(
    spec: TaskSpec,
    loaded: LoadedProblems,
    options: Mapping[str, Any],
    sampling: Sampling,
    prompt_template: str,
    system_prompt: str | None,
) -> dict[str, Any]:
    protocol: dict[str, Any] = {
        "version": PROTOCOL_VERSION,
        "task": {"name": spec.name, "version": spec.version},
        "data": {
            "content_hash": loaded.content_hash,
            "problem_count": len(loaded.problems),
            "options": dict(options),
            "source": dict(loaded.source),
        },
        "prompt": {
            "template": prompt_template,
            "system_prompt": system_prompt,
            "chat_template": "the model's own (tokenizer or server), with the generation prompt",
            "reasoning": REASONING_POLICY,
        },
        "sampling": {
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "top_k": sampling.top_k,
            "n": sampling.n,
            "max_new_tokens": sampling.max_new_tokens,
            "seed": sampling.seed,
            "seed_policy": SEED_POLICY,
            "stop": list(sampling.stop),
        },
        "grader": {
            "name": spec.grader.name,
            "version": spec.grader.version,
            "settings": dict(spec.grader.settings),
        },
    }
    protocol["hash"] = protocol_hash(protocol)
    return protocol


def protocol_hash(protocol: Mapping[str, Any]) -> str:
    hashed = json.loads(json.dumps({k: v for k, v in protocol.items() if k != "hash"}, default=str))
    for section, key in UNHASHED:
        hashed.get(section, {}).pop(key, None)
    text = json.dumps(hashed, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def sample_seed(seed: int, task: str, problem_id: str, sample_index: int) -> int:
    """A seed per (problem, sample), independent of batch composition and of the order of requests."""
    text = json.dumps([seed, task, problem_id, sample_index])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 1


def protocol_differences(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    """Which protocol parts differ: top-level keys, or `key.subkey` where both sides are objects."""
    differing: list[str] = []
    for key in sorted(set(a) | set(b)):
        if key == "hash" or a.get(key) == b.get(key):
            continue
        left, right = a.get(key), b.get(key)
        if isinstance(left, Mapping) and isinstance(right, Mapping):
            subkeys = sorted(k for k in set(left) | set(right) if left.get(k) != right.get(k))
            differing.extend(f"{key}.{sub}" for sub in subkeys)
        else:
            differing.append(key)
    return differing
