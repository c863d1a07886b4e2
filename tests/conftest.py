"""Shared test setup: Hypothesis profiles and a guard that keeps every test off the real network."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

# ci: fixed seed and bounded examples (CI=true picks it); dev: the default for local runs; nightly: long runs.
settings.register_profile(
    "ci", derandomize=True, max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile("nightly", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))

_LOOPBACK = ("127.", "::1", "localhost")


@pytest.fixture(autouse=True)
def _no_outside_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail any test that tries to connect anywhere but this machine's loopback."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else str(address)
        if self.family in (socket.AF_INET, socket.AF_INET6) and not str(host).startswith(_LOOPBACK):
            raise RuntimeError(f"test tried to reach {host!r}: tests only talk to 127.0.0.1")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    yield


@pytest.fixture(autouse=True)
def _clean_provider_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's real keys or base URL overrides."""
    for name in list(os.environ):
        if name.endswith(("_API_KEY", "_BASE_URL")) or name.startswith(("PORTKEY_", "OPENROUTER_", "OPENAI_")):
            monkeypatch.delenv(name, raising=False)


# --- loopback HTTP server (tests/loopback.py) -------------------------------------------------------------------------

from loopback import LoopbackServer  # noqa: E402  (tests/ is on sys.path: conftest.py lives there)


@pytest.fixture(scope="session")
def loopback_server() -> Iterator[LoopbackServer]:
    """One real HTTP/1.1 server on 127.0.0.1 for the whole session; `loopback` gives each test a clean script."""
    server = LoopbackServer().start()
    yield server
    server.stop()


@pytest.fixture
def loopback(loopback_server: LoopbackServer) -> Iterator[LoopbackServer]:
    """The loopback server with an empty script; held replies are released and the script checked at teardown."""
    loopback_server.reset()
    yield loopback_server
    loopback_server.release_all()
    unscripted = [f"{r.method} {r.path}" for r in loopback_server.unscripted]
    loopback_server.reset()
    assert not unscripted, f"requests reached the loopback server with no reply scripted: {unscripted}"


@pytest.fixture(scope="session")
def llama_server() -> Iterator[Any]:
    """llama.cpp's real `llama-server` with the tiny deterministic model, one per session (tests/test_llamacpp*.py).

    Not built: the tests fail with the command that builds it, never skip (CI builds it first)."""
    from conformance import llamacpp

    binary = llamacpp.binary_path()
    if not binary.exists():
        pytest.fail(f"llama-server is not built at {binary}; run: {llamacpp.build_command()}")
    with llamacpp.Server(binary, llamacpp.ready_model()) as server:
        yield server
