"""The OpenAI Responses contract as data: the refusal rules of `POST /v1/responses`, each with its source, and the
`openai` alias row. Written from OpenAI's own documentation, the official SDK's generated types and the answers
OpenAI gives as public issues quote them, never from Allos's registry or adapters (DESIGN.md, independence rule).

Short forms of sources: [OAS] the OpenAI OpenAPI spec (`CreateResponse`, `Response`, `ResponseStreamEvent`),
[oai-py] the official Python SDK's types (`openai/types/responses/*.py`), `owner/repo#N` a public issue or pull
request that quotes OpenAI's answer. "(simulator text)" marks a message whose wording is not sourced: its status and
body shape are, its words are ours.

A `Rule` looks at an `Incoming` request (the body, the headers and the conversation the server holds under
`previous_response_id`) and returns a `Refusal` or nothing; `violate` builds a request that breaks the rule and no
rule before it, so the tests prove every rule over HTTP.
"""

from __future__ import annotations

import copy
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from conformance.simulators import _names
from conformance.simulators._ids import derive, hex_id
from conformance.simulators.chat_completions_aliases import OPENAI_AUTH
from conformance.simulators.chat_completions_rules import OPENAI_ERRORS, Auth, ErrorShape, Refusal

__all__ = [
    "LLAMACPP_RESPONSES",
    "OPENAI_RESPONSES",
    "RESPONSES_ALIASES",
    "RESPONSE_FIELDS",
    "Incoming",
    "ResponsesAlias",
    "Rule",
    "StoredResponse",
    "input_items",
    "item_kind",
]

# --- what a rule looks at -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredResponse:
    """A response the server keeps (`store`, default true [OAS CreateResponse.store]): the whole conversation up
    to and including its output items, and the response object itself (for `GET /responses/{id}`)."""

    items: tuple[Mapping[str, Any], ...]
    body: Mapping[str, Any]


def input_items(body: Mapping[str, Any]) -> list[Any]:
    """The `input` as a list of items: a string is one user message [OAS InputParam]."""
    raw = body.get("input")
    if isinstance(raw, str):
        return [{"type": "message", "role": "user", "content": raw}]
    return list(raw) if isinstance(raw, list) else []


def item_kind(item: Any) -> str | None:
    """An item's type; an easy message may omit `type` [oai-py EasyInputMessageParam: type optional]."""
    if not isinstance(item, Mapping):
        return None
    kind = item.get("type")
    if kind is None and "role" in item:
        return "message"
    return str(kind) if kind is not None else None


@dataclass(frozen=True)
class Incoming:
    """A parsed request: the JSON body (an object), the lower-cased headers, the alias row, and the responses the
    server has stored so far (a snapshot)."""

    body: Mapping[str, Any]
    headers: Mapping[str, str]
    row: ResponsesAlias
    stored: Mapping[str, StoredResponse] = field(default_factory=dict)

    @property
    def model(self) -> str:
        return str(self.body.get("model") or "")

    @property
    def items(self) -> list[Any]:
        return input_items(self.body)

    @property
    def history(self) -> tuple[Mapping[str, Any], ...]:
        """The stored conversation of `previous_response_id` (nothing when absent or unknown)."""
        previous = self.body.get("previous_response_id")
        stored = self.stored.get(previous) if isinstance(previous, str) else None
        return stored.items if stored is not None else ()


class Rule(ABC):
    """One refusal OpenAI is documented to make. Subclasses are frozen dataclasses with a `source`."""

    source: str

    @property
    def name(self) -> str:
        return type(self).__name__

    @abstractmethod
    def check(self, incoming: Incoming) -> Refusal | None: ...

    @abstractmethod
    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        """A copy of a valid request `body` (a tool round trip: user message, function_call, function_call_output,
        with a function tool) that breaks this rule and no rule before it."""


def _copy(body: Mapping[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(dict(body))


def _invalid(message: str, param: str | None, code: str | None) -> Refusal:
    return Refusal(400, message, "invalid_request_error", code, param)


def _missing(param: str) -> Refusal:
    # "Missing required parameter: 'text.format.name'." type invalid_request_error, code missing_required_parameter
    # [openai/openai-node PR #1404 quotes OpenAI's 400].
    return _invalid(f"Missing required parameter: '{param}'.", param, "missing_required_parameter")


def _unknown(param: str) -> Refusal:
    # "Unknown parameter: 'input[3].status'." code unknown_parameter, param = the path [1jehuang/jcode#1028];
    # top level: "Unknown parameter: 'parent_id'." [cogwheel0/conduit#258], 'stop' [openJiuwen-ai/agent-core#768].
    return _invalid(f"Unknown parameter: '{param}'.", param, "unknown_parameter")


# --- the fields of a request ------------------------------------------------------------------------------------------

# Every top-level field of `ResponseCreateParams` [oai-py types/responses/response_create_params.py:
# ResponseCreateParamsBase, plus `stream` of the (Non)Streaming variants]. `stop`, `seed`, `max_tokens`,
# `response_format`, `messages` are not among them: CreateResponse has no such fields [OAS].
RESPONSE_FIELDS: Final = frozenset(
    {
        "access_programs", "background", "background_options", "context_management", "conversation", "image",
        "include", "input", "instructions", "max_output_tokens", "max_tool_calls", "metadata", "model",
        "moderation", "parallel_tool_calls", "previous_response_id", "prompt", "prompt_cache_key",
        "prompt_cache_options", "prompt_cache_retention", "reasoning", "safety_identifier", "service_tier",
        "store", "stream", "stream_options", "temperature", "text", "tool_choice", "tools", "top_logprobs",
        "top_p", "truncation", "user",
    }
)  # fmt: skip

# The fields of the input items the simulator reads, per kind [oai-py EasyInputMessageParam, response_input_param
# .Message, ResponseOutputMessageParam (message); ResponseFunctionToolCallParam (function_call);
# response_input_param.FunctionCallOutput (function_call_output)]. Other kinds are not checked.
ITEM_FIELDS: Final[Mapping[str, frozenset[str]]] = {
    "message": frozenset({"type", "role", "content", "id", "status", "phase"}),
    "function_call": frozenset(
        {"type", "call_id", "name", "arguments", "id", "status", "async", "caller", "namespace"}
    ),
    "function_call_output": frozenset({"type", "call_id", "output", "id", "status", "caller", "name", "namespace"}),
}

# Item ids must be the server's own: "Expected an ID that begins with 'fc'" [Wei-Shaw/sub2api#3785,
# nodetool-ai/nodetool PR #4252]; 'msg' for messages [langchain-ai/langchain PR #39116].
ITEM_ID_PREFIXES: Final[Mapping[str, str]] = {"function_call": "fc", "message": "msg"}

_TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]+")
MAX_CALL_ID: Final = 64


# --- the rules ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequiredModel(Rule):
    """`model` is required."""

    source: str = "OpenAI missing_required_parameter answer [openai/openai-node PR #1404]; [OAS] CreateResponse.model"

    def check(self, incoming: Incoming) -> Refusal | None:
        return _missing("model") if incoming.body.get("model") in (None, "") else None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        bad = _copy(body)
        del bad["model"]
        return bad


@dataclass(frozen=True)
class KnownFields(Rule):
    """Top-level fields outside `ResponseCreateParams` are refused: `stop` ("no such field"), `max_tokens`,
    `response_format`, `messages` (the Chat Completions names) among them."""

    fields: frozenset[str] = RESPONSE_FIELDS
    source: str = (
        "[oai-py] ResponseCreateParams fields; openJiuwen-ai/agent-core#768 (400 Unknown parameter: 'stop'),"
        " cogwheel0/conduit#258 (code unknown_parameter)"
    )

    def check(self, incoming: Incoming) -> Refusal | None:
        for name in incoming.body:
            if name not in self.fields:
                return _unknown(name)
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        return {**_copy(body), "stop": ["END"]}


@dataclass(frozen=True)
class KnownModel(Rule):
    """A model OpenAI does not serve: 404 `model_not_found`."""

    source: str = "Shopify/roast#13 (404 'The model ... does not exist or you do not have access to it')"

    def check(self, incoming: Incoming) -> Refusal | None:
        if incoming.row.accepts_model(incoming.model):
            return None
        return Refusal(
            404,
            f"The model `{incoming.model}` does not exist or you do not have access to it.",
            "invalid_request_error",
            "model_not_found",
        )

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        return {**_copy(body), "model": "sim-no-such-model"}


@dataclass(frozen=True)
class MaxOutputTokensMinimum(Rule):
    """`max_output_tokens` is at least 16."""

    minimum: int = 16
    source: str = (
        "[OAS] CreateResponse.max_output_tokens minimum 16; answer quoted in vectorize-io/hindsight#58"
        " (integer_below_min_value)"
    )

    def check(self, incoming: Incoming) -> Refusal | None:
        value = incoming.body.get("max_output_tokens")
        if isinstance(value, int) and not isinstance(value, bool) and value < self.minimum:
            return _invalid(
                f"Invalid 'max_output_tokens': integer below minimum value. Expected a value >= {self.minimum},"
                f" but got {value} instead.",
                "max_output_tokens",
                "integer_below_min_value",
            )
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        return {**_copy(body), "max_output_tokens": 10}


@dataclass(frozen=True)
class DefaultSamplingOnly(Rule):
    """Reasoning models take only the default `temperature` and `top_p` (1); any other value is refused. The
    wording is the live answer on Chat Completions (the same models, the same check)."""

    models: Collection[str] = _names.OPENAI_REASONING.family("o4-mini", "gpt-5")
    source: str = _names.OPENAI_REASONING.source + " (reasoning models: only the default sampling)"

    def check(self, incoming: Incoming) -> Refusal | None:
        if incoming.model not in self.models:
            return None
        for name in ("temperature", "top_p"):
            value = incoming.body.get(name)
            if value is not None and value != 1:
                return _invalid(
                    f"Unsupported value: '{name}' does not support {value} with this model. Only the default (1)"
                    " value is supported.",
                    name,
                    "unsupported_value",
                )
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        return {**_copy(body), "model": sorted(self.models)[0], "temperature": 0.5}


def _tools(body: Mapping[str, Any]) -> list[tuple[int, Mapping[str, Any]]]:
    raw = body.get("tools")
    return [(i, t) for i, t in enumerate(raw) if isinstance(t, Mapping)] if isinstance(raw, list) else []


@dataclass(frozen=True)
class FunctionToolShape(Rule):
    """A function tool is internally tagged: `{type: "function", name, parameters, strict, ...}`; a Chat
    Completions tool (`{type, function: {...}}`) lacks `name` and is refused."""

    source: str = (
        "[oai-py] function_tool_param.py (name required, flat); [OAS] FunctionTool; missing_required_parameter"
        " wording [openai/openai-node PR #1404]"
    )

    def check(self, incoming: Incoming) -> Refusal | None:
        for index, tool in _tools(incoming.body):
            if tool.get("type") == "function" and not tool.get("name"):
                return _missing(f"tools[{index}].name")
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        bad = _copy(body)
        tool = bad["tools"][0]
        bad["tools"][0] = {"type": "function", "function": {k: v for k, v in tool.items() if k != "type"}}
        return bad


@dataclass(frozen=True)
class ToolNames(Rule):
    """Function names match `^[a-zA-Z0-9_-]+$`."""

    source: str = (
        "justrach/codegraff#930, openai/openai-dotnet#441, openai/codex PR #8694: Invalid 'tools[N].name': string"
        " does not match pattern"
    )

    def check(self, incoming: Incoming) -> Refusal | None:
        for index, tool in _tools(incoming.body):
            name = tool.get("name")
            if tool.get("type") == "function" and isinstance(name, str) and not _TOOL_NAME.fullmatch(name):
                return _invalid(
                    f"Invalid 'tools[{index}].name': string does not match pattern. Expected a string that matches"
                    " the pattern '^[a-zA-Z0-9_-]+$'.",
                    f"tools[{index}].name",
                    "invalid_value",
                )
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        bad = _copy(body)
        bad["tools"][0]["name"] = "not a valid name!"
        return bad


def strict_problem(schema: Any, context: tuple[str, ...] = ()) -> str | None:
    """What makes `schema` unusable in strict mode (every object closed with `additionalProperties: false`, every
    property required), in OpenAI's words; None when it is fine.

    >>> strict_problem({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]})
    "In context=(), 'additionalProperties' is required to be supplied and to be false."
    >>> strict_problem({"type": "object", "properties": {"a": {}}, "additionalProperties": False})
    "In context=(), 'required' is required to be supplied and to be an array including every key in properties.\
 Missing 'a'."
    """
    if not isinstance(schema, Mapping):
        return None
    kind = schema.get("type")
    if kind == "object" or (isinstance(kind, list) and "object" in kind) or "properties" in schema:
        if schema.get("additionalProperties") is not False:
            return f"In context={context!r}, 'additionalProperties' is required to be supplied and to be false."
        properties = schema.get("properties") or {}
        missing = [key for key in properties if key not in (schema.get("required") or [])]
        if missing:
            return (
                f"In context={context!r}, 'required' is required to be supplied and to be an array including every"
                f" key in properties. Missing '{missing[0]}'."
            )
    for sub, where in _subschemas(schema, context):
        found = strict_problem(sub, where)
        if found:
            return found
    return None


def _subschemas(schema: Mapping[str, Any], context: tuple[str, ...]) -> Iterator[tuple[Any, tuple[str, ...]]]:
    """The schemas nested in `schema`, each with its context path (as OpenAI names it in errors)."""
    for key in ("properties", "$defs", "definitions"):
        for name, sub in (schema.get(key) or {}).items():
            yield sub, (*context, key, str(name))
    if isinstance(schema.get("items"), Mapping):
        yield schema["items"], (*context, "items")
    for key in ("anyOf", "oneOf", "allOf"):
        for position, sub in enumerate(schema.get(key) or []):
            yield sub, (*context, key, str(position))


@dataclass(frozen=True)
class StrictSchemas(Rule):
    """With `strict: true`, a function's parameters (and a `json_schema` text format's schema) must be in strict
    form: every object closed with `additionalProperties: false` and every property listed in `required`. Only an
    explicit `true` is checked: what the server does with an omitted `strict` is not documented precisely."""

    source: str = (
        "lastmile-ai/openai-agents-mcp#2 (400 invalid_function_parameters, 'In context=(...), additionalProperties"
        " ...'), nerdai/llm-agents-from-scratch PR #861, spring-projects/spring-ai PR #6865; the text.format"
        " variant uses the function wording with code invalid_json_schema (simulator text)"
    )

    def check(self, incoming: Incoming) -> Refusal | None:
        for index, tool in _tools(incoming.body):
            if tool.get("type") == "function" and tool.get("strict") is True:
                problem = strict_problem(tool.get("parameters"))
                if problem:
                    return _invalid(
                        f"Invalid schema for function '{tool.get('name')}': {problem}",
                        f"tools[{index}].parameters",
                        "invalid_function_parameters",
                    )
        fmt = _text_format(incoming.body)
        if fmt is not None and fmt.get("type") == "json_schema" and fmt.get("strict") is True:
            problem = strict_problem(fmt.get("schema"))
            if problem:
                return _invalid(
                    f"Invalid schema for response_format '{fmt.get('name')}': {problem}",
                    "text.format.schema",
                    "invalid_json_schema",
                )
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        bad = _copy(body)
        bad["tools"][0]["strict"] = True  # the base tool has an optional property and no additionalProperties
        return bad


_TOOL_CHOICES: Final = ("none", "auto", "required")


@dataclass(frozen=True)
class ToolChoiceValues(Rule):
    """`tool_choice` is `none`, `auto`, `required`, or an object such as `{type: "function", name}` (flat)."""

    source: str = (
        "[OAS] ToolChoiceOptions none|auto|required, ToolChoiceFunction {type, name}; invalid_value wording as"
        " Chat Completions answers it"
    )

    def check(self, incoming: Incoming) -> Refusal | None:
        choice = incoming.body.get("tool_choice")
        if choice is None or isinstance(choice, Mapping) or choice in _TOOL_CHOICES:
            return None
        return _invalid(
            f"Invalid value: '{choice}'. Supported values are: 'none', 'auto', and 'required'.",
            "tool_choice",
            "invalid_value",
        )

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        return {**_copy(body), "tool_choice": "any"}


def _text_format(body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    text = body.get("text")
    fmt = text.get("format") if isinstance(text, Mapping) else None
    return fmt if isinstance(fmt, Mapping) else None


@dataclass(frozen=True)
class JsonSchemaFormatName(Rule):
    """A `json_schema` text format needs its `name` (and its `schema`)."""

    source: str = "openai/openai-node PR #1404 (400 Missing required parameter: 'text.format.name'); [OAS]"

    def check(self, incoming: Incoming) -> Refusal | None:
        fmt = _text_format(incoming.body)
        if fmt is None or fmt.get("type") != "json_schema":
            return None
        for key in ("name", "schema"):
            if not fmt.get(key):
                return _missing(f"text.format.{key}")
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        schema = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}
        return {**_copy(body), "text": {"format": {"type": "json_schema", "schema": schema}}}


def _indexed(items: Sequence[Any]) -> Iterator[tuple[int, Mapping[str, Any]]]:
    for index, item in enumerate(items):
        if isinstance(item, Mapping):
            yield index, item


_ROLES: Final = ("assistant", "system", "developer", "user")


@dataclass(frozen=True)
class ItemShapes(Rule):
    """Each input item is well formed: a message has a role OpenAI knows (a Chat Completions `tool` message is
    refused), and the item kinds the simulator reads take only their documented fields."""

    source: str = (
        "[oai-py] EasyInputMessageParam roles user|assistant|system|developer; item fields from the SDK's"
        " *_param.py types; 1jehuang/jcode#1028 (400 Unknown parameter: 'input[3].status'); role wording"
        " (simulator text)"
    )

    def check(self, incoming: Incoming) -> Refusal | None:
        for index, item in _indexed(incoming.items):
            kind = item_kind(item)
            if kind == "message" and item.get("role") not in _ROLES:
                return _invalid(
                    f"Invalid value: '{item.get('role')}'. Supported values are: 'assistant', 'system', 'developer',"
                    " and 'user'.",
                    f"input[{index}].role",
                    "invalid_value",
                )
            allowed = ITEM_FIELDS.get(kind or "", frozenset())
            for name in item if kind in ITEM_FIELDS else ():
                if name not in allowed:
                    return _unknown(f"input[{index}].{name}")
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        bad = _copy(body)
        bad["input"].append({"role": "tool", "tool_call_id": "call_1", "content": "18 degrees"})
        return bad


_USER_PARTS: Final = ("input_text", "input_image", "input_file", "input_audio")
_ASSISTANT_PARTS: Final = ("output_text", "refusal")


@dataclass(frozen=True)
class ContentPartTypes(Rule):
    """Assistant history carries `output_text` / `refusal` parts (or a string); user, system and developer
    messages carry input parts."""

    source: str = (
        "NousResearch/hermes-agent#15687, dev.to/flarecanary (400 Invalid value: 'input_text'. Supported values"
        " are: 'output_text' and 'refusal'.); the user-side wording follows it (simulator text)"
    )

    def check(self, incoming: Incoming) -> Refusal | None:
        for index, item in _indexed(incoming.items):
            content = item.get("content")
            if item_kind(item) != "message" or not isinstance(content, list):
                continue
            assistant = item.get("role") == "assistant"
            allowed = _ASSISTANT_PARTS if assistant else _USER_PARTS
            for position, part in enumerate(content):
                kind = part.get("type") if isinstance(part, Mapping) else None
                if kind not in allowed:
                    supported = (
                        "'output_text' and 'refusal'"
                        if assistant
                        else "'input_text', 'input_image', 'input_file', and 'input_audio'"
                    )
                    return _invalid(
                        f"Invalid value: '{kind}'. Supported values are: {supported}.",
                        f"input[{index}].content[{position}]",
                        "invalid_value",
                    )
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        bad = _copy(body)
        bad["input"][1:1] = [{"role": "assistant", "content": [{"type": "input_text", "text": "Let me check."}]}]
        return bad


@dataclass(frozen=True)
class ItemIdPrefixes(Rule):
    """An item's `id`, when sent, is one the server minted: `fc...` for a function_call, `msg...` for a message."""

    source: str = (
        "Wei-Shaw/sub2api#3785, nodetool-ai/nodetool PR #4252 (400 invalid_value: Expected an ID that begins with"
        " 'fc'); langchain-ai/langchain PR #39116 ('msg')"
    )

    def check(self, incoming: Incoming) -> Refusal | None:
        for index, item in _indexed(incoming.items):
            prefix = ITEM_ID_PREFIXES.get(item_kind(item) or "")
            item_id = item.get("id")
            if prefix is not None and item_id is not None and not str(item_id).startswith(prefix):
                return _invalid(
                    f"Invalid 'input[{index}].id': '{item_id}'. Expected an ID that begins with '{prefix}'.",
                    f"input[{index}].id",
                    "invalid_value",
                )
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        bad = _copy(body)
        call = next(i for i in bad["input"] if i.get("type") == "function_call")
        call["id"] = call["call_id"]  # the call id where the item id belongs
        return bad


@dataclass(frozen=True)
class CallIdLength(Rule):
    """`call_id` is 1 to 64 characters."""

    maximum: int = MAX_CALL_ID
    source: str = (
        "[OAS] FunctionCallOutputItemParam.call_id 1-64; AnswerDotAI/fastllm#45, openai/codex#14355"
        " (400 string_above_max_length)"
    )

    def check(self, incoming: Incoming) -> Refusal | None:
        for index, item in _indexed(incoming.items):
            call_id = item.get("call_id")
            if item_kind(item) in ("function_call", "function_call_output") and isinstance(call_id, str):
                if len(call_id) > self.maximum:
                    return _invalid(
                        f"Invalid 'input[{index}].call_id': string too long. Expected a string with maximum length"
                        f" {self.maximum}, but got a string with length {len(call_id)} instead.",
                        f"input[{index}].call_id",
                        "string_above_max_length",
                    )
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        bad = _copy(body)
        long_id = "call_" + "x" * 70
        for item in bad["input"]:
            if "call_id" in item:
                item["call_id"] = long_id
        return bad


@dataclass(frozen=True)
class PreviousResponseKnown(Rule):
    """`previous_response_id` names a response this server stored (not one made with `store: false`)."""

    source: str = (
        "maximhq/bifrost#2441, bigduu/Bamboo-agent PR #513 (400 invalid_request_error, param previous_response_id,"
        " code previous_response_not_found)"
    )

    def check(self, incoming: Incoming) -> Refusal | None:
        previous = incoming.body.get("previous_response_id")
        if previous is None or (isinstance(previous, str) and previous in incoming.stored):
            return None
        return _invalid(
            f"Previous response with id '{previous}' not found.",
            "previous_response_id",
            "previous_response_not_found",
        )

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        return {**_copy(body), "previous_response_id": "resp_" + "0" * 48}


def _conversation(incoming: Incoming) -> list[tuple[int | None, Mapping[str, Any]]]:
    """The stored history (index None) followed by the input items (their index)."""
    return [(None, item) for item in incoming.history] + list(_indexed(incoming.items))


@dataclass(frozen=True)
class OutputsAnswerCalls(Rule):
    """A `function_call_output` answers a `function_call` earlier in the conversation (the input, or the stored
    history of `previous_response_id`)."""

    source: str = (
        "continuedev/continue#10092, microsoft/vscode#320060 (400 'No tool call found for function call output with"
        " call_id ...', param input, code null)"
    )

    def check(self, incoming: Incoming) -> Refusal | None:
        calls: set[str] = set()
        for index, item in _conversation(incoming):
            kind = item_kind(item)
            if kind == "function_call":
                calls.add(str(item.get("call_id")))
            elif kind == "function_call_output":
                call_id = item.get("call_id")
                if index is not None and not call_id:
                    return _missing(f"input[{index}].call_id")
                if str(call_id) not in calls:
                    return _invalid(
                        f"No tool call found for function call output with call_id {call_id}.", "input", None
                    )
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        bad = _copy(body)
        for item in bad["input"]:
            if item.get("type") == "function_call_output":
                item["call_id"] = "call_answersnothing"
        return bad


@dataclass(frozen=True)
class CallsAnswered(Rule):
    """Every `function_call` in the conversation is answered by a `function_call_output` after it, including the
    calls of the stored previous response."""

    source: str = (
        "router-for-me/CLIProxyAPI#2368, openai/codex#620 (400 'No tool output found for function call ...',"
        " param input, code null)"
    )

    def check(self, incoming: Incoming) -> Refusal | None:
        pending: list[str] = []
        for _, item in _conversation(incoming):
            kind = item_kind(item)
            if kind == "function_call":
                pending.append(str(item.get("call_id")))
            elif kind == "function_call_output":
                pending = [p for p in pending if p != str(item.get("call_id"))]
        if pending:
            return _invalid(f"No tool output found for function call {pending[0]}.", "input", None)
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        bad = _copy(body)
        bad["input"] = [i for i in bad["input"] if i.get("type") != "function_call_output"]
        bad["input"].append({"type": "message", "role": "user", "content": "and now?"})
        return bad


# --- the row ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResponsesAlias:
    """One provider's Responses contract."""

    name: str
    base_url: str
    auth: Auth
    errors: ErrorShape
    rules: tuple[Rule, ...]
    # Known model names -> the dated snapshot the answer names (a snapshot maps to itself).
    models: Mapping[str, str]
    request_id: Callable[[str], str]
    # The answers to the injected 429 / 500 / 503 (and 529) faults.
    rate_limit: Refusal
    server_error: Refusal
    overloaded: Refusal
    # The error inside a 200 stream: (type, code, message) of its `error` object.
    stream_error: tuple[str, str, str]
    request_id_header: str = "x-request-id"
    sources: Mapping[str, str] = field(default_factory=dict)
    # The keys a server writes where it writes fewer than OpenAI: "<event type>:<dotted path>" -> the keys kept there
    # ("" is the JSON body's type). A path not listed keeps every key.
    answer_keys: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # Whether a reply cut by max_output_tokens is answered `incomplete` (OpenAI) or `completed` (llama-server).
    reports_incomplete: bool = True
    # Whether the final stream event carries llama.cpp's `timings` object.
    timings: bool = False

    def shaped(self, kind: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """`payload` with only the keys this server writes (`answer_keys`).

        >>> OPENAI_RESPONSES.shaped("", {"id": "resp_1", "usage": None})
        {'id': 'resp_1', 'usage': None}
        """
        shaped: dict[str, Any] = _pruned(payload, kind, "", self.answer_keys)
        return shaped

    # The other names served: the provider's documented naming (`_names.ModelFamily`), answered under their own name.
    naming: Collection[str] = ()

    def accepts_model(self, model: str) -> bool:
        return model in self.models or model in self.naming

    def snapshot(self, model: str) -> str:
        return self.models.get(model, model)


def _pruned(value: Any, kind: str, path: str, keys: Mapping[str, frozenset[str]]) -> Any:
    if not isinstance(value, Mapping):
        return value
    allowed = keys.get(f"{kind}:{path}")
    return {
        key: _pruned(item, kind, f"{path}.{key}" if path else key, keys)
        for key, item in value.items()
        if allowed is None or key in allowed
    }


def _request_id(seed: str) -> str:
    return "req_" + hex_id(derive(seed, "request"), 32)


# Aliases -> the snapshot named in answers: a request for `gpt-4.1` is answered by "gpt-4.1-2025-04-14" (Response
# examples in OpenAI's reference as clients quote them, e.g. aiengineerguide web-search example).
_SNAPSHOTS: Final = {
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4.1": "gpt-4.1-2025-04-14",
    "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-nano": "gpt-4.1-nano-2025-04-14",
}

OPENAI_RESPONSES: Final = ResponsesAlias(
    name="openai",
    base_url="https://api.openai.com/v1",
    auth=OPENAI_AUTH,
    errors=OPENAI_ERRORS,
    rules=(
        RequiredModel(),
        KnownFields(),
        KnownModel(),
        MaxOutputTokensMinimum(),
        DefaultSamplingOnly(),
        FunctionToolShape(),
        ToolNames(),
        StrictSchemas(),
        ToolChoiceValues(),
        JsonSchemaFormatName(),
        ItemShapes(),
        ContentPartTypes(),
        ItemIdPrefixes(),
        CallIdLength(),
        PreviousResponseKnown(),
        OutputsAnswerCalls(),
        CallsAnswered(),
    ),
    models={**_SNAPSHOTS, **{snapshot: snapshot for snapshot in _SNAPSHOTS.values()}},
    naming=_names.OPENAI.family(*_SNAPSHOTS),
    request_id=_request_id,
    rate_limit=Refusal(
        429, "Rate limit reached for requests. Please try again in 1s.", "requests", "rate_limit_exceeded"
    ),
    server_error=Refusal(
        500, "The server had an error while processing your request. Sorry about that!", "server_error"
    ),
    overloaded=Refusal(503, "The engine is currently overloaded, please try again later.", "server_error"),
    # A 200 stream ending in an `error` event: {"type": "error", "error": {"type": "service_unavailable_error",
    # "code": "server_is_overloaded", "message": ...}} [anomalyco/opencode#25730, XiaomiMiMo/MiMo-Code#2083,
    # editor-code-assistant/eca PR #559].
    stream_error=(
        "service_unavailable_error",
        "server_is_overloaded",
        "Our servers are currently overloaded. Please try again later.",
    ),
    sources={
        "auth": OPENAI_AUTH.source,
        "errors": OPENAI_ERRORS.source,
        "shapes": "[OAS] Response, ResponseUsage, OutputMessage, FunctionToolCall; [oai-py] types/responses",
        "stream": "[OAS] ResponseStreamEvent: named events, type + sequence_number on each, no [DONE]",
        "stream error": "anomalyco/opencode#25730, XiaomiMiMo/MiMo-Code#2083: error event with a nested error;"
        " [oai-py] ResponseErrorEvent: code, message, param at the top level",
        "ids": "resp_/msg_/fc_ + 48 hex, call_ + 24 alphanumerics [vllm-project/vllm PR #24409 quoting OpenAI]",
        "x-request-id": "apidog mirror of the OpenAI docs; openai/openai-node PR #1404 (request_id req_...)",
        "429 / 5xx": "same answers as Chat Completions at OpenAI (no 529 at OpenAI: the 529 fault answers as 503's"
        " body with status 529)",
    },
)

# --- llama.cpp's llama-server ---------------------------------------------------------------------------------------
# Its `POST /v1/responses` [github.com/ggml-org/llama.cpp tools/server/README.md]; the rest measured against
# llama-server built from llama-cpp-python 0.3.36 (llama.cpp commit 0c1e570): no key unless started with --api-key,
# any model name, errors as {"error": {"code": <status>, "message", "type"}} on every endpoint.

LLAMACPP_MEASURED: Final = "measured against llama-server 0.3.36 / llama.cpp commit 0c1e570"


def _llamacpp_error(r: Refusal) -> Any:
    return {"error": {"code": r.status, "message": r.message, "type": r.type}}


LLAMACPP_ERRORS: Final = ErrorShape("llamacpp", _llamacpp_error, f"{LLAMACPP_MEASURED}: error{{code, message, type}}")


@dataclass(frozen=True)
class LlamaInput(Rule):
    """`input` is required and is a string or a list of objects: 400 "'input' is required", "'input' must be a
    string or array of objects" (measured)."""

    source: str = f"{LLAMACPP_MEASURED}: 400 invalid_request_error \"'input' is required\""

    def check(self, incoming: Incoming) -> Refusal | None:
        if "input" not in incoming.body:
            return Refusal(400, "'input' is required")
        value = incoming.body["input"]
        if isinstance(value, str) or (isinstance(value, list) and all(isinstance(i, Mapping) for i in value)):
            return None
        return Refusal(400, "'input' must be a string or array of objects")

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        bad = _copy(body)
        del bad["input"]
        return bad


_LLAMACPP_RESPONSE: Final = frozenset(
    {"completed_at", "created_at", "id", "model", "object", "output", "status", "usage"}
)
_LLAMACPP_USAGE: Final = {
    "usage": frozenset({"input_tokens", "output_tokens", "total_tokens", "input_tokens_details"}),
    "usage.input_tokens_details": frozenset({"cached_tokens"}),
}
# Measured: the response object without OpenAI's echo of the request, usage without cache writes or reasoning
# tokens; stream events without sequence_number / output_index / content_index; in-progress responses as
# {id, object, status}; an empty part as {type, text}.
_LLAMACPP_KEYS: Final[dict[str, frozenset[str]]] = {
    ":": _LLAMACPP_RESPONSE,
    **{f":{path}": keys for path, keys in _LLAMACPP_USAGE.items()},
    "response.created:": frozenset({"type", "response"}),
    "response.created:response": frozenset({"id", "object", "status"}),
    "response.in_progress:": frozenset({"type", "response"}),
    "response.in_progress:response": frozenset({"id", "object", "status"}),
    "response.output_item.added:": frozenset({"type", "item"}),
    "response.content_part.added:": frozenset({"type", "item_id", "part"}),
    "response.content_part.added:part": frozenset({"type", "text"}),
    "response.output_text.delta:": frozenset({"type", "item_id", "delta"}),
    "response.output_text.done:": frozenset({"type", "item_id", "text"}),
    "response.content_part.done:": frozenset({"type", "item_id", "part"}),
    "response.output_item.done:": frozenset({"type", "item"}),
    "response.completed:": frozenset({"type", "response", "timings"}),
    "response.completed:response": _LLAMACPP_RESPONSE - {"completed_at"},
    **{f"response.completed:response.{path}": keys for path, keys in _LLAMACPP_USAGE.items()},
}

LLAMACPP_RESPONSES: Final = ResponsesAlias(
    name="llamacpp-responses",
    base_url="http://127.0.0.1:8080/v1",
    auth=Auth(None, "", None, None, source="llama.cpp tools/server/README.md: --api-key, none by default"),
    errors=LLAMACPP_ERRORS,
    rules=(LlamaInput(),),
    models={},  # any name: the server answers with the one model it loaded
    answer_keys=_LLAMACPP_KEYS,
    reports_incomplete=False,
    timings=True,
    request_id=_request_id,
    # A loaded server answers 503 {"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}}
    # while it loads [llama.cpp tools/server/README.md, GET /health]; its other faults are ours (simulator text).
    rate_limit=Refusal(429, "Too many requests (simulator text)", "rate_limit_error"),
    server_error=Refusal(500, "Internal server error (simulator text)", "server_error"),
    overloaded=Refusal(503, "Loading model", "unavailable_error"),
    stream_error=("server_error", "server_error", "Internal server error (simulator text)"),
    sources={
        "server": "github.com/ggml-org/llama.cpp tools/server/README.md (POST /v1/responses)",
        "errors": LLAMACPP_ERRORS.source,
        "rules": f"{LLAMACPP_MEASURED}: unknown fields and model names ignored; input required",
    },
)

RESPONSES_ALIASES: Final[tuple[ResponsesAlias, ...]] = (OPENAI_RESPONSES, LLAMACPP_RESPONSES)
