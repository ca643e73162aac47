"""RowCache: rows prefilled alone, stacked right-aligned, dropped when done, replaced in place by waiting
rows; all on plain tensors."""

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


def test_put_writes_a_waiting_row_into_a_finished_rows_slot() -> None:
    cache = RowCache.stack([prefilled(4, 10.0), prefilled(2, 20.0)])
    assert cache.put(0, prefilled(3, 50.0))  # row 0 finished; the new row ends where the others end
    assert (cache.rows, cache.length, cache.starts) == (2, 4, [1, 2])
    keys, values = cache.layers[1].keys, cache.layers[1].values
    assert keys is not None and values is not None
    assert keys[0, 0, 1:, 0].tolist() == [51.0, 52.0, 53.0]
    assert values[0, 1, 1:, 2].tolist() == [-51.0, -52.0, -53.0]
    assert keys[1, 0, 2:, 0].tolist() == [21.0, 22.0]  # the other row is untouched
    assert cache.padding_mask(0).tolist() == [[0, 1, 1, 1], [0, 0, 1, 1]]
    # A row longer than the cache does not fit; nothing is written.
    assert not cache.put(1, prefilled(5, 60.0))
    assert cache.starts == [1, 2] and keys[1, 0, 2:, 0].tolist() == [21.0, 22.0]


def test_compact_drops_leading_columns_once_no_row_uses_half_the_cache() -> None:
    cache = RowCache.stack([prefilled(300, 0.0), prefilled(300, 1000.0)])
    cache.put(0, prefilled(100, 5000.0))
    cache.compact()  # row 1 still starts at column 0: nothing to drop
    assert (cache.length, cache.starts) == (300, [200, 0])
    cache.put(1, prefilled(120, 7000.0))
    cache.compact()
    assert (cache.length, cache.starts) == (120, [20, 0])
    keys = cache.layers[0].keys
    assert keys is not None
    assert keys[0, 0, 20:23, 0].tolist() == [5000.0, 5001.0, 5002.0]
    assert keys[1, 0, :2, 0].tolist() == [7000.0, 7001.0]


def test_put_writes_into_buffers_made_during_a_forward_pass() -> None:
    # A forward pass runs in inference mode, so buffers grown there are inference tensors, which torch
    # lets no one write in place outside that mode.
    with torch.inference_mode():
        cache = RowCache.stack([prefilled(3, 0.0), prefilled(3, 10.0)])
    assert cache.put(0, prefilled(2, 50.0))
    keys = cache.layers[0].keys
    assert keys is not None and keys[0, 0, 1:, 0].tolist() == [50.0, 51.0]
