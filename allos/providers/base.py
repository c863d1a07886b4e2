"""The Provider: a protocol's pure functions + a transport + a registry row. It only moves bytes.

Every public call does the same four steps: validate the canonical request (typed errors naming the provider and the
field), refuse what the alias does not claim to support (`UnsupportedCapabilityError`, nothing sent), let the
protocol module build the body, and hand the bytes to the transport; the answer goes back through the protocol's
parser. Errors leaving a Provider are scrubbed of every secret it holds.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypedDict

import httpx
from pydantic import ValidationError

from allos._version import __version__
from allos.capabilities import Capability
from allos.errors import (
    APIConnectionError,
    ConfigurationError,
    IncompleteStreamError,
    InvalidRequestError,
    ModelLimitError,
    ProviderError,
    UnsupportedCapabilityError,
    scrubbed,
)
from allos.profiles import ModelProfile, Prices, estimate_cost, resolve_capabilities, resolve_profile
from allos.protocols._read import Answer, guarded
from allos.transport import DEFAULT_MAX_RETRIES, TimeoutTypes, Transport
from allos.types import (
    ChatRequest,
    ChatResponse,
    ImagePart,
    Message,
    NamedToolChoice,
    ResponseFormat,
    StreamEnd,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    ToolCallDone,
    ToolChoice,
    ToolSpec,
    Usage,
    UsageUpdate,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from allos._sentinel import NotGiven
    from allos.providers.registry import ProviderSpec

__all__ = ["ChatOptions", "Provider", "events_from_response", "required_capabilities"]

MessageLike = Message | Mapping[str, Any]


class ChatOptions(TypedDict, total=False):
    """The keyword options of `chat`, `achat`, `stream` and `astream`."""

    tools: Sequence[ToolSpec | Mapping[str, Any]]
    tool_choice: ToolChoice | Mapping[str, str] | None
    parallel_tool_calls: bool | None
    max_tokens: int | None
    temperature: float | None
    top_p: float | None
    stop: str | Sequence[str]
    response_format: ResponseFormat | Mapping[str, Any] | None
    seed: int | None
    model: str
    previous_response_id: str | None
    extra_body: Mapping[str, Any]
    extra_headers: Mapping[str, str]


class StreamDecoder(Protocol):
    def feed(self, chunk: bytes) -> list[StreamEvent]: ...
    def finish(self) -> list[StreamEvent]: ...
    def partial(self) -> ChatResponse: ...


def required_capabilities(request: ChatRequest) -> set[Capability]:
    """What a request needs from an alias, read off the request alone.

    >>> sorted(required_capabilities(ChatRequest(model="m", messages=[{"role": "user", "content": "hi"}], stop="x")))
    [<Capability.CHAT: 'chat'>, <Capability.STOP_SEQUENCES: 'stop_sequences'>]
    """
    needed = {Capability.CHAT} | _tool_needs(request)
    if request.stream:
        needed.add(Capability.STREAMING)
    if request.stop:
        needed.add(Capability.STOP_SEQUENCES)
    if request.response_format is not None and request.response_format.type in _FORMAT_NEEDS:
        needed.add(_FORMAT_NEEDS[request.response_format.type])
    for message in request.messages:
        if message.tool_calls or message.role == "tool":
            needed.add(Capability.TOOL_RESULT)
        if isinstance(message.content, tuple) and any(isinstance(p, ImagePart) for p in message.content):
            needed.add(Capability.IMAGE_INPUT)
    return needed


_FORMAT_NEEDS = {"json_object": Capability.JSON_MODE, "json_schema": Capability.STRUCTURED_OUTPUT}
_CHOICE_NEEDS = {"none": Capability.TOOL_CHOICE_NONE, "required": Capability.TOOL_CHOICE_REQUIRED}


def _tool_needs(request: ChatRequest) -> set[Capability]:
    needed = set()
    if request.tools:
        needed.add(Capability.TOOLS)
        if request.stream:
            needed.add(Capability.STREAMING_TOOL_CALLS)
    choice = request.tool_choice
    if isinstance(choice, NamedToolChoice):
        needed.add(Capability.TOOL_CHOICE_NAMED)
    elif choice in _CHOICE_NEEDS:
        needed.add(_CHOICE_NEEDS[choice])
    if request.parallel_tool_calls is not None:
        needed.add(Capability.PARALLEL_TOOL_CALLS)
    return needed


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors()[:5]:
        where = ".".join(str(part) for part in error["loc"]) or "request"
        problems.append(f"{where}: {error['msg']}")
    return "invalid request: " + "; ".join(problems)


def _is_whole_answer(response: httpx.Response) -> bool:
    content_type: str = response.headers.get("content-type", "")
    return content_type.startswith("application/json")


def events_from_response(response: ChatResponse) -> list[StreamEvent]:
    """The events a stream of `response` would have produced, for servers that answer a stream request whole.

    >>> [e.type for e in events_from_response(ChatResponse(provider="p", text="hi", finish_reason="stop"))]
    ['text_delta', 'usage', 'stream_end']
    """
    events: list[StreamEvent] = [TextDelta(text=response.text)] if response.text else []
    for index, call in enumerate(response.tool_calls):
        events.append(ToolCallDelta(index=index, id=call.id, name=call.name, arguments_delta=call.arguments_json()))
        events.append(ToolCallDone(index=index, tool_call=call))
    events.append(UsageUpdate(usage=response.usage))
    events.append(StreamEnd(response=response))
    return events


@contextmanager
def _stream_failures(provider: str, response: httpx.Response, decoder: StreamDecoder) -> Iterator[None]:
    """A cut connection becomes IncompleteStreamError with what arrived; an error event inside the 200 stream gets
    the request id of the response it came in."""
    try:
        yield
    except APIConnectionError as exc:
        partial = guarded(provider, "the stream so far", decoder.partial)
        message = f"the stream was cut off: {exc.message}"
        raise IncompleteStreamError(message, provider=provider, partial=partial) from exc
    except ProviderError as exc:
        if exc.request_id is None:
            exc.request_id = response.headers.get("x-request-id") or response.headers.get("request-id")
        raise


def _priced(response: ChatResponse, prices: Prices | None) -> ChatResponse:
    """The answer with an estimated cost, where the profile has prices and the answer counted tokens but carries no
    billed cost."""
    usage = response.usage
    if prices is None or usage.cost is not None or not (usage.input_tokens or usage.output_tokens):
        return response
    return response.model_copy(update={"usage": _priced_usage(usage, prices)})


def _priced_usage(usage: Usage, prices: Prices) -> Usage:
    if usage.cost is not None or not (usage.input_tokens or usage.output_tokens):
        return usage
    return usage.model_copy(update={"cost": estimate_cost(usage, prices)})


def _priced_event(event: StreamEvent, prices: Prices) -> StreamEvent:
    if isinstance(event, UsageUpdate):
        return UsageUpdate(usage=_priced_usage(event.usage, prices))
    if isinstance(event, StreamEnd):
        return StreamEnd(response=_priced(event.response, prices))
    return event


def _priced_events(events: Iterator[StreamEvent], prices: Prices) -> Iterator[StreamEvent]:
    try:
        for event in events:
            yield _priced_event(event, prices)
    finally:  # an abandoned stream releases its connection now, as it does unwrapped
        close = getattr(events, "close", None)
        if close is not None:
            close()


async def _apriced_events(events: AsyncIterator[StreamEvent], prices: Prices) -> AsyncIterator[StreamEvent]:
    try:
        async for event in events:
            yield _priced_event(event, prices)
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()


class Provider:
    """Base of every protocol's provider. Subclasses bind the protocol's pure functions and its path."""

    protocol: ClassVar[str]
    path: ClassVar[str]
    # The protocol's quirks dataclass, and the reference quirks used when the row gives none.
    quirks_type: ClassVar[type[Any]]
    default_quirks: ClassVar[Any]
    # What a streaming request asks for: SSE for most protocols, NDJSON for Ollama.
    stream_accept: ClassVar[str] = "text/event-stream"

    def __init__(
        self,
        spec: ProviderSpec,
        *,
        model: str,
        base_url: str,
        api_key: str | None,
        headers: Mapping[str, str] | None = None,
        secret_headers: Sequence[str] = (),
        timeout: TimeoutTypes | NotGiven,
        max_retries: int = DEFAULT_MAX_RETRIES,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        profile: ModelProfile | None = None,
        capabilities: frozenset[Capability] | None = None,
    ) -> None:
        quirks = spec.quirks if spec.quirks is not None else self.default_quirks
        if not isinstance(quirks, self.quirks_type):
            raise ConfigurationError(
                f"the row's quirks are {type(quirks).__name__};"
                f" a {self.protocol} alias needs {self.quirks_type.__name__}",
                provider=spec.name,
            )
        self._quirks: Any = quirks
        self.spec = spec
        self.model = model
        #: The model's profile (limits, prices, reasoning options), or None when the model is unprofiled.
        self.profile = profile
        # An explicit set (get_provider's `capabilities=`) is used as given, for every model.
        self._explicit = capabilities
        #: What this provider claims for its model: the row's claims adjusted by the profile, or the explicit set.
        self.capabilities = capabilities if capabilities is not None else self._resolved(model, profile)
        self.base_url = base_url.rstrip("/")
        all_headers = {**self._auth_headers(api_key), **(headers or {})}
        # Every value that must never leave memory: the key and secret headers (with and without a "Bearer " prefix).
        secrets = [api_key or ""]
        for name in secret_headers:
            value = all_headers.get(name, "")
            secrets += [value, value.split(" ", 1)[-1]]
        self._secrets = tuple(s for s in secrets if s)
        self._transport = Transport(
            provider=spec.name,
            base_url=self.base_url,
            headers={**self._default_headers(), **all_headers},
            error_factory=self._error,
            timeout=timeout,
            max_retries=max_retries,
            http_client=http_client,
            async_http_client=async_http_client,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.spec.name!r}, model={self.model!r}, base_url={self.base_url!r})"

    # --- what a protocol subclass provides ---------------------------------------------------------------------

    def _auth_headers(self, api_key: str | None) -> dict[str, str]:
        if not api_key:
            return {}
        value = f"{self.spec.auth_scheme} {api_key}" if self.spec.auth_scheme else api_key
        return {self.spec.auth_header: value}

    def _default_headers(self) -> dict[str, str]:
        return {"content-type": "application/json", "accept": "application/json", "user-agent": f"allos/{__version__}"}

    def _build(self, request: ChatRequest) -> dict[str, Any]:
        raise NotImplementedError

    def _parse(self, body: Any) -> ChatResponse:
        raise NotImplementedError

    def _decoder(self) -> StreamDecoder:
        raise NotImplementedError

    def _error(self, status_code: int, text: str, headers: Mapping[str, str]) -> ProviderError:
        raise NotImplementedError

    # --- shared steps ----------------------------------------------------------------------------------------------

    def _prepare(
        self, messages: Sequence[MessageLike], options: ChatOptions, *, stream: bool
    ) -> tuple[bytes, dict[str, str], Prices | None]:
        fields: dict[str, Any] = dict(options)
        headers = dict(fields.pop("extra_headers", None) or {})
        if stream:
            headers["accept"] = self.stream_accept
            if self.spec.closes_after_stream:
                headers["connection"] = "close"
        fields["model"] = fields.get("model") or self.model
        try:
            request = ChatRequest(messages=messages, stream=stream, **fields)
        except ValidationError as exc:  # also an unknown option: ChatRequest forbids extra fields
            raise InvalidRequestError(_describe(exc), provider=self.spec.name) from None
        profile = self._profile_for(request.model)
        self._check_capabilities(request, profile)
        self._check_limits(request, profile)
        with scrubbed(self._secrets):
            return self._encode(self._build(request)), headers, profile.prices if profile else None

    def _profile_for(self, model: str) -> ModelProfile | None:
        """The profile of the model a request names (another than the provider's when `model=` is given)."""
        return self.profile if model == self.model else resolve_profile(self.spec.name, model)

    def _capabilities_for(self, model: str, profile: ModelProfile | None) -> frozenset[Capability]:
        if model == self.model:
            return self.capabilities
        return self._explicit if self._explicit is not None else self._resolved(model, profile)

    def _resolved(self, model: str, profile: ModelProfile | None) -> frozenset[Capability]:
        # The default model's claims are the row's, checked by the conformance matrix: its profile only removes.
        return resolve_capabilities(self.spec.capabilities, profile, grant=model != self.spec.default_model)

    def _check_capabilities(self, request: ChatRequest, profile: ModelProfile | None = None) -> None:
        missing = sorted(required_capabilities(request) - self._capabilities_for(request.model, profile))
        if missing:
            names = ", ".join(str(c) for c in missing)
            by_model = profile is not None and self._explicit is None and missing[0] in self.spec.capabilities
            raise UnsupportedCapabilityError(
                f"{request.model} does not support {names} (its model profile)"
                if by_model
                else f"this alias does not support {names}",
                provider=self.spec.name,
                capability=str(missing[0]),
                hint="see docs/guides/models.md and allos.profiles.resolve_profile()"
                if by_model
                else "see the provider table in docs/providers/ or allos.list_providers()",
            )

    def _check_limits(self, request: ChatRequest, profile: ModelProfile | None) -> None:
        limit = profile.output_limit if profile is not None else None
        if limit is None or request.max_tokens is None or request.max_tokens <= limit:
            return
        raise ModelLimitError(
            f"max_tokens {request.max_tokens} is above the output limit of {request.model} on {self.spec.name}:"
            f" {limit} tokens",
            provider=self.spec.name,
            model=request.model,
            field="max_tokens",
            requested=request.max_tokens,
            limit=limit,
            hint=f"pass max_tokens={limit} or less",
        )

    def _encode(self, body: dict[str, Any]) -> bytes:
        try:
            return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
        except ValueError as exc:  # NaN or infinity somewhere in the arguments or schemas
            raise InvalidRequestError(f"the request is not valid JSON: {exc}", provider=self.spec.name) from None

    def _decode(self, response: httpx.Response) -> ChatResponse:
        """A whole JSON answer -> ChatResponse; every shape the protocol does not promise is a ResponseParseError."""
        what = f"{self.path} answer"
        body = Answer(self.spec.name, what).loads(response.content)
        return guarded(self.spec.name, what, self._parse, body)

    def _decoded(self, decoder: StreamDecoder, chunk: bytes | None) -> list[StreamEvent]:
        """The events of one chunk (None: the end of the stream), under the same guard as `_decode`."""
        what = f"{self.path} stream"
        if chunk is None:
            return guarded(self.spec.name, what, decoder.finish)
        return guarded(self.spec.name, what, decoder.feed, chunk)

    # --- public calls ----------------------------------------------------------------------------------------------

    def payload(
        self, messages: Sequence[MessageLike], *, stream: bool = False, **options: Unpack[ChatOptions]
    ) -> dict[str, Any]:
        """The JSON body `chat` would send for these arguments, without sending it (for inspection and snapshots).

        >>> from allos import get_provider
        >>> get_provider("mistral", api_key="example-key-123").payload([{"role": "user", "content": "hi"}])
        {'model': 'mistral-small-latest', 'messages': [{'role': 'user', 'content': 'hi'}]}
        """
        body, _, _ = self._prepare(messages, options, stream=stream)
        result: dict[str, Any] = json.loads(body)
        return result

    def chat(self, messages: Sequence[MessageLike], **options: Unpack[ChatOptions]) -> ChatResponse:
        """One answer for `messages`.

        `options`: tools, tool_choice ("auto" | "none" | "required" | {"name": ...}), parallel_tool_calls,
        max_tokens, temperature, top_p, stop, response_format, seed, model (overrides the provider's),
        previous_response_id (protocols with stored conversations only), extra_body (merged into the JSON body
        as is), extra_headers.
        """
        body, headers, prices = self._prepare(messages, options, stream=False)
        with scrubbed(self._secrets):
            return _priced(self._decode(self._transport.post(self.path, body, headers)), prices)

    async def achat(self, messages: Sequence[MessageLike], **options: Unpack[ChatOptions]) -> ChatResponse:
        """The async twin of `chat`."""
        body, headers, prices = self._prepare(messages, options, stream=False)
        with scrubbed(self._secrets):
            return _priced(self._decode(await self._transport.apost(self.path, body, headers)), prices)

    def stream(self, messages: Sequence[MessageLike], **options: Unpack[ChatOptions]) -> Iterator[StreamEvent]:
        """Events as they arrive; the last one is `StreamEnd(response=...)`. The request is checked before this
        returns, so a bad request fails here, not at the first iteration."""
        body, headers, prices = self._prepare(messages, options, stream=True)
        events = self._stream(body, headers)
        return events if prices is None else _priced_events(events, prices)

    def astream(self, messages: Sequence[MessageLike], **options: Unpack[ChatOptions]) -> AsyncIterator[StreamEvent]:
        """The async twin of `stream`."""
        body, headers, prices = self._prepare(messages, options, stream=True)
        events = self._astream(body, headers)
        return events if prices is None else _apriced_events(events, prices)

    def _stream(self, body: bytes, headers: dict[str, str]) -> Iterator[StreamEvent]:
        with scrubbed(self._secrets), self._transport.stream(self.path, body, headers) as response:
            if _is_whole_answer(response):  # a server that ignored `stream`: one JSON answer
                self._transport._read(response)
                yield from events_from_response(self._decode(response))
                return
            decoder = self._decoder()
            with _stream_failures(self.spec.name, response, decoder):
                for chunk in self._transport.iter_bytes(response):
                    yield from self._decoded(decoder, chunk)
                yield from self._decoded(decoder, None)

    async def _astream(self, body: bytes, headers: dict[str, str]) -> AsyncIterator[StreamEvent]:
        with scrubbed(self._secrets):
            async with self._transport.astream(self.path, body, headers) as response:
                if _is_whole_answer(response):
                    await self._transport._aread(response)
                    for event in events_from_response(self._decode(response)):
                        yield event
                    return
                decoder = self._decoder()
                with _stream_failures(self.spec.name, response, decoder):
                    async for chunk in self._transport.aiter_bytes(response):
                        for event in self._decoded(decoder, chunk):
                            yield event
                    for event in self._decoded(decoder, None):
                        yield event

    # --- lifecycle ---------------------------------------------------------------------------------------------------

    def close(self) -> None:
        self._transport.close()

    async def aclose(self) -> None:
        await self._transport.aclose()

    def __enter__(self) -> Provider:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> Provider:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
