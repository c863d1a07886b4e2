"""Capability scenarios: frozen data that builds the request(s) and checks the structure of the answer.

Policy: a scenario uses a prompt that makes a real model do the thing, and checks structure (a tool call of the
right name with arguments valid for the schema, a `length` finish, parseable JSON), never exact wording. Several
scenarios may back one capability (the matrix cell passes only when all of them pass). Multi-step scenarios send
the model's own answer back (`follow_up`), so a tool round trip is tested with the tool call the model really made.

    >>> sorted({case.capability.value for case in CASES}) == sorted(
    ...     c.value for c in Capability if c is not Capability.GENERATED_SEQUENCES)
    True
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from allos import Capability, ChatResponse, ImagePart, Message, ResponseFormat, TextPart, ToolCall, ToolSpec
from allos.errors import AuthenticationError, BadRequestError, NotFoundError, ProviderError

__all__ = ["CASES", "Case", "CheckFailed", "Step", "cases_for"]

Call = Literal["chat", "achat", "stream", "astream"]


class CheckFailed(AssertionError):
    """The answer does not have the structure the capability promises."""


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


# --- tools the scenarios offer ---------------------------------------------------------------------------------------

WEATHER = ToolSpec(
    name="get_weather",
    description="Get the current weather for a city.",
    parameters={
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City name, e.g. Paris"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["city"],
    },
)
TIME = ToolSpec(
    name="get_time",
    description="Get the current local time in an IANA time zone.",
    parameters={
        "type": "object",
        "properties": {"timezone": {"type": "string", "description": "e.g. Europe/Paris"}},
        "required": ["timezone"],
    },
)
PING = ToolSpec(name="ping", description="Check that the service is up. Takes no arguments.")

# A 1x1 transparent PNG.
_PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
_UNICODE = "Répète exactement : héllo wörld — 東京 🌸 Привет"


def _user(text: str) -> Message:
    return Message(role="user", content=text)


# --- checks -------------------------------------------------------------------------------------------------------


def _type_ok(value: Any, schema: Mapping[str, Any]) -> bool:
    expected = schema.get("type")
    checks: dict[str, Callable[[Any], bool]] = {
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "array": lambda v: isinstance(v, list),
        "object": lambda v: isinstance(v, dict),
    }
    if isinstance(expected, str) and expected in checks and not checks[expected](value):
        return False
    return "enum" not in schema or value in schema["enum"]


def check_arguments(call: ToolCall, tool: ToolSpec) -> None:
    """The call's arguments are an object valid for the tool's (flat) schema: required keys, types and enums."""
    expect(call.arguments_valid, f"{call.name}: arguments are not a JSON object: {call.arguments_error}")
    properties = tool.parameters.get("properties", {})
    for key in tool.parameters.get("required", []):
        expect(key in call.arguments, f"{call.name}: required argument {key!r} missing")
    for key, value in call.arguments.items():
        expect(key in properties, f"{call.name}: unexpected argument {key!r}")
        expect(_type_ok(value, properties[key]), f"{call.name}: argument {key!r}={value!r} does not fit its schema")


def accepted(response: ChatResponse) -> None:
    """Any answer will do: the request was accepted."""


def has_text(response: ChatResponse) -> None:
    expect(bool(response.text.strip()), "the answer has no text")
    expect(not response.tool_calls, "the answer made tool calls where text was expected")


def finished(reason: str) -> Callable[[ChatResponse], None]:
    def check(response: ChatResponse) -> None:
        expect(response.finish_reason == reason, f"finish_reason is {response.finish_reason!r}, expected {reason!r}")

    return check


def calls(tool: ToolSpec, at_least: int = 1) -> Callable[[ChatResponse], None]:
    def check(response: ChatResponse) -> None:
        mine = [c for c in response.tool_calls if c.name == tool.name]
        expect(len(mine) >= at_least, f"expected >= {at_least} call(s) of {tool.name}, got {len(mine)}")
        expect(response.finish_reason == "tool_calls", f"finish_reason is {response.finish_reason!r}")
        ids = [c.id for c in response.tool_calls]
        expect(all(ids) and len(set(ids)) == len(ids), f"tool-call ids must be present and unique: {ids}")
        for call in mine:
            check_arguments(call, tool)

    return check


def no_calls(response: ChatResponse) -> None:
    expect(not response.tool_calls, f"tool_choice none, yet the model called {[c.name for c in response.tool_calls]}")


def usage_reported(response: ChatResponse) -> None:
    expect(response.usage.input_tokens > 0, "usage.input_tokens is 0")
    expect(response.usage.output_tokens > 0, "usage.output_tokens is 0")


def json_object(required: Sequence[str] = ()) -> Callable[[ChatResponse], None]:
    def check(response: ChatResponse) -> None:
        try:
            value = json.loads(response.text)
        except ValueError:
            raise CheckFailed(f"the answer is not JSON: {response.text[:80]!r}") from None
        expect(isinstance(value, dict), "the answer is JSON but not an object")
        for key in required:
            expect(key in value, f"the JSON answer lacks {key!r}")

    return check


def stopped_before(stop: str) -> Callable[[ChatResponse], None]:
    def check(response: ChatResponse) -> None:
        has_text(response)
        expect(stop not in response.text, f"the stop sequence {stop!r} appears in the text")

    return check


def reasoning_present(response: ChatResponse) -> None:
    expect(bool(response.reasoning), "no reasoning content in the answer")


def all_of(*checks: Callable[[ChatResponse], None]) -> Callable[[ChatResponse], None]:
    def check(response: ChatResponse) -> None:
        for one in checks:
            one(response)

    return check


# --- cases ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One request: messages and options, the way to call, and the check on the answer."""

    messages: tuple[Message, ...]
    options: Mapping[str, Any] = field(default_factory=dict)
    call: Call = "chat"
    check: Callable[[ChatResponse], None] = has_text


def _answer_tool_calls(previous: Step, response: ChatResponse, *, error: bool = False) -> tuple[Message, ...]:
    results = tuple(
        Message(
            role="tool",
            tool_call_id=call.id,
            content="the weather service is down" if error else json.dumps({"result": "sunny, 21 °C"}),
            is_error=error,
        )
        for call in response.tool_calls
    )
    return (*previous.messages, response.message, *results)


@dataclass(frozen=True)
class Case:
    """A scenario for one capability. `follow_up` builds the next step from the previous answer."""

    id: str
    capability: Capability
    first: Step
    follow_up: Callable[[Step, ChatResponse], Step] | None = None
    expect_error: tuple[type[ProviderError], ...] = ()
    provider_overrides: Mapping[str, str] = field(default_factory=dict)
    description: str = ""

    def steps_count(self) -> int:
        return 1 if self.follow_up is None else 2


def _round_trip(error: bool = False) -> Callable[[Step, ChatResponse], Step]:
    def follow_up(previous: Step, response: ChatResponse) -> Step:
        messages = _answer_tool_calls(previous, response, error=error)
        options = {k: v for k, v in previous.options.items() if k != "tool_choice"}
        return Step(messages=messages, options=options, call=previous.call, check=all_of(has_text, finished("stop")))

    return follow_up


_WEATHER_ASK = _user("What is the weather in Paris right now? Use the get_weather tool.")
_WEATHER_TOOLS = {"tools": (WEATHER,), "max_tokens": 256}

# A history made on other providers: an Anthropic-style id and an OpenAI-style id, answered, then a new question.
_FOREIGN_HISTORY = (
    Message(role="system", content="You are a helpful assistant."),
    _user("What is the weather in Paris and in Tokyo? Use the get_weather tool."),
    Message(
        role="assistant",
        content=None,
        tool_calls=(
            ToolCall(id="toolu_01A09q90qw90lq917835lq9", name="get_weather", arguments={"city": "Paris"}),
            ToolCall(id="call_Xk3vNn8Qp2Zr5Lm7Wt1Yb4Cd", name="get_weather", arguments={"city": "Tokyo"}),
        ),
    ),
    Message(role="tool", tool_call_id="toolu_01A09q90qw90lq917835lq9", content="sunny, 21 °C"),
    Message(role="tool", tool_call_id="call_Xk3vNn8Qp2Zr5Lm7Wt1Yb4Cd", content="rainy, 14 °C"),
    Message(role="assistant", content="Paris is sunny (21 °C); Tokyo is rainy (14 °C)."),
    _user("Which of the two cities is warmer? Answer in one sentence."),
)

CASES: tuple[Case, ...] = (
    Case("chat", Capability.CHAT, Step((_user("Say hello in one short sentence."),), {"max_tokens": 64})),
    Case(
        "chat_async",
        Capability.CHAT,
        Step((_user("Say hello in one short sentence."),), {"max_tokens": 64}, call="achat"),
    ),
    Case(
        "system_prompt",
        Capability.SYSTEM_PROMPT,
        Step(
            (
                Message(role="system", content="You are a terse assistant. Answer in at most five words."),
                _user("What colour is the sky on a clear day?"),
            ),
            {"max_tokens": 64},
        ),
    ),
    Case(
        "multi_turn",
        Capability.MULTI_TURN,
        Step(
            (
                _user("My name is Ada."),
                Message(role="assistant", content="Nice to meet you, Ada!"),
                _user("What is my name?"),
            ),
            {"max_tokens": 64},
        ),
    ),
    Case(
        "max_tokens",
        Capability.MAX_TOKENS,
        Step(
            (_user("Write a long story about the sea, at least 300 words."),),
            {"max_tokens": 16},  # the smallest max_output_tokens that Responses accepts
            check=finished("length"),
        ),
    ),
    Case(
        "stop_sequences",
        Capability.STOP_SEQUENCES,
        Step(
            (_user("Count from 1 to 20, numbers separated by single spaces, nothing else."),),
            {"max_tokens": 128, "stop": ("11",)},
            check=stopped_before("11"),
        ),
    ),
    Case(
        "tools_accepted",
        Capability.TOOLS,
        Step((_user("Say hello in one short sentence."),), {"tools": (WEATHER,), "max_tokens": 64}, check=accepted),
        description="a request that offers a tool is accepted (the model need not call it)",
    ),
    Case("tool_call", Capability.TOOL_CALL, Step((_WEATHER_ASK,), _WEATHER_TOOLS, check=calls(WEATHER))),
    Case(
        "tool_call_no_arguments",
        Capability.TOOL_CALL,
        Step(
            (_user("Is the service up? Use the ping tool."),), {"tools": (PING,), "max_tokens": 128}, check=calls(PING)
        ),
    ),
    Case(
        "tool_result",
        Capability.TOOL_RESULT,
        Step((_WEATHER_ASK,), _WEATHER_TOOLS, check=calls(WEATHER)),
        follow_up=_round_trip(),
    ),
    Case(
        "tool_result_error",
        Capability.TOOL_RESULT,
        Step((_WEATHER_ASK,), _WEATHER_TOOLS, check=calls(WEATHER)),
        follow_up=_round_trip(error=True),
        description="a tool result marked as an error, then a final answer",
    ),
    Case(
        "parallel_tool_calls",
        Capability.PARALLEL_TOOL_CALLS,
        Step(
            (_user("Get the weather in Paris and in Tokyo: call get_weather once for each city, in parallel."),),
            {"tools": (WEATHER,), "parallel_tool_calls": True, "max_tokens": 256},
            check=calls(WEATHER, at_least=2),
        ),
    ),
    Case(
        "tool_choice_none",
        Capability.TOOL_CHOICE_NONE,
        Step((_WEATHER_ASK,), {**_WEATHER_TOOLS, "tool_choice": "none"}, check=all_of(no_calls, has_text)),
    ),
    Case(
        "tool_choice_required",
        Capability.TOOL_CHOICE_REQUIRED,
        Step(
            (_user("Hello! How are you today?"),),
            {**_WEATHER_TOOLS, "tool_choice": "required"},
            check=calls(WEATHER),
        ),
    ),
    Case(
        "tool_choice_named",
        Capability.TOOL_CHOICE_NAMED,
        Step(
            (_user("What time is it in Paris?"),),
            {"tools": (WEATHER, TIME), "tool_choice": {"name": "get_time"}, "max_tokens": 256},
            check=calls(TIME),
        ),
    ),
    Case(
        "streaming",
        Capability.STREAMING,
        Step((_user("Say hello in one short sentence."),), {"max_tokens": 64}, call="stream"),
    ),
    Case(
        "streaming_async",
        Capability.STREAMING,
        Step((_user("Say hello in one short sentence."),), {"max_tokens": 64}, call="astream"),
    ),
    Case(
        "streaming_tool_calls",
        Capability.STREAMING_TOOL_CALLS,
        Step((_WEATHER_ASK,), _WEATHER_TOOLS, call="stream", check=calls(WEATHER)),
        follow_up=_round_trip(),
    ),
    Case(
        "usage",
        Capability.USAGE,
        Step((_user("Say hello in one short sentence."),), {"max_tokens": 64}, check=usage_reported),
    ),
    Case(
        "stream_usage",
        Capability.STREAM_USAGE,
        Step((_user("Say hello in one short sentence."),), {"max_tokens": 64}, call="stream", check=usage_reported),
    ),
    Case("unicode", Capability.UNICODE, Step((_user(_UNICODE),), {"max_tokens": 128})),
    Case(
        "json_mode",
        Capability.JSON_MODE,
        Step(
            (_user("Return a JSON object describing a cat, with the keys name and age. Only JSON."),),
            {"response_format": ResponseFormat(type="json_object"), "max_tokens": 128},
            check=json_object(),
        ),
    ),
    Case(
        "structured_output",
        Capability.STRUCTURED_OUTPUT,
        Step(
            (_user("Describe a cat with a name and an age."),),
            {
                "response_format": ResponseFormat(
                    type="json_schema",
                    name="cat",
                    json_schema={
                        "type": "object",
                        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
                        "required": ["name", "age"],
                        "additionalProperties": False,
                    },
                    strict=True,
                ),
                "max_tokens": 128,
            },
            check=json_object(required=("name", "age")),
        ),
    ),
    Case(
        "image_input",
        Capability.IMAGE_INPUT,
        Step(
            (
                Message(
                    role="user",
                    content=(
                        TextPart(text="Describe this image in a few words."),
                        ImagePart(data=_PIXEL, media_type="image/png"),
                    ),
                ),
            ),
            {"max_tokens": 64},
        ),
    ),
    Case(
        "reasoning",
        Capability.REASONING,
        Step((_user("Think step by step: what is 17 * 23?"),), {"max_tokens": 1024}, check=reasoning_present),
    ),
    Case(
        "error_bad_key",
        Capability.ERROR_MAPPING,
        Step((_user("Hello"),), {"max_tokens": 16}),
        expect_error=(AuthenticationError,),
        provider_overrides={"api_key": "invalid-key-allos-conformance-000000"},
    ),
    Case(
        "error_unknown_model",
        Capability.ERROR_MAPPING,
        Step((_user("Hello"),), {"max_tokens": 16, "model": "allos-no-such-model"}),
        # Most providers answer 404; Mistral and Perplexity answer 400 `invalid_model` (sources in the simulators).
        expect_error=(NotFoundError, BadRequestError),
    ),
    Case(
        "handoff",
        Capability.HANDOFF,
        Step(_FOREIGN_HISTORY, {"tools": (WEATHER,), "max_tokens": 128}),
        description="a history with tool calls made on other providers continues here",
    ),
)


def cases_for(capabilities: Sequence[str] | None = None, pattern: str | None = None) -> list[Case]:
    """The cases to run: all, or those of the given capabilities, whose id contains `pattern` (the -k filter)."""
    selected = [c for c in CASES if capabilities is None or c.capability.value in capabilities]
    return [c for c in selected if pattern is None or pattern in c.id]
