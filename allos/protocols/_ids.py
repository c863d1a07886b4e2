"""Tool-call ids that a target protocol will accept, re-mapped consistently across a conversation.

A conversation can carry ids minted by another provider (`call_abc...`, `toolu_01...`) to a provider that restricts
their format (Mistral: exactly 9 characters `[a-zA-Z0-9]`). Every foreign id gets a replacement derived from a hash
of the id, so an assistant's call and the tool result that answers it map to the same new id, the same conversation
always serialises to the same bytes (cassettes match), and two ids never collide within one conversation.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable

from allos.types import Message

__all__ = ["ALNUM9", "MAX64", "TOOL_USE_ID", "IdFormat", "remap_tool_call_ids"]

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


class IdFormat:
    """A rule for valid ids and a deterministic way to mint one from a foreign id."""

    def __init__(self, name: str, pattern: str, mint: Callable[[str, int], str]) -> None:
        self.name = name
        self.pattern = re.compile(pattern)
        self._mint = mint

    def __repr__(self) -> str:
        return f"IdFormat({self.name!r})"

    def valid(self, value: str) -> bool:
        return self.pattern.fullmatch(value) is not None

    def mint(self, foreign: str, attempt: int) -> str:
        return self._mint(foreign, attempt)


def _base62(data: bytes, length: int) -> str:
    number = int.from_bytes(data, "big")
    chars = []
    for _ in range(length):
        number, digit = divmod(number, 62)
        chars.append(_ALPHABET[digit])
    return "".join(chars)


def _alnum9(foreign: str, attempt: int) -> str:
    return _base62(hashlib.sha256(f"{attempt}:{foreign}".encode()).digest(), 9)


# Mistral: "Tool call id was call_... but must be a-z, A-Z, 0-9, with a length of 9."
# [jackmpcollins/magentic#276; langchain-ai/langchain PR #24668]
ALNUM9 = IdFormat("alnum9", r"[a-zA-Z0-9]{9}", _alnum9)


def _call64(foreign: str, attempt: int) -> str:
    return "call_" + _base62(hashlib.sha256(f"{attempt}:{foreign}".encode()).digest(), 24)


# OpenAI Responses: `call_id` is 1 to 64 characters [openai-openapi FunctionCallOutputItemParam]; any id in that range
# passes unchanged, a longer (or empty) one becomes `call_` + 24 base-62 characters.
MAX64 = IdFormat("max64", r"(?s).{1,64}", _call64)


def _toolu(foreign: str, attempt: int) -> str:
    return "toolu_" + _base62(hashlib.sha256(f"{attempt}:{foreign}".encode()).digest(), 24)


# Anthropic Messages: "messages.N.content.M.tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'"
# [CommandCodeAI/command-code#323; RooCodeInc/Roo-Code PR #10649]. OpenAI's `call_...` and Mistral's ids pass
# unchanged; anything else becomes `toolu_` + 24 base-62 characters.
TOOL_USE_ID = IdFormat("tool_use_id", r"[a-zA-Z0-9_-]+", _toolu)


def _ids_in(messages: Iterable[Message]) -> list[str]:
    ids: list[str] = []
    for message in messages:
        ids.extend(call.id for call in message.tool_calls)
        if message.tool_call_id is not None:
            ids.append(message.tool_call_id)
    return ids


def remap_tool_call_ids(messages: Iterable[Message], fmt: IdFormat) -> dict[str, str]:
    """Map every id in the conversation that `fmt` rejects to one it accepts; ids it accepts are not in the map.

    >>> from allos.types import ToolCall
    >>> history = [Message(role="assistant", tool_calls=[ToolCall(id="call_1", name="f")]),
    ...            Message(role="tool", tool_call_id="call_1", content="ok")]
    >>> mapping = remap_tool_call_ids(history, ALNUM9)
    >>> len(mapping["call_1"]), mapping["call_1"].isalnum()
    (9, True)
    """
    ids = _ids_in(messages)
    taken = {i for i in ids if fmt.valid(i)}
    mapping: dict[str, str] = {}
    for foreign in ids:
        if foreign in mapping or fmt.valid(foreign):
            continue
        attempt = 0
        candidate = fmt.mint(foreign, attempt)
        while candidate in taken:
            attempt += 1
            candidate = fmt.mint(foreign, attempt)
        taken.add(candidate)
        mapping[foreign] = candidate
    return mapping
