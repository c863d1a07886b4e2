"""Allos: one canonical message model for the whole LLM ecosystem.

>>> from allos import get_provider, Message
>>> provider = get_provider("groq", api_key="gsk-example-key")     # or GROQ_API_KEY in the environment
>>> provider.spec.base_url
'https://api.groq.com/openai/v1'
"""

from __future__ import annotations

from allos import errors
from allos._sentinel import NOT_GIVEN
from allos._version import __version__
from allos.capabilities import Capability
from allos.providers import (
    HeaderSpec,
    Provider,
    ProviderSpec,
    get_provider,
    list_providers,
    register_provider,
    unregister_provider,
)
from allos.types import (
    ChatRequest,
    ChatResponse,
    ImagePart,
    Message,
    NamedToolChoice,
    ReasoningDelta,
    ResponseFormat,
    StreamEnd,
    StreamEvent,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallDelta,
    ToolCallDone,
    ToolSpec,
    Usage,
    UsageUpdate,
)

__all__ = [
    "NOT_GIVEN",
    "Capability",
    "ChatRequest",
    "ChatResponse",
    "HeaderSpec",
    "ImagePart",
    "Message",
    "NamedToolChoice",
    "Provider",
    "ProviderSpec",
    "ReasoningDelta",
    "ResponseFormat",
    "StreamEnd",
    "StreamEvent",
    "TextDelta",
    "TextPart",
    "ToolCall",
    "ToolCallDelta",
    "ToolCallDone",
    "ToolSpec",
    "Usage",
    "UsageUpdate",
    "__version__",
    "errors",
    "get_provider",
    "list_providers",
    "register_provider",
    "unregister_provider",
]
