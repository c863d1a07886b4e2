"""Offline properties of every alias, end to end: Hypothesis-drawn requests through the real Provider, over HTTP, to
the alias's simulator.

For every alias and every request drawn within what the alias claims (`chat_requests(capabilities=...)`):
- Allos either sends it or refuses it before sending for a documented reason (`InvalidRequestError`); nothing else
  escapes, and an `UnsupportedCapabilityError` for a declared capability is a bug;
- what it sends is accepted by the simulator's validation (the provider's documented contract, written apart from
  Allos) and its answer parses;
- the body the simulator received is accepted by the official SDK's request type for the protocol (openai for Chat
  Completions and Responses, anthropic, ollama; mistralai too for mistral).

The per-protocol properties (tests/test_*_properties.py) check the pure functions; this one checks what really goes
over the wire, with the transport, headers and stream options the Provider adds.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pydantic
import pytest
from anthropic_samples import assert_valid_body as assert_valid_anthropic_body
from hypothesis import HealthCheck, given, settings
from mistralai.client.models.chatcompletionrequest import ChatCompletionRequest
from mistralai.client.models.chatcompletionstreamrequest import ChatCompletionStreamRequest
from openai.types.chat.completion_create_params import (
    CompletionCreateParamsNonStreaming,
    CompletionCreateParamsStreaming,
)
from responses_samples import check_request as check_responses_request
from test_ollama_protocol import assert_valid_body as assert_valid_ollama_body

# The departures each alias's own documentation asks for live with the pure function's property.
from test_properties import DOCUMENTED_DEPARTURES

from allos import ChatRequest, get_provider, list_providers
from allos.errors import InvalidRequestError, UnsupportedCapabilityError
from allos.providers.registry import ProviderSpec, get_spec
from conformance.runner import SIMULATOR_HEADERS
from conformance.simulators import Simulator, simulated_aliases
from conformance.strategies import chat_requests

pytestmark = pytest.mark.network

ALIASES = [spec.name for spec in list_providers()]
# A tenth of the profile's examples per alias (6 under ci, 200 nightly): each is a real HTTP exchange (~50 ms), and
# every alias has its own test, so every run covers each alias a little and nightly covers each a lot.
EXAMPLES = max(4, settings.default.max_examples // 10)


@pytest.fixture(scope="module")
def simulators() -> Iterator[dict[str, Simulator]]:
    """One simulator per alias, started when first needed and stopped with the module."""
    started: dict[str, Simulator] = {}
    yield started
    with concurrent.futures.ThreadPoolExecutor() as pool:  # each waits for its server thread: stop them together
        list(pool.map(Simulator.stop, started.values()))


def _simulator(simulators: dict[str, Simulator], alias: str) -> Simulator:
    if alias not in simulated_aliases():
        pytest.skip(f"{alias} has no simulator yet")
    if alias not in simulators:
        simulators[alias] = Simulator(alias).start()
    return simulators[alias]


# --- the official SDKs' request types, per protocol -----------------------------------------------------------------


def _drain(value: Any) -> Any:
    """pydantic validates the SDKs' `Iterable[...]` fields lazily: consume them to validate them."""
    if isinstance(value, Mapping):
        return {key: _drain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | Iterator) or type(value).__name__ == "ValidatorIterator":
        return [_drain(item) for item in value]
    return value


_CHAT = {
    False: pydantic.TypeAdapter(CompletionCreateParamsNonStreaming),
    True: pydantic.TypeAdapter(CompletionCreateParamsStreaming),
}


def _chat_completions_sdk(alias: str, body: dict[str, Any]) -> None:
    # The departures each alias's own documentation asks for are undone first; anything else the SDK does not know
    # fails.
    reference = json.loads(json.dumps(body))
    for undo in DOCUMENTED_DEPARTURES.get(alias, ()):
        undo(reference)
    assert _drain(_CHAT[bool(reference.get("stream"))].validate_python(reference)) == reference
    if alias == "mistral":
        model = (ChatCompletionStreamRequest if body.get("stream") else ChatCompletionRequest).model_validate(body)
        assert json.loads(model.model_dump_json(by_alias=True, exclude_unset=True)) == json.loads(json.dumps(body))


def _responses_sdk(alias: str, body: dict[str, Any]) -> None:
    check_responses_request(body)


def _anthropic_sdk(alias: str, body: dict[str, Any]) -> None:
    assert_valid_anthropic_body(body)


def _ollama_sdk(alias: str, body: dict[str, Any]) -> None:
    assert_valid_ollama_body(body)


SDK_ORACLES: dict[str, Callable[[str, dict[str, Any]], None]] = {
    "chat_completions": _chat_completions_sdk,
    "responses": _responses_sdk,
    "anthropic": _anthropic_sdk,
    "ollama": _ollama_sdk,
}


# --- the property ---------------------------------------------------------------------------------------------------


def _send(spec: ProviderSpec, simulator: Simulator, request: ChatRequest) -> None:
    options = request.model_dump(exclude={"model", "messages", "stream", "extra_body", "previous_response_id"})
    options = {k: getattr(request, k) for k, v in options.items() if v not in (None, ())}  # the canonical objects
    with get_provider(
        spec.name,
        model=spec.default_model or "conformance-model",
        api_key=f"sim-{spec.name}-key-0123456789",
        base_url=simulator.base_url,
        headers=SIMULATOR_HEADERS.get(spec.name, {}),
        max_retries=0,
    ) as provider:
        if request.stream:
            list(provider.stream(list(request.messages), **options))
        else:
            provider.chat(list(request.messages), **options)


@pytest.mark.parametrize("alias", ALIASES)
def test_drawn_requests_are_accepted_by_the_simulator_and_the_sdk_or_refused_cleanly(
    alias: str, simulators: dict[str, Simulator]
) -> None:
    spec = get_spec(alias)
    simulator = _simulator(simulators, alias)
    oracle = SDK_ORACLES[spec.protocol]

    @settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(request=chat_requests(capabilities=spec.capabilities))
    def accepted_or_refused(request: ChatRequest) -> None:
        before = len(simulator.requests)
        try:
            _send(spec, simulator, request)
        except UnsupportedCapabilityError as exc:
            raise AssertionError(f"drawn within the claimed capabilities, yet refused: {exc}") from exc
        except InvalidRequestError:
            assert len(simulator.requests) == before, "refused, but only after sending"
            return
        (received,) = simulator.requests[before:]
        oracle(alias, received.json())

    accepted_or_refused()


def test_the_property_fails_on_what_the_simulator_or_the_sdk_refuses(simulators: dict[str, Simulator]) -> None:
    """The oracles are only as good as their failures: a refused request raises, an unknown field or type fails."""
    from allos.errors import NotFoundError

    simulator = _simulator(simulators, "groq")
    request = ChatRequest(model="allos-no-such-model", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(NotFoundError):
        _send(dataclasses.replace(get_spec("groq"), default_model=request.model), simulator, request)
    with pytest.raises(pydantic.ValidationError):
        _chat_completions_sdk("groq", {"model": "m", "messages": [{"role": "user", "content": 5}]})
    with pytest.raises(AssertionError):
        _chat_completions_sdk("groq", {"model": "m", "messages": [], "allos_unknown_field": 1})
