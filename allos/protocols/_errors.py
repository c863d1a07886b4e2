"""Reading an error body of any shape the ecosystem sends, and turning it into the right `ProviderError`.

Shapes (each with its public source in brackets):
- OpenAI and most compatible servers: `{"error": {"message", "type", "param", "code"}}` [openai-openapi ErrorResponse]
- Anthropic: `{"type": "error", "error": {"type", "message"}, "request_id"}` [anthropic docs, errors]
- Mistral and vLLM before 0.10.1: flat `{"object": "error", "message", "type", "code"}` [magentic#276, vllm#22099]
- Gemini's OpenAI-compatible endpoint: a JSON *array* `[{"error": {"code", "message", "status"}}]` [PromptFuzz#42]
- Ollama: `{"error": "<message>"}` [ollama docs/api/errors.mdx]
- OpenRouter: `{"error": {"code": <number>, "message", "metadata"}}` [openrouter.ai/docs/errors]
- FastAPI-style servers: `{"detail": "..." | [...]}`; and bodies that are not JSON at all (proxies, HTML pages).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NamedTuple

from allos import _json
from allos._retry import parse_retry_after
from allos.errors import ProviderError, make_status_error

__all__ = ["ErrorDetails", "error_from_response", "parse_error_body"]

_MAX_MESSAGE = 500
# Error `type`/`code` words that name a class of failure, for errors that arrive inside a 200 stream.
_TYPE_STATUS: dict[str, int] = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "invalid_api_key": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "model_not_found": 404,
    "rate_limit_error": 429,
    "rate_limit_exceeded": 429,
    "insufficient_quota": 429,
    "api_error": 500,
    "server_error": 500,
    "server_is_overloaded": 503,
    "overloaded_error": 529,
}


class ErrorDetails(NamedTuple):
    message: str
    error_type: str | None = None
    code: str | None = None
    request_id: str | None = None


def _text(value: Any) -> str | None:
    # A type or code is a short word; anything else a server puts there is cut to a short repr.
    if value is None or isinstance(value, (str, int)):
        return None if value is None else str(value)[:_MAX_MESSAGE]
    return repr(value)[:80]


def _from_mapping(data: Mapping[str, Any]) -> ErrorDetails | None:
    inner = data.get("error")
    request_id = _text(data.get("request_id"))
    if isinstance(inner, Mapping):
        message = inner.get("message") or inner.get("msg") or json.dumps(inner)[:_MAX_MESSAGE]
        error_type = inner.get("type") or inner.get("status")
        return ErrorDetails(str(message), _text(error_type), _text(inner.get("code")), request_id)
    if isinstance(inner, str):
        return ErrorDetails(inner, _text(data.get("type")), _text(data.get("code")), request_id)
    if "message" in data:
        return ErrorDetails(str(data["message"]), _text(data.get("type")), _text(data.get("code")), request_id)
    if "detail" in data:
        detail = data["detail"]
        return ErrorDetails(detail if isinstance(detail, str) else json.dumps(detail)[:_MAX_MESSAGE])
    return None


def parse_error_body(text: str) -> ErrorDetails:
    """The message, type and code from an error body, whatever its shape.

    >>> parse_error_body('{"error": {"message": "Invalid API Key", "type": "invalid_request_error"}}').message
    'Invalid API Key'
    """
    try:
        data = _json.loads(text) if text else None
    except ValueError:  # not JSON, or nested deeper than _json.MAX_DEPTH: the text itself is the message
        data = None
    if isinstance(data, list) and data and isinstance(data[0], Mapping):
        data = data[0]
    if isinstance(data, Mapping):
        details = _from_mapping(data)
        if details is not None:
            return details
    snippet = " ".join(text.split())[:_MAX_MESSAGE]
    return ErrorDetails(snippet or "(empty body)")


def error_from_response(
    provider: str, status_code: int, text: str, headers: Mapping[str, str], *, key_env: str | None = None
) -> ProviderError:
    """An error answer over HTTP -> the right ProviderError, with the request id and retry hint it carried."""
    details = parse_error_body(text)
    request_id = details.request_id or headers.get("x-request-id") or headers.get("request-id")
    return make_status_error(
        provider,
        status_code,
        details.message,
        error_type=details.error_type,
        code=details.code,
        request_id=request_id,
        body=text[:4096],
        retry_after=parse_retry_after(headers),
        key_env=key_env,
    )


def error_from_payload(provider: str, payload: Mapping[str, Any], *, key_env: str | None = None) -> ProviderError:
    """An error sent inside a 200 stream or body -> a ProviderError of the class its type or code names."""
    details = _from_mapping(payload) or ErrorDetails(json.dumps(payload)[:_MAX_MESSAGE])
    inner = payload.get("error")
    numeric = inner.get("code") if isinstance(inner, Mapping) else None
    if isinstance(numeric, int) and 400 <= numeric < 600:
        status = numeric  # OpenRouter puts the HTTP status in `code`
    else:
        status = _TYPE_STATUS.get(details.error_type or "", _TYPE_STATUS.get(details.code or "", 500))
    error = make_status_error(
        provider,
        status,
        details.message,
        error_type=details.error_type,
        code=details.code,
        request_id=details.request_id,
        body=json.dumps(payload)[:4096],
        key_env=key_env,
    )
    error.status_code = None  # the HTTP status was 200: the class says what failed, not a status
    return error
