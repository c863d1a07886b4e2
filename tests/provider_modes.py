"""Calling a provider in each of its four modes, the same way in every HTTP test module."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from allos.providers import Provider
from allos.types import StreamEnd, StreamEvent

__all__ = ["opened", "run"]

P = TypeVar("P", bound=Provider)


@asynccontextmanager
async def opened(provider: P) -> AsyncIterator[P]:
    """Close both the sync and the async client, whichever the test used."""
    try:
        yield provider
    finally:
        provider.close()
        await provider.aclose()


async def run(provider: Provider, mode: str, messages: Sequence[Any], **options: Any) -> list[StreamEvent]:
    """One call in `mode`; a non-streaming answer comes back as a lone StreamEnd so every mode reads the same."""
    if mode == "chat":
        return [StreamEnd(response=provider.chat(messages, **options))]
    if mode == "achat":
        return [StreamEnd(response=await provider.achat(messages, **options))]
    events: list[StreamEvent] = []
    if mode == "stream":
        events.extend(provider.stream(messages, **options))
    else:
        async for event in provider.astream(messages, **options):
            events.append(event)
    return events
