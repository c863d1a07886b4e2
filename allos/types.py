"""The canonical model: one vocabulary for every provider.

Policy: these models describe *what* a conversation is, never *how* a provider spells it. Every wire protocol
translates to and from them in `allos.protocols`; nothing provider-specific lives here. Models are frozen, reject
unknown fields, and carry literal tags so that unions dispatch without guessing.

    >>> Message(role="user", content="Weather in Paris?").text
    'Weather in Paris?'
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from allos import _json

__all__ = [
    "ChatRequest",
    "ChatResponse",
    "ContentPart",
    "Cost",
    "FinishReason",
    "ImagePart",
    "Message",
    "NamedToolChoice",
    "ReasoningDelta",
    "ResponseFormat",
    "Role",
    "StreamEnd",
    "StreamEvent",
    "TextDelta",
    "TextPart",
    "ToolCall",
    "ToolCallDelta",
    "ToolCallDone",
    "ToolChoice",
    "ToolSpec",
    "Usage",
    "UsageUpdate",
]

Role = Literal["system", "user", "assistant", "tool"]
FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "other"]

# The strictest tool-name rule among the major protocols (OpenAI FunctionObject, Anthropic tool_param): a name that
# passes here is accepted everywhere, so a tool defined once works on every alias.
TOOL_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- content -------------------------------------------------------------------------------------------------------


class TextPart(_Frozen):
    type: Literal["text"] = "text"
    text: str


class ImagePart(_Frozen):
    """An image given by URL or by base64 data with its media type."""

    type: Literal["image"] = "image"
    url: str | None = None
    data: str | None = None
    media_type: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> ImagePart:
        if (self.url is None) == (self.data is None):
            raise ValueError("ImagePart needs exactly one of url= or data= (base64)")
        if self.data is not None and not self.media_type:
            raise ValueError("ImagePart(data=...) needs media_type, e.g. 'image/png'")
        return self


ContentPart = Annotated[TextPart | ImagePart, Field(discriminator="type")]


# --- tools ---------------------------------------------------------------------------------------------------------


class ToolSpec(_Frozen):
    """A tool the model may call; `parameters` is a JSON Schema for its arguments object."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    strict: bool | None = None

    @field_validator("name")
    @classmethod
    def _valid_name(cls, name: str) -> str:
        if not TOOL_NAME_PATTERN.match(name):
            raise ValueError(f"tool name {name!r} must match {TOOL_NAME_PATTERN.pattern} (letters, digits, _ and -)")
        return name


class ToolCall(_Frozen):
    """A call the model made. `arguments` is always a dict.

    When a provider sends arguments that are not a JSON object, `arguments` is empty, the text is kept in
    `raw_arguments` and `arguments_error` says what was wrong: reported, never hidden or crashed on.
    """

    id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    raw_arguments: str | None = None
    arguments_error: str | None = None

    @property
    def arguments_valid(self) -> bool:
        return self.arguments_error is None

    @classmethod
    def from_json(cls, id: str, name: str, text: str | None) -> ToolCall:
        """Build a call from the JSON text a provider sent, keeping invalid text as it came."""
        if text is None or not text.strip():
            return cls(id=id, name=name)  # many providers send "" for a tool without arguments
        try:
            value = _json.loads(text)  # bounded nesting: a hostile argument string cannot exhaust the stack
        except ValueError as exc:
            return cls(id=id, name=name, raw_arguments=text, arguments_error=f"not valid JSON: {exc}")
        if not isinstance(value, dict):
            return cls(id=id, name=name, raw_arguments=text, arguments_error="not a JSON object")
        return cls(id=id, name=name, arguments=value)

    def arguments_json(self) -> str:
        """The arguments as the JSON text to send back: the raw text when it was never valid."""
        if self.raw_arguments is not None:
            return self.raw_arguments
        return json.dumps(self.arguments, ensure_ascii=False, separators=(",", ":"))


class NamedToolChoice(_Frozen):
    """Force one named tool: `tool_choice=NamedToolChoice(name="get_weather")` or `{"name": "get_weather"}`."""

    name: str


ToolChoice = Literal["auto", "none", "required"] | NamedToolChoice


# --- messages ------------------------------------------------------------------------------------------------------


class Message(_Frozen):
    """One turn of a conversation.

    An assistant turn may carry `tool_calls` (and then `content` may be None); a tool turn answers one call by its
    `tool_call_id`, and `is_error=True` marks a tool that failed. `reasoning` holds a model's visible reasoning so
    that protocols that want it back can send it.

        >>> Message(role="tool", tool_call_id="call_1", content="sunny").role
        'tool'
    """

    role: Role
    content: str | tuple[ContentPart, ...] | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None
    is_error: bool = False
    reasoning: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Message:
        if self.tool_calls and self.role != "assistant":
            raise ValueError(f"only assistant messages carry tool_calls, not {self.role!r}")
        if self.role == "tool" and not self.tool_call_id:
            raise ValueError("a tool message needs tool_call_id: the id of the call it answers")
        if self.role != "tool" and self.tool_call_id is not None:
            raise ValueError(f"tool_call_id belongs on tool messages, not {self.role!r}")
        if self.is_error and self.role != "tool":
            raise ValueError("is_error marks a tool result; it is only valid on tool messages")
        return self

    @property
    def text(self) -> str:
        """The text of the message, parts joined; images contribute nothing."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content if isinstance(part, TextPart))


# --- requests ------------------------------------------------------------------------------------------------------


class ResponseFormat(_Frozen):
    """Ask for JSON: `ResponseFormat(type="json_object")`, or one matching `json_schema`."""

    type: Literal["text", "json_object", "json_schema"]
    name: str = "response"
    json_schema: dict[str, Any] | None = None
    strict: bool | None = None

    @model_validator(mode="after")
    def _schema_present(self) -> ResponseFormat:
        if self.type == "json_schema" and self.json_schema is None:
            raise ValueError("ResponseFormat(type='json_schema') needs json_schema=")
        return self


class ChatRequest(_Frozen):
    """Everything one call asks for, before any protocol translates it. None means "not sent"."""

    model: str
    messages: tuple[Message, ...] = Field(min_length=1)
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    max_tokens: int | None = Field(default=None, gt=0)
    temperature: float | None = Field(default=None, ge=0)
    top_p: float | None = Field(default=None, ge=0, le=1)
    stop: tuple[str, ...] = ()
    response_format: ResponseFormat | None = None
    seed: int | None = None
    stream: bool = False
    # Continue a conversation stored by the provider (OpenAI Responses); only the new messages are then sent.
    previous_response_id: str | None = None
    extra_body: dict[str, Any] = Field(default_factory=dict)

    @field_validator("stop", mode="before")
    @classmethod
    def _stop_as_tuple(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _tool_choice_names_a_tool(self) -> ChatRequest:
        choice = self.tool_choice
        if isinstance(choice, NamedToolChoice) and choice.name not in {tool.name for tool in self.tools}:
            raise ValueError(f"tool_choice names {choice.name!r}, which is not among the tools given")
        if choice == "required" and not self.tools:
            raise ValueError("tool_choice='required' needs at least one tool")
        return self


# --- responses -----------------------------------------------------------------------------------------------------


class Cost(_Frozen):
    """What one call cost, in US dollars: `billed` when the provider's answer says so (OpenRouter's `usage.cost`),
    `estimated` from the model's profile prices (`allos.profiles`), which may differ from the invoice."""

    amount: float
    source: Literal["billed", "estimated"]
    currency: Literal["USD"] = "USD"


class Usage(_Frozen):
    """Token counts; protocol names (prompt/completion, input/output, eval counts) are mapped onto these. `input_tokens`
    is the whole input, cache reads and writes included. `cost` is None when neither the answer nor a profile
    gives one."""

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int | None = None
    cached_input_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None
    cost: Cost | None = None


class ChatResponse(_Frozen):
    """One assembled answer, whatever protocol produced it. `raw` is the provider's own body, for debugging."""

    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: FinishReason = "other"
    native_finish_reason: str | None = None
    usage: Usage = Field(default_factory=Usage)
    model: str | None = None
    provider: str
    id: str | None = None
    reasoning: str | None = None
    refusal: str | None = None
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)

    @property
    def message(self) -> Message:
        """This answer as an assistant turn, ready to append to the history."""
        return Message(
            role="assistant",
            content=self.text or None,
            tool_calls=self.tool_calls,
            reasoning=self.reasoning,
        )


# --- stream events: the same for every protocol ---------------------------------------------------------------------


class TextDelta(_Frozen):
    type: Literal["text_delta"] = "text_delta"
    text: str


class ReasoningDelta(_Frozen):
    type: Literal["reasoning_delta"] = "reasoning_delta"
    text: str


class ToolCallDelta(_Frozen):
    """A fragment of a tool call; `id` and `name` come on the first fragment of each `index`."""

    type: Literal["tool_call_delta"] = "tool_call_delta"
    index: int
    id: str | None = None
    name: str | None = None
    arguments_delta: str = ""


class ToolCallDone(_Frozen):
    type: Literal["tool_call_done"] = "tool_call_done"
    index: int
    tool_call: ToolCall


class UsageUpdate(_Frozen):
    type: Literal["usage"] = "usage"
    usage: Usage


class StreamEnd(_Frozen):
    """Always the last event: the whole answer, assembled exactly as a non-streaming call would return it."""

    type: Literal["stream_end"] = "stream_end"
    response: ChatResponse


StreamEvent = Annotated[
    TextDelta | ReasoningDelta | ToolCallDelta | ToolCallDone | UsageUpdate | StreamEnd,
    Field(discriminator="type"),
]
