"""Deterministic split of a run's (problem, sample) work into N shards."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from harness.types import SampleKey


@dataclass(frozen=True)
class Shard:
    index: int  # 0-based
    count: int

    def owns(self, key: SampleKey) -> bool:
        # Hashing the key (not its position) keeps the assignment stable when --limit or n change.
        text = f"{key.task}\x00{key.problem_id}\x00{key.sample_index}"
        return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") % self.count == self.index


def parse_shard(text: str) -> Shard:
    """'i/N' with 0 <= i < N, as given to `harness run --shard`."""
    match = re.fullmatch(r"(\d+)/(\d+)", text.strip())
    if not match:
        raise ValueError(f"--shard {text!r}: expected i/N, e.g. 0/4")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"--shard {text!r}: need 0 <= i < N")
    return Shard(index, count)
