"""The Allos agent: one loop of chat -> tool calls -> tool results -> chat that works over any provider.

    from allos.agent import Agent, AgentConfig

    config = AgentConfig(provider="groq")                  # key from GROQ_API_KEY, model from the registry
    with Agent(config) as agent:                            # the built-in tools, in the current directory
        result = agent.run("list the files here")           # the answer streams to stdout as it comes
        agent.session().save("chat.json")                   # continue later: Agent.from_session(Session.load(...))

Add a tool of your own from a typed function (its JSON Schema comes from the signature):

    >>> from allos.agent import AgentConfig, builtin_tools, tool
    >>> @tool
    ... def word_count(text: str) -> int:
    ...     '''Count the words in a text.'''
    ...     return len(text.split())
    >>> tools = [*builtin_tools(AgentConfig()), word_count]
    >>> [t.name for t in tools]
    ['read_file', 'list_directory', 'write_file', 'edit_file', 'run_shell', 'word_count']

See docs/guides/agent.md. Nothing here is imported by `import allos`: the agent is an opt-in layer on top of the
provider layer.
"""

from __future__ import annotations

from allos.agent.config import PROVIDER_SETTINGS, AgentConfig
from allos.agent.display import ApprovalRequest, Approver, Display, PlainDisplay, ask_on_terminal
from allos.agent.loop import DEFAULT_SYSTEM_PROMPT, Agent, AgentResult, StopReason, builtin_tools
from allos.agent.session import Session, SessionError, SessionSettings
from allos.agent.tools import Tool, ToolError, ToolResult, tool
from allos.agent.workspace import Workspace

__all__ = [
    "DEFAULT_SYSTEM_PROMPT",
    "PROVIDER_SETTINGS",
    "Agent",
    "AgentConfig",
    "AgentResult",
    "ApprovalRequest",
    "Approver",
    "Display",
    "PlainDisplay",
    "Session",
    "SessionError",
    "SessionSettings",
    "StopReason",
    "Tool",
    "ToolError",
    "ToolResult",
    "Workspace",
    "ask_on_terminal",
    "builtin_tools",
    "tool",
]
