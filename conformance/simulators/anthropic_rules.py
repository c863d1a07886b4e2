"""The Anthropic Messages contract as data: the error body, the refusal rules (each with its source) and the alias row.

Written from Anthropic's documentation, the official SDK's types and answers quoted in public issues, never from
Allos's registry or adapters (DESIGN.md, independence rule). Short forms of sources:
[ant-py] is anthropic-sdk-python's generated types (`types/...`),
[docs] platform.claude.com / docs.claude.com, `owner/repo#N` a public issue or PR that quotes the API's answer.
Message texts are the API's own where a source quotes them; "(simulator text)" marks wording that is ours (its
status and error type are sourced, its words are not).

A `Rule` looks at an `Incoming` request and returns a `Refusal` or nothing; `violate` builds a request that breaks it
(from a valid tool round trip), so each rule is proved over HTTP by the tests.

    >>> rule = RequiredFields()
    >>> rule.check(Incoming({"model": "m", "messages": []}, {}, ANTHROPIC)).message
    'max_tokens: Field required'
"""

from __future__ import annotations

import copy
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from conformance.simulators import _names

__all__ = [
    "ALIASES",
    "ANTHROPIC",
    "LLAMACPP_ANTHROPIC",
    "AnswerShape",
    "AnthropicAlias",
    "Auth",
    "Incoming",
    "Refusal",
    "Rule",
    "blocks_of",
    "error_body",
    "text_of",
    "tool_use_ids",
]

JSON = Any


# --- refusals and the error body -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """An error answer before it is rendered: HTTP status, Anthropic error `type` and message."""

    status: int
    message: str
    type: str = "invalid_request_error"


def error_body(refusal: Refusal, request_id: str) -> dict[str, Any]:
    """`{"type": "error", "error": {"type", "message"}, "request_id"}` [ant-py types/shared/error_response.py;
    docs api/errors: "The response body ... a top-level type of error, an error object with type and message, and a
    request_id"].

    >>> error_body(Refusal(529, "Overloaded", "overloaded_error"), "req_1")["error"]
    {'type': 'overloaded_error', 'message': 'Overloaded'}
    """
    return {"type": "error", "error": {"type": refusal.type, "message": refusal.message}, "request_id": request_id}


def text_of(content: Any) -> str:
    """The text of a content value: a string, or the `text` of its text blocks (nested tool results included)."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    parts = []
    for block in content:
        if isinstance(block, Mapping) and block.get("type") == "text":
            parts.append(str(block.get("text", "")))
    return "".join(parts)


# --- what a rule looks at ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Incoming:
    """A parsed request: the JSON body (an object), the lower-cased headers and the alias row."""

    body: Mapping[str, Any]
    headers: Mapping[str, str]
    alias: AnthropicAlias

    @property
    def messages(self) -> list[Mapping[str, Any]]:
        raw = self.body.get("messages")
        return [m if isinstance(m, Mapping) else {} for m in raw] if isinstance(raw, list) else []

    @property
    def model(self) -> str:
        return str(self.body.get("model") or "")

    @property
    def version(self) -> str:
        return self.headers.get("anthropic-version", "").strip()


def blocks_of(message: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A message's content as blocks: a string is one text block [ant-py message_create_params.py: "Using a
    string for content is shorthand for an array of one content block of type text"]."""
    content = message.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return [b if isinstance(b, Mapping) else {} for b in content]
    return []


def tool_use_ids(message: Mapping[str, Any]) -> list[str]:
    if message.get("role") != "assistant":
        return []
    return [str(b.get("id")) for b in blocks_of(message) if b.get("type") == "tool_use"]


def _copy(body: Mapping[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(dict(body))


class Rule(ABC):
    """One refusal Anthropic is documented (or observed) to make. Subclasses are frozen dataclasses with a
    `source`; `violate` copies a valid tool round trip (user ask, assistant tool_use, user tool_result) into a
    request that breaks this rule and no rule before it; `violation_headers` are headers that request needs."""

    source: str

    @property
    def name(self) -> str:
        return type(self).__name__

    @abstractmethod
    def check(self, incoming: Incoming) -> Refusal | None: ...

    @abstractmethod
    def violate(self, body: dict[str, Any]) -> dict[str, Any]: ...

    def violation_headers(self) -> dict[str, str]:
        return {}


# --- the rules --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequiredFields(Rule):
    """`model`, `max_tokens` and `messages` are required [ant-py message_create_params.py: Required[...]]; the
    answer names the field: "max_tokens: Field required" (tickernelz/opencode-mem#50)."""

    source: str = "[ant-py] message_create_params.py Required model/max_tokens/messages; tickernelz/opencode-mem#50"

    def check(self, incoming: Incoming) -> Refusal | None:
        for name in ("model", "max_tokens", "messages"):
            if incoming.body.get(name) is None:
                return Refusal(400, f"{name}: Field required")
        if not isinstance(incoming.body["messages"], list):
            return Refusal(400, "messages: Input should be a valid list")
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        bad = _copy(body)
        del bad["max_tokens"]
        return bad


# The request fields of `MessageCreateParams` [ant-py types/message_create_params.py, v2.14], plus the sampling fields
# of API version 2023-06-01 (removed from the SDK's types in 2.0, still accepted under that version [docs
# api/migration-2026-10-21]). Beta fields (context_management, mcp_servers, ...) need their beta header and are
# refused without it ("context_management: Extra inputs are not permitted", anthropics/claude-code#14135).
MESSAGE_FIELDS: Final = frozenset(
    {
        "cache_control", "container", "diagnostics", "inference_geo", "max_tokens", "messages", "metadata", "model",
        "output_config", "service_tier", "speed", "stop_sequences", "stream", "system", "temperature", "thinking",
        "tool_choice", "tools", "top_k", "top_p",
    }
)  # fmt: skip


@dataclass(frozen=True)
class KnownFields(Rule):
    """Top-level fields outside the request schema are refused: "response_format: Extra inputs are not permitted"
    (amrit110/oli#7), "extra_body: ..." (Aider-AI/aider#4404), "context_management: ..." (anthropics/claude-code
    #14135)."""

    fields: frozenset[str] = MESSAGE_FIELDS
    source: str = "[ant-py] message_create_params.py fields; amrit110/oli#7, Aider-AI/aider#4404, claude-code#14135"

    def check(self, incoming: Incoming) -> Refusal | None:
        for name in incoming.body:
            if name not in self.fields:
                return Refusal(400, f"{name}: Extra inputs are not permitted")
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        return {**_copy(body), "response_format": {"type": "json_object"}}


SAMPLING_REMOVED_IN: Final = "2026-10-21"


@dataclass(frozen=True)
class SamplingRemoved(Rule):
    """API version 2026-10-21 refuses `temperature`, `top_p` and `top_k`, even at their defaults: "temperature:
    Extra inputs are not permitted" [docs api/migration-2026-10-21; qiita.com/Synthorai (temperature 1.0 -> 400);
    research section 3]."""

    version: str = SAMPLING_REMOVED_IN
    fields: tuple[str, ...] = ("temperature", "top_p", "top_k")
    source: str = "docs api/migration-2026-10-21; qiita Synthorai 'temperature: Extra inputs are not permitted'"

    def check(self, incoming: Incoming) -> Refusal | None:
        if incoming.version < self.version:
            return None
        for name in self.fields:
            if name in incoming.body:
                return Refusal(400, f"{name}: Extra inputs are not permitted")
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        return {**_copy(body), "temperature": 1.0}

    def violation_headers(self) -> dict[str, str]:
        return {"anthropic-version": self.version}


@dataclass(frozen=True)
class KnownModel(Rule):
    """An unknown model is a 404 `not_found_error` whose message names it: "model: sonnet4"
    (anthropics/claude-code#5349), "model: claude-3-5-sonnet-20241022" (mattermost-plugin-agents#257)."""

    source: str = "anthropics/claude-code#5349, mattermost/mattermost-plugin-agents#257 (404 'model: <name>')"

    def check(self, incoming: Incoming) -> Refusal | None:
        if incoming.model in incoming.alias.models:
            return None
        return Refusal(404, f"model: {incoming.model}", "not_found_error")

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        return {**_copy(body), "model": "claude-no-such-model"}


@dataclass(frozen=True)
class StopSequences(Rule):
    """Each stop sequence has text that is not whitespace: "stop_sequences: each stop sequence must be non-empty"
    (MegaGrindStone/mcp-web-ui#5), "stop_sequences: each stop sequence must contain non-whitespace" (BerriAI/litellm
    #3286, continuedev/continue#1660)."""

    source: str = "MegaGrindStone/mcp-web-ui#5; BerriAI/litellm#3286, continuedev/continue#1660"

    def check(self, incoming: Incoming) -> Refusal | None:
        stops = incoming.body.get("stop_sequences")
        for stop in stops if isinstance(stops, list) else []:
            if stop == "":
                return Refusal(400, "stop_sequences: each stop sequence must be non-empty")
            if isinstance(stop, str) and not stop.strip():
                return Refusal(400, "stop_sequences: each stop sequence must contain non-whitespace")
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        return {**_copy(body), "stop_sequences": ["END", "\n"]}


@dataclass(frozen=True)
class KnownRoles(Rule):
    """Message roles are `user` and `assistant` (and `system`, see SystemRole) [ant-py message_param.py]; an
    OpenAI-style `tool` role is refused."""

    source: str = "[ant-py] message_param.py: UserMessageParam | AssistantMessageParam | SystemMessageParam"

    def check(self, incoming: Incoming) -> Refusal | None:
        for index, message in enumerate(incoming.messages):
            if message.get("role") not in ("user", "assistant", "system"):
                return Refusal(
                    400, f"messages.{index}.role: Input should be 'user', 'assistant' or 'system' (simulator text)"
                )
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        bad = _copy(body)
        bad["messages"][-1] = {"role": "tool", "tool_use_id": "toolu_01", "content": "18 degrees"}
        return bad


_SYSTEM_ROLE = (
    'messages: Unexpected role "system". The Messages API accepts a top-level `system` parameter, not "system" as an'
    " input message role."
)


@dataclass(frozen=True)
class SystemRole(Rule):
    """No `system` role inside `messages`: the system prompt is the top-level `system` parameter [ant-py
    message_create_params.py; the answer quoted in sgl-project/sglang#367, ianarawjo/ChainForge#271]. Models that
    take mid-conversation system messages (Claude Opus 4.8) accept one right after a user turn [docs
    about-claude/models/whats-new-claude-4-8, quoted in simonw/llm-anthropic#73]."""

    source: str = (
        "sgl-project/sglang#367, ChainForge#271; mid-conversation system: whats-new-claude-4-8 (llm-anthropic#73)"
    )

    def check(self, incoming: Incoming) -> Refusal | None:
        messages = incoming.messages
        for index, message in enumerate(messages):
            if message.get("role") != "system":
                continue
            if incoming.model not in incoming.alias.system_role_models:
                return Refusal(400, _SYSTEM_ROLE)
            if index == 0 or messages[index - 1].get("role") != "user":
                return Refusal(
                    400, f"messages.{index}: a system message must immediately follow a user turn (simulator text)"
                )
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        bad = _copy(body)
        bad["messages"].insert(0, {"role": "system", "content": "Be brief."})
        return bad


_TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")


@dataclass(frozen=True)
class ToolDefinitions(Rule):
    """A custom tool has a `name` matching `^[a-zA-Z0-9_-]{1,64}$` ("tools.0.custom.name: String should match
    pattern ..." apify/tester-mcp-client#11) and an `input_schema` [ant-py tool_param.py: Required name,
    input_schema]. Server tools (with a versioned `type`) are not checked here."""

    source: str = "apify/tester-mcp-client#11 (tools.N.custom.name pattern); [ant-py] tool_param.py required fields"

    def check(self, incoming: Incoming) -> Refusal | None:
        tools = incoming.body.get("tools")
        if tools is None:
            return None
        if not isinstance(tools, list):
            return Refusal(400, "tools: Input should be a valid list")
        for index, tool in enumerate(tools):
            if not isinstance(tool, Mapping) or tool.get("type", "custom") != "custom":
                continue
            name = tool.get("name")
            if not isinstance(name, str) or not _TOOL_NAME.fullmatch(name):
                return Refusal(400, f"tools.{index}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'")
            if not isinstance(tool.get("input_schema"), Mapping):
                return Refusal(400, f"tools.{index}.custom.input_schema: Field required")
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        bad = _copy(body)
        bad["tools"][0]["name"] = "get weather!"
        return bad


_ID = re.compile(r"[a-zA-Z0-9_-]+")
_ID_PATTERN = "^[a-zA-Z0-9_-]+$"


@dataclass(frozen=True)
class ToolUseIdFormat(Rule):
    """`tool_use.id` (and the `tool_use_id` a result answers) match `^[a-zA-Z0-9_-]+$`: "messages.N.content.M
    .tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'" (CommandCodeAI/command-code#323,
    RooCodeInc/Roo-Code PR #10649)."""

    source: str = "CommandCodeAI/command-code#323, RooCodeInc/Roo-Code PR #10649"

    def check(self, incoming: Incoming) -> Refusal | None:
        for index, message in enumerate(incoming.messages):
            for position, block in enumerate(blocks_of(message)):
                kind = block.get("type")
                key = {"tool_use": "id", "tool_result": "tool_use_id"}.get(str(kind))
                if key is None:
                    continue
                value = block.get(key)
                if not isinstance(value, str) or not _ID.fullmatch(value):
                    return Refusal(
                        400,
                        f"messages.{index}.content.{position}.{kind}.{key}:"
                        f" String should match pattern '{_ID_PATTERN}'",
                    )
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        bad = _copy(body)
        for message in bad["messages"]:
            for block in message["content"] if isinstance(message["content"], list) else []:
                if block.get("type") == "tool_use":
                    block["id"] = "call:0"
                elif block.get("type") == "tool_result":
                    block["tool_use_id"] = "call:0"
        return bad


@dataclass(frozen=True)
class ErrorResultContent(Rule):
    """A tool result marked `is_error` must say something: "messages.N.content.M.tool_result: content cannot be empty
    if `is_error` is true" (jlevy/markform#153, bytedance/trae-agent#230)."""

    source: str = "jlevy/markform#153, bytedance/trae-agent#230"

    def check(self, incoming: Incoming) -> Refusal | None:
        for index, message in enumerate(incoming.messages):
            for position, block in enumerate(blocks_of(message)):
                if block.get("type") == "tool_result" and block.get("is_error") is True:
                    if block.get("content") in (None, "", []):
                        return Refusal(
                            400,
                            f"messages.{index}.content.{position}.tool_result: content cannot be empty if `is_error`"
                            " is true",
                        )
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        bad = _copy(body)
        result = bad["messages"][-1]["content"][0]
        result["is_error"] = True
        del result["content"]
        return bad


def _is_final_assistant(messages: Sequence[Mapping[str, Any]], index: int) -> bool:
    return index == len(messages) - 1 and messages[index].get("role") == "assistant"


@dataclass(frozen=True)
class NonEmptyContent(Rule):
    """Every message has content, except an optional final assistant message (the prefill): "messages.N: all
    messages must have non-empty content except for the optional final assistant message" (anthropics/claude-code
    #6774, #4416; writingmate/chatlabs PR #35)."""

    source: str = "anthropics/claude-code#6774, #4416; writingmate/chatlabs PR #35"

    def check(self, incoming: Incoming) -> Refusal | None:
        messages = incoming.messages
        for index, message in enumerate(messages):
            if message.get("content") in ("", [], None) and not _is_final_assistant(messages, index):
                return Refusal(
                    400,
                    f"messages.{index}: all messages must have non-empty content except for the optional final"
                    " assistant message",
                )
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        bad = _copy(body)
        bad["messages"].insert(1, {"role": "assistant", "content": ""})
        bad["messages"].insert(2, {"role": "user", "content": "and?"})
        return bad


def _text_blocks(message: Mapping[str, Any]) -> list[list[Mapping[str, Any]]]:
    """The groups of sibling text blocks in a message: its own content, and each tool result's nested content."""
    content = message.get("content")
    groups: list[list[Mapping[str, Any]]] = []
    if isinstance(content, list):
        groups.append([b for b in blocks_of(message) if b.get("type") == "text"])
        for block in blocks_of(message):
            nested = block.get("content") if block.get("type") == "tool_result" else None
            if isinstance(nested, list):
                groups.append([b for b in nested if isinstance(b, Mapping) and b.get("type") == "text"])
    elif isinstance(content, str) and content:
        groups.append([{"type": "text", "text": content}])
    return groups


@dataclass(frozen=True)
class NonEmptyTextBlocks(Rule):
    """A text block may not be empty: "messages: text content blocks must be non-empty" (anthropics/claude-code
    #59812, #53473; bytedance/UI-TARS-desktop#987)."""

    source: str = "anthropics/claude-code#59812, #53473; bytedance/UI-TARS-desktop#987"

    def check(self, incoming: Incoming) -> Refusal | None:
        for message in incoming.messages:
            for group in _text_blocks(message):
                if any(block.get("text") in ("", None) for block in group):
                    return Refusal(400, "messages: text content blocks must be non-empty")
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        bad = _copy(body)
        bad["messages"][0]["content"] = [{"type": "text", "text": ""}, {"type": "text", "text": "Use get_weather."}]
        return bad


@dataclass(frozen=True)
class NonWhitespaceText(Rule):
    """Whitespace-only text is refused when it is all the text there is: "messages: text content blocks must
    contain non-whitespace text" (anthropics/claude-code#23440, #23352; nick1udwig/kibitz#78); next to other text it
    passes (LibreChat-AI/agents PR #124, research section 3), and so does a whitespace-only text block beside
    `tool_use` blocks (the live API answered 200 to `" "` before two tool calls: simonw/llm-anthropic
    tests/cassettes/test_anthropic/test_tools.yaml)."""

    source: str = (
        "anthropics/claude-code#23440, #23352; kibitz#78; LibreChat-AI/agents PR #124;"
        " simonw/llm-anthropic tests/cassettes/test_anthropic/test_tools.yaml (beside tool_use: accepted)"
    )

    def check(self, incoming: Incoming) -> Refusal | None:
        for message in incoming.messages:
            calls = any(block.get("type") == "tool_use" for block in blocks_of(message))
            for index, group in enumerate(_text_blocks(message)):
                if calls and index == 0:
                    continue  # the message's own text, beside its tool calls
                if group and not any(str(block.get("text", "")).strip() for block in group):
                    return Refusal(400, "messages: text content blocks must contain non-whitespace text")
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        bad = _copy(body)
        bad["messages"][0]["content"] = " \n "
        return bad


@dataclass(frozen=True)
class FinalAssistantWhitespace(Rule):
    """A final assistant message (prefill) may not end with whitespace: "messages: final assistant content cannot
    end with trailing whitespace" (tailcallhq/forgecode#1872, anomalyco/opencode#1295)."""

    source: str = "tailcallhq/forgecode#1872, anomalyco/opencode#1295"

    def check(self, incoming: Incoming) -> Refusal | None:
        messages = incoming.messages
        if not messages or not _is_final_assistant(messages, len(messages) - 1):
            return None
        blocks = blocks_of(messages[-1])
        if blocks and blocks[-1].get("type") == "text":
            text = str(blocks[-1].get("text", ""))
            if text and text != text.rstrip():
                return Refusal(400, "messages: final assistant content cannot end with trailing whitespace")
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        bad = _copy(body)
        bad["messages"].append({"role": "assistant", "content": "The weather is "})
        return bad


@dataclass(frozen=True)
class ToolResultsFollow(Rule):
    """Every `tool_use` of an assistant message is answered by a `tool_result` at the start of the very next
    message: "messages.N: `tool_use` ids were found without `tool_result` blocks immediately after: <ids>. Each
    `tool_use` block must have a corresponding `tool_result` block in the next message." (anthropics/claude-code
    #5989, #1237, #5060). Results come first in that message, before any text [docs agents-and-tools/tool-use/
    handle-tool-calls; apify/tester-mcp-client#12: "Messages following tool_use blocks must begin with a matching
    number of tool_result blocks"]."""

    source: str = "anthropics/claude-code#5989, #5060; docs tool-use/handle-tool-calls; apify/tester-mcp-client#12"

    def check(self, incoming: Incoming) -> Refusal | None:
        messages = incoming.messages
        for index, message in enumerate(messages):
            ids = tool_use_ids(message)
            if not ids:
                continue
            answered: set[str] = set()
            if index + 1 < len(messages) and messages[index + 1].get("role") == "user":
                for block in blocks_of(messages[index + 1]):
                    if block.get("type") != "tool_result":
                        break  # results lead the message; a result after other content is not "immediately after"
                    answered.add(str(block.get("tool_use_id")))
            missing = [i for i in ids if i not in answered]
            if missing:
                return Refusal(
                    400,
                    f"messages.{index}: `tool_use` ids were found without `tool_result` blocks immediately after:"
                    f" {', '.join(missing)}. Each `tool_use` block must have a corresponding `tool_result` block in"
                    " the next message.",
                )
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        bad = _copy(body)
        bad["messages"][-1] = {"role": "user", "content": "and now?"}
        return bad


@dataclass(frozen=True)
class ToolResultIds(Rule):
    """A `tool_result` answers a `tool_use` of the message just before it: "messages.N.content.M: unexpected
    `tool_use_id` found in `tool_result` blocks: <id>. Each `tool_result` block must have a corresponding `tool_use`
    block in the previous message." (anthropics/claude-code#13460, decocms/studio#1803, router-for-me/CLIProxyAPI
    #497)."""

    source: str = "anthropics/claude-code#13460, decocms/studio#1803, router-for-me/CLIProxyAPI#497"

    def check(self, incoming: Incoming) -> Refusal | None:
        messages = incoming.messages
        for index, message in enumerate(messages):
            known = tool_use_ids(messages[index - 1]) if index > 0 else []
            for position, block in enumerate(blocks_of(message)):
                if block.get("type") != "tool_result":
                    continue
                call_id = str(block.get("tool_use_id"))
                if call_id not in known:
                    return Refusal(
                        400,
                        f"messages.{index}.content.{position}: unexpected `tool_use_id` found in `tool_result` blocks:"
                        f" {call_id}. Each `tool_result` block must have a corresponding `tool_use` block in the"
                        " previous message.",
                    )
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        bad = _copy(body)
        extra = {"type": "tool_result", "tool_use_id": "toolu_01NoSuchCallNoSuchCall0", "content": "?"}
        bad["messages"][-1]["content"].append(extra)
        return bad


# --- authentication -----------------------------------------------------------------------------------------------

INVALID_KEY_MARKER: Final = "invalid"
FORBIDDEN_KEY_MARKER: Final = "forbidden"


@dataclass(frozen=True)
class Auth:
    """The key travels as `x-api-key`, or as `Authorization: Bearer` (what the 2.x SDKs send; "if both headers are
    there, the API uses x-api-key" [qiita.com/Synthorai; docs api/migration-2026-10-21]).

    Simulator convention: a key containing `invalid` is refused as a wrong key; one containing `forbidden` gets the
    403 `permission_error`; any other non-empty key is accepted."""

    missing: Refusal = Refusal(401, "x-api-key header is required", "authentication_error")
    invalid_api_key: Refusal = Refusal(401, "invalid x-api-key", "authentication_error")
    invalid_bearer: Refusal = Refusal(401, "Invalid bearer token", "authentication_error")
    forbidden: Refusal = Refusal(
        403, "Your API key does not have permission to use the specified resource.", "permission_error"
    )
    source: str = (
        "missing: n8n-io/n8n#37930, karthink/gptel#354; wrong x-api-key: eyaltoledano/claude-task-master#222;"
        " wrong bearer: AndyMik90/Aperant#1421; 403 text: docs api/errors"
    )

    def refuse(self, headers: Mapping[str, str]) -> Refusal | None:
        key = headers.get("x-api-key", "").strip()
        wrong = self.invalid_api_key
        if not key:
            authorization = headers.get("authorization", "").strip()
            if authorization[:7].lower() == "bearer ":
                key, wrong = authorization[7:].strip(), self.invalid_bearer
        if not key:
            return self.missing
        if INVALID_KEY_MARKER in key.lower():
            return wrong
        if FORBIDDEN_KEY_MARKER in key.lower():
            return self.forbidden
        return None


# --- the row ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerShape:
    """Which optional parts of a Messages answer the server writes; the defaults are Anthropic's (all of them)."""

    # The keys of `usage` in a message and in `message_start`; None: Anthropic's full set.
    usage: frozenset[str] | None = None
    # The keys of `usage` in `message_delta`; None: Anthropic's.
    delta_usage: frozenset[str] | None = None
    stop_details: bool = True
    ping: bool = True


@dataclass(frozen=True)
class AnthropicAlias:
    """One alias speaking Anthropic Messages, as its documentation and observed answers describe it."""

    name: str
    base_url: str
    # The names served (a `_names.ModelFamily`: the documented naming, listed by examples).
    models: Collection[str]
    rules: tuple[Rule, ...]
    auth: Auth = Auth()
    # Models that take `role: "system"` inside `messages` (right after a user turn).
    system_role_models: frozenset[str] = frozenset()
    # `anthropic-version` values the API knows [docs api/versioning: 2023-01-01, 2023-06-01; 2026-10-21]; None: the
    # server does not look at the header (llama-server).
    versions: frozenset[str] | None = frozenset({"2023-01-01", "2023-06-01", "2026-10-21"})
    # The Messages request limit, enforced in front of the API (Cloudflare) [docs api/errors: 413 request_too_large,
    # "Request size limits": 32 MB for Messages].
    max_body_bytes: int = 32 * 1024 * 1024
    rate_limit: Refusal = Refusal(
        429, "This request would exceed your organization's rate limit. (simulator text)", "rate_limit_error"
    )
    # docs api/errors: 500 api_error "an unexpected error has occurred internal to Anthropic's systems"; 529
    # overloaded_error "Overloaded" (the stream example of docs messages-streaming). 503 is not documented: the SDK
    # maps it to ServiceUnavailableError; its body here is an api_error.
    server_error: Refusal = Refusal(500, "Internal server error", "api_error")
    unavailable: Refusal = Refusal(503, "Service unavailable (simulator text)", "api_error")
    overloaded: Refusal = Refusal(529, "Overloaded", "overloaded_error")
    sources: Mapping[str, str] = field(default_factory=dict)
    # Refusal and request id -> the error body (Anthropic's own unless the server writes another shape).
    render_error: Callable[[Refusal, str], dict[str, Any]] = error_body
    answer_shape: AnswerShape = AnswerShape()

    def fault(self, status: int) -> Refusal:
        return {429: self.rate_limit, 500: self.server_error, 503: self.unavailable}.get(status, self.overloaded)


# The model names of the SDK's `Model` literal [ant-py types/model.py, v2.14], less `claude-mythos-preview` (end of
# life June 30th, 2026 [ant-py _data/deprecated_models.py]); `claude-sonnet-4-5` is the registry's default (end of
# life November 30th, 2026, same source). Older dated names stay served until retired [docs models/overview].
ANTHROPIC_MODELS: Final = frozenset(
    {
        "claude-fable-5-2", "claude-mythos-5-2", "claude-haiku-5-5", "claude-sonnet-5-5", "claude-fable-5-1",
        "claude-opus-5-5", "claude-mythos-5-1", "claude-sonnet-5", "claude-fable-5", "claude-mythos-5",
        "claude-opus-5", "claude-opus-4-8", "claude-opus-4-7", "claude-opus-4-6",
        "claude-sonnet-4-6", "claude-haiku-4-5", "claude-haiku-4-5-20251001", "claude-opus-4-5",
        "claude-opus-4-5-20251101", "claude-sonnet-4-5", "claude-sonnet-4-5-20250929", "claude-opus-4-1-20250805",
        "claude-sonnet-4-20250514", "claude-opus-4-20250514",
    }
)  # fmt: skip

ANTHROPIC_RULES: Final[tuple[Rule, ...]] = (
    RequiredFields(),
    KnownFields(),
    SamplingRemoved(),
    KnownModel(),
    StopSequences(),
    KnownRoles(),
    SystemRole(),
    ToolDefinitions(),
    ToolUseIdFormat(),
    ErrorResultContent(),
    NonEmptyContent(),
    NonEmptyTextBlocks(),
    NonWhitespaceText(),
    FinalAssistantWhitespace(),
    ToolResultsFollow(),
    ToolResultIds(),
)

ANTHROPIC: Final = AnthropicAlias(
    name="anthropic",
    base_url="https://api.anthropic.com",
    models=_names.ANTHROPIC.family(*sorted(ANTHROPIC_MODELS)),
    rules=ANTHROPIC_RULES,
    system_role_models=frozenset({"claude-opus-4-8"}),
    sources={
        "errors": "[ant-py] types/shared/error_response.py; docs api/errors",
        "version header": "envoyproxy/ai-gateway#1909, PipedreamHQ/pipedream#9697: 400 'anthropic-version: header is"
        " required'",
        "stream": "docs messages-streaming; [ant-py] raw_message_stream_event.py",
        "ids": "msg_01..., toolu_01... [ant-py message_create_params.py examples]; req_011C... (issue quotes)",
    },
)

# --- llama.cpp's llama-server ---------------------------------------------------------------------------------------
# Its Anthropic-compatible `POST /v1/messages` [github.com/ggml-org/llama.cpp tools/server/README.md]. What it does
# beyond that page is measured against llama-server built from llama-cpp-python 0.3.36 (llama.cpp commit 0c1e570):
# no key unless started with --api-key, any model name, no anthropic-version needed, max_tokens optional, and errors
# in its own shape for every endpoint.

LLAMACPP_MEASURED: Final = "measured against llama-server 0.3.36 / llama.cpp commit 0c1e570"


def llamacpp_error_body(refusal: Refusal, request_id: str) -> dict[str, Any]:
    """`{"error": {"code": <status>, "message", "type"}}`, the body llama-server writes on every endpoint, no
    request id (measured).

    >>> llamacpp_error_body(Refusal(500, "'messages' is required", "server_error"), "req_1")["error"]["code"]
    500
    """
    return {"error": {"code": refusal.status, "message": refusal.message, "type": refusal.type}}


@dataclass(frozen=True)
class NoKey(Auth):
    """A server started without `--api-key` takes any key or none [llama.cpp tools/server/README.md: --api-key]."""

    source: str = "llama.cpp tools/server/README.md: --api-key, none by default"

    def refuse(self, headers: Mapping[str, str]) -> Refusal | None:
        return None


@dataclass(frozen=True)
class LlamaMessagesRequired(Rule):
    """Without `messages` llama-server answers 500 `server_error` "'messages' is required"; everything else about
    the body (max_tokens, roles, an empty list) it takes as it comes."""

    source: str = f"{LLAMACPP_MEASURED}: 500 server_error \"'messages' is required\""

    def check(self, incoming: Incoming) -> Refusal | None:
        if "messages" in incoming.body:
            return None
        return Refusal(500, "'messages' is required", "server_error")

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        bad = _copy(body)
        del bad["messages"]
        return bad


LLAMACPP_ANTHROPIC: Final = AnthropicAlias(
    name="llamacpp-anthropic",
    base_url="http://127.0.0.1:8080",
    models=frozenset(),  # any name: the server answers with the one model it loaded
    rules=(LlamaMessagesRequired(),),
    auth=NoKey(),
    versions=None,
    render_error=llamacpp_error_body,
    # Measured: usage is {cache_read_input_tokens, input_tokens, output_tokens} (message_delta: output_tokens only),
    # no stop_details, no ping event.
    answer_shape=AnswerShape(
        usage=frozenset({"cache_read_input_tokens", "input_tokens", "output_tokens"}),
        delta_usage=frozenset({"output_tokens"}),
        stop_details=False,
        ping=False,
    ),
    sources={
        "server": "github.com/ggml-org/llama.cpp tools/server/README.md (POST /v1/messages)",
        "errors": f"{LLAMACPP_MEASURED}: error{{code, message, type}}, as on /v1/chat/completions",
        "rules": f"{LLAMACPP_MEASURED}: no max_tokens, an empty messages list, an unknown role: all answered 200",
    },
)

ALIASES: Final[tuple[AnthropicAlias, ...]] = (ANTHROPIC, LLAMACPP_ANTHROPIC)
