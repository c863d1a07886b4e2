"""The capabilities an alias can declare: one enum, shared by the registry and the conformance matrix's columns.

The registry says what each alias *claims*; the conformance harness checks the claim. A capability an alias does not
declare is refused by Allos with `UnsupportedCapabilityError` before anything is sent, and the matrix shows it as
unsupported rather than broken.
"""

from __future__ import annotations

from enum import Enum

__all__ = ["ALL_CAPABILITIES", "TOOL_CAPABILITIES", "Capability"]


class Capability(str, Enum):
    CHAT = "chat"
    SYSTEM_PROMPT = "system_prompt"
    MULTI_TURN = "multi_turn"
    MAX_TOKENS = "max_tokens"
    STOP_SEQUENCES = "stop_sequences"
    TOOLS = "tools"
    TOOL_CALL = "tool_call"
    TOOL_RESULT = "tool_result"
    PARALLEL_TOOL_CALLS = "parallel_tool_calls"
    TOOL_CHOICE_NONE = "tool_choice_none"
    TOOL_CHOICE_REQUIRED = "tool_choice_required"
    TOOL_CHOICE_NAMED = "tool_choice_named"
    STREAMING = "streaming"
    STREAMING_TOOL_CALLS = "streaming_tool_calls"
    USAGE = "usage"
    STREAM_USAGE = "stream_usage"
    UNICODE = "unicode"
    JSON_MODE = "json_mode"
    STRUCTURED_OUTPUT = "structured_output"
    IMAGE_INPUT = "image_input"
    REASONING = "reasoning"
    ERROR_MAPPING = "error_mapping"
    HANDOFF = "handoff"
    GENERATED_SEQUENCES = "generated_sequences"

    def __str__(self) -> str:
        return self.value


ALL_CAPABILITIES: frozenset[Capability] = frozenset(Capability)

# Every column that needs the model to call tools: what a model without tool calling (its profile says so) or a row
# that takes no tools gives up. A handoff history carries tool calls and results.
TOOL_CAPABILITIES: frozenset[Capability] = frozenset(
    {
        Capability.TOOLS,
        Capability.TOOL_CALL,
        Capability.TOOL_RESULT,
        Capability.PARALLEL_TOOL_CALLS,
        Capability.TOOL_CHOICE_NONE,
        Capability.TOOL_CHOICE_REQUIRED,
        Capability.TOOL_CHOICE_NAMED,
        Capability.STREAMING_TOOL_CALLS,
        Capability.HANDOFF,
    }
)
