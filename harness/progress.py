"""Progress bars for long stages: samples done, tokens per second and ETA."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")


class GenerationBar:
    def __init__(self, bar: tqdm):
        self._bar = bar
        self._tokens = 0
        self._started = time.monotonic()

    def advance(self, output_tokens: int) -> None:
        self._tokens += output_tokens
        elapsed = max(time.monotonic() - self._started, 1e-9)
        self._bar.set_postfix_str(f"{self._tokens / elapsed:.1f} tok/s", refresh=False)
        self._bar.update(1)


@contextmanager
def generation_progress(total: int, task: str, enabled: bool) -> Iterator[GenerationBar]:
    with tqdm(
        total=total, desc=f"{task}: generating", unit="sample", disable=not enabled, dynamic_ncols=True
    ) as bar:
        yield GenerationBar(bar)


def scoring_progress(items: Iterable[T], task: str, enabled: bool) -> Iterator[T]:
    items = list(items)
    yield from tqdm(items, desc=f"{task}: scoring", unit="sample", disable=not enabled, dynamic_ncols=True)
