"""The embedded model, loaded once per session and shared by the hf backend tests; fault-injecting HTTP
servers for the openai backend tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fault_server import FaultServer, Plan

from harness.types import ModelSpec

EMBEDDED_ALIAS = "smollm2-135m-instruct"


@pytest.fixture(scope="session")
def smol_backend(_session_model_cache: None) -> Iterator[Any]:
    # Depends on the session cache fixture so the one dequantization of the session lands in the
    # test cache, never in the user's.
    from harness.backends.hf import HFBackend

    backend = HFBackend(
        ModelSpec(name="smollm2", backend="hf", path=EMBEDDED_ALIAS, device="cpu", batch_size=8)
    )
    yield backend
    backend.close()


@pytest.fixture
def serve() -> Iterator[Callable[..., FaultServer]]:
    """Start fault servers (serve(plan, **options)); all are stopped when the test ends."""
    servers: list[FaultServer] = []

    def make(plan: Plan, **kwargs: Any) -> FaultServer:
        servers.append(FaultServer(plan, **kwargs))
        return servers[-1]

    yield make
    for server in servers:
        server.close()
