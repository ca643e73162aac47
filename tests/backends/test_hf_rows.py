"""RowCache: rows prefilled alone, stacked right-aligned, dropped when done; all on plain tensors."""

from __future__ import annotations

import torch

from harness.backends.hf_rows import RowCache

HEADS, DIM, LAYERS = 2, 3, 2


def columns(count: int, base: float) -> torch.Tensor:
    """[1, heads, count, dim] whose column c holds base + c everywhere."""
    values = base + torch.arange(count, dtype=torch.float32)
    return values.view(1, 1, count, 1).expand(1, HEADS, count, DIM).clone()


def prefilled(length: int, base: float) -> RowCache:
    cache = RowCache(1)
    for layer in range(LAYERS):
        cache.update(columns(length, base + layer), -columns(length, base + layer), layer)
    return cache


def test_stack_right_aligns_rows_and_zeroes_the_padding() -> None:
    short, long = prefilled(2, 10.0), prefilled(4, 20.0)
    cache = RowCache.stack([short, long])
    assert (cache.rows, cache.length, cache.starts) == (2, 4, [2, 0])
    keys, values = cache.layers[1].keys, cache.layers[1].values
    assert keys is not None and values is not None
    assert keys[0, 0, :, 0].tolist() == [0.0, 0.0, 11.0, 12.0]  # layer 1 of the short row, right-aligned
    assert keys[1, 0, :, 0].tolist() == [21.0, 22.0, 23.0, 24.0]
    assert values[0, 1, 2, 2].item() == -11.0
    assert cache.padding_mask(1).tolist() == [[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]]
    # The sources are copied, not shared: writing the stack leaves them as they were.
    keys[0, 0, 2, 0] = 99.0
    assert short.layers[1].keys is not None and short.layers[1].keys[0, 0, 0, 0].item() == 11.0


def test_new_columns_are_written_in_place_past_the_old_capacity() -> None:
    cache = RowCache.stack([prefilled(2, 0.0), prefilled(3, 5.0)], headroom=1)
    for step in range(5):  # more steps than the headroom: the buffers must grow and keep the old columns
        new = torch.full((2, HEADS, 1, DIM), 100.0 + step)
        keys, _ = cache.update(new, new, 0)
    assert cache.layers[0].get_seq_length() == 8
    assert keys[0, 0, :, 0].tolist() == [0, 0.0, 1.0, 100, 101, 102, 103, 104]
    assert keys[1, 0, :3, 0].tolist() == [5.0, 6.0, 7.0]


def test_keep_drops_rows_and_the_columns_no_kept_row_uses() -> None:
    cache = RowCache.stack([prefilled(2, 10.0), prefilled(5, 20.0), prefilled(3, 30.0)])
    assert cache.starts == [3, 0, 2]
    cache.keep([2, 0])  # the longest row finished
    assert (cache.rows, cache.length, cache.starts) == (2, 3, [0, 1])
    keys = cache.layers[0].keys
    assert keys is not None
    assert keys[0, 0, :, 0].tolist() == [30.0, 31.0, 32.0]
    assert keys[1, 0, :, 0].tolist() == [0.0, 10.0, 11.0]
    # A later stack (a refilled row) lines the kept rows up with the new one.
    grown = RowCache.stack([cache, prefilled(4, 40.0)])
    assert (grown.length, grown.starts) == (4, [1, 2, 0])
