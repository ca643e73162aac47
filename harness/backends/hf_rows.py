"""A KV cache for rows decoded together, and attention that treats each row as if it were alone.

Each row's prompt is prefilled on its own, so its keys and values never depend on other rows. The rows
are then stacked right-aligned in one cache (row i's columns are `starts[i]:length`; the columns before
are padding it never uses) and decoded together: one forward pass per step for all rows. `RowCache.keep`
drops finished rows, `RowCache.put` writes a waiting row into a finished row's slot (continuous
batching), and `RowCache.stack` joins caches.

`rowwise_attention` ("harness_rowwise") computes each row's attention over its own columns only, with
the same call a single-row run makes. Batched attention with a padding mask gives a row different bits
depending on how much padding the other rows force on it (the kernels split the key axis into blocks,
so padding moves the block boundaries); per-row attention does not.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from transformers import AttentionInterface
from transformers.cache_utils import Cache, DynamicLayer
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

ROWWISE_ATTENTION = "harness_rowwise"
_MIN_GROWTH = 128  # columns added when a layer's buffer is full (or half its size, if more)


class RowLayer(DynamicLayer):
    """One layer's keys and values, [rows, heads, capacity, head_dim], written in place as tokens come.

    transformers' DynamicLayer concatenates a new tensor each step (copying the whole cache); writing into
    spare capacity copies only the new column.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.length = 0
        self.buffer_keys: torch.Tensor | None = None
        self.buffer_values: torch.Tensor | None = None

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        end = self.length + key_states.shape[-2]
        self._reserve(key_states, end)
        assert self.buffer_keys is not None and self.buffer_values is not None
        self.buffer_keys[:, :, self.length : end] = key_states
        self.buffer_values[:, :, self.length : end] = value_states
        self._set_length(end)
        return self.keys, self.values  # type: ignore[return-value]

    def _reserve(self, like: torch.Tensor, end: int) -> None:
        capacity = 0 if self.buffer_keys is None else self.buffer_keys.shape[-2]
        if end <= capacity:
            return
        rows, heads, _, dim = like.shape
        new_capacity = end + max(_MIN_GROWTH, end // 2)
        keys = like.new_zeros((rows, heads, new_capacity, dim))
        values = like.new_zeros((rows, heads, new_capacity, dim))
        if self.buffer_keys is not None and self.buffer_values is not None and self.length:
            keys[:, :, : self.length] = self.buffer_keys[:, :, : self.length]
            values[:, :, : self.length] = self.buffer_values[:, :, : self.length]
        self.buffer_keys, self.buffer_values = keys, values

    def _set_length(self, length: int) -> None:
        assert self.buffer_keys is not None and self.buffer_values is not None
        self.length = length
        self.keys = self.buffer_keys[:, :, :length]
        self.values = self.buffer_values[:, :, :length]

    def get_seq_length(self) -> int:
        return self.length

    def adopt(self, keys: torch.Tensor, values: torch.Tensor, length: int) -> None:
        """Take over full buffers (rows, heads, capacity, dim) whose first `length` columns are in use."""
        if not self.is_initialized:
            self.lazy_initialization(keys, values)
        self.buffer_keys, self.buffer_values = keys, values
        self._set_length(length)


class RowCache(Cache):
    """The KV cache of rows decoded together; `starts[i]` is the first column that holds row i."""

    def __init__(self, rows: int = 1) -> None:
        super().__init__(layer_class_to_replicate=RowLayer)
        self.starts = [0] * rows

    @property
    def length(self) -> int:
        return self._row_layers()[0].length if self.layers else 0

    @property
    def rows(self) -> int:
        return len(self.starts)

    def _row_layers(self) -> list[RowLayer]:
        layers = [layer for layer in self.layers if isinstance(layer, RowLayer)]
        if len(layers) != len(self.layers):
            raise TypeError("RowCache holds a layer that is not a RowLayer")
        return layers

    @classmethod
    def stack(cls, caches: Sequence[RowCache], headroom: int = _MIN_GROWTH) -> RowCache:
        """One cache holding the rows of `caches` in order, right-aligned to the longest of them."""
        width = max(cache.length for cache in caches)
        stacked = cls(0)
        for cache in caches:
            stacked.starts.extend(start + width - cache.length for start in cache.starts)
        for index, first in enumerate(caches[0]._row_layers()):
            assert first.buffer_keys is not None
            _, heads, _, dim = first.buffer_keys.shape
            shape = (stacked.rows, heads, width + headroom, dim)
            keys, values = first.buffer_keys.new_zeros(shape), first.buffer_keys.new_zeros(shape)
            row = 0
            for cache in caches:
                layer = cache._row_layers()[index]
                assert layer.buffer_keys is not None and layer.buffer_values is not None
                rows, offset = cache.rows, width - layer.length
                keys[row : row + rows, :, offset:width] = layer.buffer_keys[:, :, : layer.length]
                values[row : row + rows, :, offset:width] = layer.buffer_values[:, :, : layer.length]
                row += rows
            stacked_layer = RowLayer()
            stacked_layer.adopt(keys, values, width)
            stacked.layers.append(stacked_layer)
        return stacked

    def keep(self, rows: Sequence[int]) -> None:
        """Keep only `rows` (in that order), and drop the leading columns none of them uses."""
        starts = [self.starts[row] for row in rows]
        drop = min(starts)
        for layer in self._row_layers():
            assert layer.buffer_keys is not None and layer.buffer_values is not None
            index = torch.tensor(list(rows), device=layer.buffer_keys.device)
            keys = layer.buffer_keys.index_select(0, index)[:, :, drop:]
            values = layer.buffer_values.index_select(0, index)[:, :, drop:]
            layer.adopt(keys, values, layer.length - drop)
        self.starts = [start - drop for start in starts]

    def put(self, slot: int, single: RowCache) -> bool:
        """Write a one-row cache into `slot` (a finished row's), right-aligned with the other rows, so a
        waiting row takes a finished row's place without copying the rest. False (nothing written) when
        the new row is longer than this cache's columns."""
        if single.length > self.length:
            return False
        start = self.length - single.length
        # Buffers grown during a forward pass are inference tensors, writable only in inference mode.
        with torch.inference_mode():
            for layer, source in zip(self._row_layers(), single._row_layers(), strict=True):
                assert layer.buffer_keys is not None and layer.buffer_values is not None
                assert source.buffer_keys is not None and source.buffer_values is not None
                # Columns before `start` keep the previous row's values; neither attention reads them.
                layer.buffer_keys[slot, :, start : self.length] = source.buffer_keys[0, :, : source.length]
                layer.buffer_values[slot, :, start : self.length] = source.buffer_values[
                    0, :, : source.length
                ]
        self.starts[slot] = start
        return True

    def compact(self) -> None:
        """Drop leading columns no row uses once they are half the cache: refilled slots start ever
        further right, and without this the cache would grow with the total length of the run."""
        if min(self.starts) >= max(_MIN_GROWTH, self.length // 2):
            self.keep(range(self.rows))

    def padding_mask(self, extra_columns: int) -> torch.Tensor:
        """[rows, length + extra_columns] with 0 on each row's unused leading columns, 1 elsewhere."""
        device = self._row_layers()[0].keys.device  # type: ignore[union-attr]
        columns = torch.arange(self.length + extra_columns, device=device)
        starts = torch.tensor(self.starts, device=device).unsqueeze(1)
        return (columns.unsqueeze(0) >= starts).long()


def rowwise_attention(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    row_starts: Sequence[int] | None = None,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """sdpa for each row over its own columns (`row_starts`); plain sdpa (with the model's mask) when no
    starts are given."""
    if row_starts is None:
        output, _ = sdpa_attention_forward(
            module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, **kwargs
        )
        return output, None
    outputs = []
    for row, start in enumerate(row_starts):
        # The same call, on the same values, that this row makes when it is decoded alone.
        output, _ = sdpa_attention_forward(
            module,
            query[row : row + 1],
            key[row : row + 1, :, start:],
            value[row : row + 1, :, start:],
            None,
            dropout=dropout,
            scaling=scaling,
            **kwargs,
        )
        outputs.append(output)
    return torch.cat(outputs), None


AttentionInterface.register(ROWWISE_ATTENTION, rowwise_attention)
# Without row starts the model behaves exactly as with "sdpa", padding masks included, so generate()
# and padded batches still work on a model switched to this attention.
AttentionMaskInterface.register(ROWWISE_ATTENTION, sdpa_mask)
