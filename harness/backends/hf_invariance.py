"""Whether a row's numbers depend on how many rows share its forward pass, checked on this machine.

Deterministic decoding needs every matrix product of a decode step to give a row the same bits whether
the step has 1 row or 32. That is a property of the kernels the BLAS library picks for each shape, not
of the maths, so it is measured here rather than assumed:

- `request_strict_blas` asks Intel MKL (which torch uses for float32 matrix products on x86) for its
  strict conditional-numerical-reproducibility mode. Without it MKL picks a different kernel for 1, 2-3
  and 4+ rows and a row's float32 result changes with the row count; with it, the result was the same
  for every row count from 1 to 128 on the machines we measured. MKL accepts the mode only before its
  first call in the process, so the backend asks before it loads the model.
- `rows_invariant_up_to` multiplies random rows through every distinct linear layer of the model with
  1, 2, ... n rows and returns the largest n for which every row matched its single-row result bit for
  bit (bf16 on oneDNN matched up to 32 rows; the 49152-wide output layer first differed at 33).
- `decode_step_matches` runs one decode step of the real model for a few rows of different lengths
  together and for each row alone, and compares the logits bit for bit (attention, norms and
  everything else included).
"""

from __future__ import annotations

import copy
import ctypes
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

_MKL_CBWR_AUTO = 2
_MKL_CBWR_STRICT = 0x10000
_MKL_CBWR_SUCCESS = 0


def request_strict_blas() -> str:
    """Ask MKL for strict CNR mode; returns what the model block should record about it."""
    configured = os.environ.get("MKL_CBWR")
    if configured:
        return f"MKL_CBWR={configured} (from the environment)"
    library = _mkl_library()
    if library is None:
        return "not available (torch is not linked with MKL here)"
    get_mode = library.mkl_serv_cbwr_get
    get_mode.restype, get_mode.argtypes = ctypes.c_int, [ctypes.c_int]
    if get_mode(-1) & _MKL_CBWR_STRICT:
        return "AUTO,STRICT"
    set_mode = library.mkl_serv_cbwr_set
    set_mode.restype, set_mode.argtypes = ctypes.c_int, [ctypes.c_int]
    if set_mode(_MKL_CBWR_AUTO | _MKL_CBWR_STRICT) == _MKL_CBWR_SUCCESS:
        return "AUTO,STRICT"
    return "off (MKL was already in use in this process)"


def _mkl_library() -> Any | None:
    # torch's x86 wheels link MKL statically into libtorch_cpu and export its service functions.
    path = Path(torch.__file__).parent / "lib" / "libtorch_cpu.so"
    try:
        library = ctypes.CDLL(str(path))
    except OSError:
        return None
    if not (hasattr(library, "mkl_serv_cbwr_set") and hasattr(library, "mkl_serv_cbwr_get")):
        return None
    return library


def rows_invariant_up_to(model: Any, rows: int) -> int:
    """The largest n <= rows such that every linear layer gives each of n rows its single-row bits."""
    generator = torch.Generator(device="cpu").manual_seed(0)
    best = rows
    with torch.inference_mode():
        for layer in _distinct_linear_layers(model):
            weight = layer.weight
            sample = torch.randn((rows, 1, weight.shape[1]), generator=generator)
            sample = sample.to(device=weight.device, dtype=weight.dtype)
            alone = torch.cat([layer(sample[r : r + 1]) for r in range(rows)])
            for count in range(2, best + 1):
                if not torch.equal(layer(sample[:count]), alone[:count]):
                    best = count - 1
                    break
    return best


def _distinct_linear_layers(model: Any) -> list[torch.nn.Linear]:
    seen: set[tuple[Any, ...]] = set()
    layers = []
    for module in model.modules():
        if isinstance(module, torch.nn.Linear):
            key = (tuple(module.weight.shape), module.weight.dtype, module.bias is not None)
            if key not in seen:
                seen.add(key)
                layers.append(module)
    return layers


def decode_step_matches(make_decoder: Callable[[], Any], rows: Sequence[Any]) -> bool:
    """One decode step for `rows` (fresh Decoder rows) together against each alone: equal logits?"""
    alone = []
    for row in rows:
        decoder = make_decoder()
        decoder.join([row], [decoder.prefill(row)])
        alone.append(decoder)
    together = make_decoder()
    together.join([copy.deepcopy(d.rows[0]) for d in alone], [d.cache for d in alone])
    feed = [row.tokens[-1] for row in together.rows]
    joint = together.forward(feed)
    pairs = enumerate(zip(alone, feed, strict=True))
    return all(torch.equal(decoder.forward([token])[0], joint[i]) for i, (decoder, token) in pairs)
