"""The agent loop: ask the model, run the tools it calls, send the results back, until it answers.

    chat ──> tool calls? ──no──> answer (stop_reason "answered")
               │ yes
               └─> run each tool (asking approval where needed) ──> tool results ──> chat ...
    after max_iterations model calls: a clear stop (stop_reason "max_iterations"), never a hang

Policies:
- A tool never breaks the loop: an unknown tool, arguments that are not JSON or do not fit the schema, a refused
  path, a declined approval, a missing program, an exception: each goes back to the model as a tool result with
  `is_error=True`, and the model decides what to do next.
- A run is all or nothing for the history: if it fails (a provider error, Ctrl-C), the messages it added are taken
  back, so the conversation is always one every provider accepts (every tool call answered, roles in order).
- At the limit, the calls the model still asked for are answered "not run" and a short assistant note closes the
  turn, for the same reason: the next prompt, on any provider, continues a valid conversation.
- Text streams to the display as it arrives when the alias streams (and streams tool calls, when tools are on);
  otherwise one non-streaming call per step. An alias that takes no tools runs chat-only, with a notice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from allos.agent.config import AgentConfig
from allos.agent.display import ApprovalRequest, Approver, Display, PlainDisplay, ask_on_terminal
from allos.agent.session import Session
from allos.agent.tools import Tool, ToolError, ToolResult
from allos.agent.workspace import Workspace
from allos.capabilities import Capability
from allos.providers import Provider
from allos.types import ChatResponse, Cost, Message, StreamEnd, TextDelta, ToolCall, ToolSpec, Usage

__all__ = ["DEFAULT_SYSTEM_PROMPT", "Agent", "AgentResult", "StopReason", "builtin_tools"]

logger = logging.getLogger("allos.agent")

StopReason = Literal["answered", "length", "content_filter", "max_iterations"]

DEFAULT_SYSTEM_PROMPT = (
    "You are Allos, a careful assistant working in the directory {workdir}. Use the tools to read files, list"
    " directories, edit files and run commands when the task needs it; answer concisely when it is done."
)
CHAT_ONLY_SYSTEM_PROMPT = "You are Allos, a careful, concise assistant."


@dataclass(frozen=True)
class AgentResult:
    """How a run ended. `text` is the final answer (empty when the run stopped without one)."""

    text: str
    stop_reason: StopReason
    iterations: int  # model calls made
    tool_calls: int  # tool calls answered (run, failed or declined)
    usage: Usage
    messages: tuple[Message, ...]  # what the run added to the conversation


def builtin_tools(config: AgentConfig) -> list[Tool]:
    """The built-in tools for `config`'s working directory and limits; add your own beside them:
    `Agent(config, [*builtin_tools(config), my_tool])`."""
    return Workspace(
        config.workdir, allow_outside=config.allow_outside_workdir, shell_timeout=config.shell_timeout
    ).tools()


class Agent:
    """An agent over one provider at a time: `Agent(config, tools).run(prompt)`.

    `tools=None` gives the built-in tools; a sequence gives exactly those. `messages` continues a conversation.
    `display` receives what happens (default: plain text on stdout/stderr); `approve` is asked before a tool that
    needs approval (default: a question on the terminal; `config.auto_approve` skips it). `provider` replaces the one
    the config would make (tests, custom clients).
    """

    def __init__(
        self,
        config: AgentConfig | None = None,
        tools: Sequence[Tool] | None = None,
        *,
        messages: Sequence[Message] = (),
        display: Display | None = None,
        approve: Approver | None = None,
        provider: Provider | None = None,
    ) -> None:
        self.config = config if config is not None else AgentConfig()
        tool_list = builtin_tools(self.config) if tools is None else list(tools)
        self.tools: dict[str, Tool] = {}
        for item in tool_list:
            if item.name in self.tools:
                raise ValueError(f"two tools are named {item.name!r}; tool names must be unique")
            self.tools[item.name] = item
        self.messages: list[Message] = list(messages)
        self.display = display if display is not None else PlainDisplay()
        self._approve = approve or ask_on_terminal
        self._provider = provider
        self._chat_only_noted = False

    @classmethod
    def from_session(
        cls,
        session: Session,
        tools: Sequence[Tool] | None = None,
        *,
        display: Display | None = None,
        approve: Approver | None = None,
        **settings: Any,
    ) -> Agent:
        """Continue a saved session. `settings` (config fields) override the session's; naming another `provider`
        first resets the session's provider settings, so its base URL never reaches the new provider."""
        return cls(session.config(**settings), tools, messages=session.messages, display=display, approve=approve)

    # --- provider ----------------------------------------------------------------------------------------------------

    @property
    def provider(self) -> Provider:
        """The provider, made from the config on first use (a `ConfigurationError` names what is missing)."""
        if self._provider is None:
            self._provider = self.config.make_provider()
        return self._provider

    def switch_provider(self, provider: str, **settings: object) -> None:
        """Continue this conversation on another alias. Its provider settings (model, base URL, key, headers) reset
        to `settings` or the new alias's defaults; the history goes along (the protocols re-map what they must)."""
        config = self.config.with_provider(provider, **settings)
        self.close()
        self.config, self._provider, self._chat_only_noted = config, None, False

    def session(self) -> Session:
        """The conversation so far, ready to `save`: the key and header values this agent holds are scrubbed from
        its text (a provider or a tool may have echoed them)."""
        model = self._provider.model if self._provider is not None else self.config.model
        session = Session.from_config(self.config, tuple(self.messages), model=model)
        return session.scrubbed(self.config.known_secrets())

    def close(self) -> None:
        if self._provider is not None:
            self._provider.close()

    def __enter__(self) -> Agent:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- the loop ----------------------------------------------------------------------------------------------------

    def run(self, prompt: str) -> AgentResult:
        """Answer `prompt`, calling tools as the model asks, for at most `config.max_iterations` model calls."""
        mark = len(self.messages)
        if not self.messages and (system := self._system_prompt()):
            self.messages.append(Message(role="system", content=system))
        self.messages.append(Message(role="user", content=prompt))
        try:
            return self._loop(mark)
        except BaseException:
            del self.messages[mark:]  # all or nothing: the history stays one that every provider accepts
            raise

    def _loop(self, mark: int) -> AgentResult:
        limit = self.config.max_iterations
        usage, answered = Usage(), 0
        for iteration in range(1, limit + 1):
            response = self._ask(iteration)
            usage = _add(usage, response.usage)
            self.messages.append(response.message)
            if not response.tool_calls:
                return self._result(mark, response.text, _stop_reason(response), iteration, answered, usage)
            if iteration == limit:
                break
            for call in response.tool_calls:
                self.messages.append(self._answer(call))
                answered += 1
        return self._stop_at_limit(mark, response, answered, usage)

    def _stop_at_limit(self, mark: int, response: ChatResponse, answered: int, usage: Usage) -> AgentResult:
        limit = self.config.max_iterations
        reason = f"not run: the agent stopped at its limit of {limit} model calls (max_iterations)"
        for call in response.tool_calls:
            self.messages.append(Message(role="tool", tool_call_id=call.id, content=reason, is_error=True))
        names = ", ".join(call.name for call in response.tool_calls)
        note = f"(stopped after {limit} model calls without a final answer; the calls to {names} were not run)"
        self.messages.append(Message(role="assistant", content=note))
        self.display.notice(
            f"stopped after {limit} model calls (max_iterations) while the model still wanted to call {names};"
            " raise --max-iterations or send a follow-up prompt to continue"
        )
        logger.info("run stopped at max_iterations=%d", limit)
        return self._result(mark, "", "max_iterations", limit, answered, usage)

    def _result(
        self, mark: int, text: str, reason: StopReason, iterations: int, tool_calls: int, usage: Usage
    ) -> AgentResult:
        if reason == "length":
            self.display.notice("the answer was cut off at max_tokens; raise --max-tokens for a longer one")
        elif reason == "content_filter":
            self.display.notice("the provider's content filter stopped the answer")
        return AgentResult(text, reason, iterations, tool_calls, usage, tuple(self.messages[mark:]))

    def _ask(self, iteration: int) -> ChatResponse:
        """One model call, its text shown as it arrives."""
        tools = self._tool_specs()
        provider = self.provider
        logger.debug(
            "model call %d of %d: %s (%s), %d messages, %d tools",
            iteration,
            self.config.max_iterations,
            provider.spec.name,
            provider.model,
            len(self.messages),
            len(tools),
        )
        if self._streams(tools):
            response = self._ask_streaming(tools)
        else:
            response = provider.chat(
                self.messages, tools=tools, max_tokens=self.config.max_tokens, temperature=self.config.temperature
            )
            self.display.text(response.text)
        self.display.end_text()
        self.display.response(response)
        return response

    def _ask_streaming(self, tools: tuple[ToolSpec, ...]) -> ChatResponse:
        events = self.provider.stream(
            self.messages, tools=tools, max_tokens=self.config.max_tokens, temperature=self.config.temperature
        )
        response: ChatResponse | None = None
        for event in events:
            if isinstance(event, TextDelta):
                self.display.text(event.text)
            elif isinstance(event, StreamEnd):
                response = event.response
        assert response is not None, "every stream ends with StreamEnd"  # the decoders guarantee it
        return response

    def _tool_specs(self) -> tuple[ToolSpec, ...]:
        if not self.config.tools_enabled or not self.tools:
            return ()
        if not self.provider.spec.supports(Capability.TOOLS):
            if not self._chat_only_noted:
                self._chat_only_noted = True
                self.display.notice(f"{self.provider.spec.name} does not take tools; running chat-only")
            return ()
        return tuple(item.spec for item in self.tools.values())

    def _streams(self, tools: tuple[ToolSpec, ...]) -> bool:
        spec = self.provider.spec
        if not self.config.stream or not spec.supports(Capability.STREAMING):
            return False
        return not tools or spec.supports(Capability.STREAMING_TOOL_CALLS)

    def _system_prompt(self) -> str:
        if self.config.system_prompt is not None:
            return self.config.system_prompt
        if self.config.tools_enabled and self.tools:
            return DEFAULT_SYSTEM_PROMPT.format(workdir=self.config.workdir)
        return CHAT_ONLY_SYSTEM_PROMPT

    # --- tools -------------------------------------------------------------------------------------------------------

    def _answer(self, call: ToolCall) -> Message:
        """Run one tool call and turn its outcome into the tool message the model reads next."""
        result = self._run_tool(call)
        content = _cap(result.content, self.config.max_output_chars)
        logger.debug("tool %s: %s, %d characters", call.name, "error" if result.is_error else "ok", len(content))
        self.display.tool_result(call, ToolResult(content, result.is_error))
        return Message(role="tool", tool_call_id=call.id, content=content, is_error=result.is_error)

    def _run_tool(self, call: ToolCall) -> ToolResult:
        item = self.tools.get(call.name) if self.config.tools_enabled else None
        if item is None:
            known = ", ".join(self.tools) if self.config.tools_enabled and self.tools else "none"
            return ToolResult(f"there is no tool named {call.name!r}; the tools are: {known}", is_error=True)
        if not call.arguments_valid:
            return ToolResult(
                f"the arguments are not a JSON object ({call.arguments_error}); send an object that matches the"
                f" {call.name} schema",
                is_error=True,
            )
        self.display.tool_call(call)
        try:
            arguments = item.validate(call.arguments)
            if item.needs_approval and not self.config.auto_approve:
                preview = item.preview(arguments) if item.preview is not None else f"call {call.name}"
                if not self._approve(ApprovalRequest(call.name, arguments, preview)):
                    return ToolResult(
                        f"the user declined this {call.name} call; it was not run. Ask the user or try another way.",
                        is_error=True,
                    )
        except ToolError as exc:
            return ToolResult(str(exc), is_error=True)
        except Exception as exc:  # a preview or approver that failed: still the model's to handle
            return ToolResult(f"{type(exc).__name__}: {exc}", is_error=True)
        return item.run(arguments)


def _stop_reason(response: ChatResponse) -> StopReason:
    if response.finish_reason == "length":
        return "length"
    if response.finish_reason == "content_filter":
        return "content_filter"
    return "answered"


def _cap(text: str, limit: int) -> str:
    """At most `limit` characters: the head and the tail, with how much was cut between them."""
    if len(text) <= limit:
        return text
    marker = f"\n[... {len(text) - limit} characters cut ...]\n"
    head = (limit - len(marker)) * 3 // 4
    tail = limit - len(marker) - head
    return text[:head] + marker + text[len(text) - tail :]


def _add(total: Usage, more: Usage) -> Usage:
    """The run's usage so far plus one more call's. The cost is the sum while every call has one (billed only when
    every call's is), and unknown (None) from the first call without one: a partial sum would read as the total."""
    first = total == _NO_USAGE
    return Usage(
        input_tokens=total.input_tokens + more.input_tokens,
        output_tokens=total.output_tokens + more.output_tokens,
        total_tokens=(total.total_tokens or 0) + (more.total_tokens or more.input_tokens + more.output_tokens),
        cached_input_tokens=_plus(total.cached_input_tokens, more.cached_input_tokens),
        cache_write_tokens=_plus(total.cache_write_tokens, more.cache_write_tokens),
        reasoning_tokens=_plus(total.reasoning_tokens, more.reasoning_tokens),
        cost=more.cost if first else _cost_plus(total.cost, more.cost),
    )


_NO_USAGE: Final = Usage()


def _plus(a: int | None, b: int | None) -> int | None:
    return None if a is None and b is None else (a or 0) + (b or 0)


def _cost_plus(a: Cost | None, b: Cost | None) -> Cost | None:
    if a is None or b is None:
        return None
    source = "billed" if a.source == b.source == "billed" else "estimated"
    return Cost(amount=a.amount + b.amount, source=source)
