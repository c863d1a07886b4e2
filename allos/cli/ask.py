"""`allos PROMPT`: set up an agent from the options, a session file and the environment, run it, save the session.

Exit codes: 0 answered; 1 the provider failed (or the session could not be written); 2 a usage or setup error (an
unknown provider, a missing key, an unreadable session); 3 stopped at max_iterations without an answer; 130
interrupted. Every error is one line on stderr starting `allos: `, never a traceback; an exception nothing expects (a
bug) is `allos: internal error: <type>: <message>`, scrubbed of every key, with exit code 1.

Where each setting comes from, first found wins: the option; the session file (its provider settings only while the
provider stays the same); the environment (`ALLOS_PROVIDER`, the alias's key and base-URL variables); the registry
(default model and base URL).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

from pydantic import ValidationError

from allos.agent import Agent, AgentConfig, Session
from allos.agent.display import ApprovalRequest, Approver, ScrubbingDisplay
from allos.agent.loop import AgentResult
from allos.cli.guard import environment_secrets, internal_error, scrub
from allos.errors import AllosError, ConfigurationError, redact, redact_json
from allos.providers.registry import get_spec

__all__ = [
    "DEFAULT_PROVIDER",
    "EXIT_FAILED",
    "EXIT_INCOMPLETE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "AskOptions",
    "build_config",
    "run_ask",
]

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2
EXIT_INCOMPLETE: Final = 3
EXIT_INTERRUPTED: Final = 130
DEFAULT_PROVIDER: Final = "openai"
_QUIT: Final = frozenset({"exit", "quit", ":q"})


@dataclass(frozen=True)
class AskOptions:
    """The command line, as given (None: not given)."""

    prompt: str | None = None
    provider: str | None = None
    model: str | None = None
    base_url: str | None = None
    api_key: str | None = None
    max_tokens: int | None = None
    max_iterations: int | None = None
    no_tools: bool = False
    session: Path | None = None
    interactive: bool = False
    yes: bool = False
    verbose: bool = False
    workdir: Path = Path(".")
    allow_outside: bool = False


class _Stop(Exception):
    """Ends the command with one line on stderr and an exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def run_ask(options: AskOptions) -> int:
    """Run the command; returns the exit code. Nothing escapes as a traceback: an exception no branch expects (a
    bug) is one scrubbed line, `allos: internal error: <type>: <message>`, and exit code 1."""
    try:
        return _run_ask(options)
    except Exception as exc:
        secrets = [*environment_secrets(()), *([options.api_key] if options.api_key else [])]
        return _internal(exc, secrets, options.verbose)


def _run_ask(options: AskOptions) -> int:
    from allos.cli.render import RichDisplay, TerminalApprover, make_console

    out, err = make_console(), make_console(stderr=True)
    with _verbose_logging(options.verbose) as redaction:
        try:
            # What the model says and tools return may repeat the key: both pass through the same redaction as
            # the log lines (its list gains the key once the config is known, below).
            display = ScrubbingDisplay(RichDisplay(out, err, verbose=options.verbose), redaction.secrets)
            agent = _make_agent(options, display, _scrubbing(TerminalApprover(err), redaction.secrets))
        except _Stop as stop:
            return _fail(str(stop), stop.code)
        redaction.secrets += _keys(agent.config)
        with agent:
            code = _turn(agent, options.prompt, options) if options.prompt is not None else EXIT_OK
            if options.interactive and code != EXIT_INTERRUPTED:
                code = _conversation(agent, options)
            return code


def _make_agent(options: AskOptions, display: Any, approver: Any) -> Agent:
    if options.prompt is None and not options.interactive:
        raise _Stop('give a prompt, e.g. allos "list the files here", or start a conversation with --interactive', 2)
    session = _load_session(options.session)
    try:
        config = build_config(options, session)
    except ConfigurationError as exc:
        raise _Stop(str(exc), EXIT_USAGE) from None
    except ValidationError as exc:
        raise _Stop(f"invalid option: {_first_error(exc)}", EXIT_USAGE) from None
    _preflight(config)
    logging.getLogger("allos.agent").debug("config: %r", config)
    messages = session.messages if session is not None else ()
    return Agent(config, messages=messages, display=display, approve=approver)


def build_config(options: AskOptions, session: Session | None) -> AgentConfig:
    """The agent's config from the options, then the session, then the environment and the registry."""
    given: dict[str, Any] = {
        "provider": options.provider,
        "model": options.model,
        "base_url": options.base_url,
        "api_key": options.api_key,
        "max_tokens": options.max_tokens,
        "max_iterations": options.max_iterations,
    }
    settings = {name: value for name, value in given.items() if value is not None}
    if options.no_tools:
        settings["tools_enabled"] = False
    settings |= {
        "workdir": options.workdir,
        "auto_approve": options.yes,
        "allow_outside_workdir": options.allow_outside,
    }
    if session is not None:
        return session.config(**settings)  # another provider: the session's model and base URL stay behind
    settings.setdefault("provider", os.environ.get("ALLOS_PROVIDER", "").strip() or DEFAULT_PROVIDER)
    return AgentConfig(**settings)


def _preflight(config: AgentConfig) -> None:
    """What the provider will need, checked before anything runs, with the flag that fixes it."""
    spec = get_spec(config.provider)
    if config.api_key is None and spec.api_key_required and not _env(spec.api_key_env):
        raise _Stop(
            f"{spec.name} needs an API key: set {spec.api_key_env} or pass --api-key"
            " (allos --active-providers shows which providers are ready)",
            EXIT_USAGE,
        )
    if config.base_url is None and not spec.base_url and not _env(spec.base_url_env):
        raise _Stop(f"{spec.name} has no default address: pass --base-url or set {spec.base_url_env}", EXIT_USAGE)
    if config.model is None and not spec.default_model:
        raise _Stop(f"{spec.name} has no default model: pass --model", EXIT_USAGE)


def _turn(agent: Agent, prompt: str, options: AskOptions) -> int:
    """One prompt: run, save the session, report. Errors are one line; the history is unchanged by a failed run."""
    try:
        result = agent.run(prompt)
    except ConfigurationError as exc:
        return _fail(str(exc), EXIT_USAGE, agent)
    except AllosError as exc:
        return _fail(str(exc), EXIT_FAILED, agent)
    except KeyboardInterrupt:
        return _fail("interrupted; this prompt was not added to the conversation", EXIT_INTERRUPTED, agent)
    except Exception as exc:  # a bug (or an answer no parser foresaw): one line; the history is rolled back
        agent.display.end_text()
        return _internal(exc, _keys(agent.config), options.verbose)
    if options.session is not None:
        try:
            agent.session().save(options.session)
        except AllosError as exc:
            return _fail(str(exc), EXIT_FAILED)
    if options.verbose:
        _summary(result)
    return EXIT_INCOMPLETE if result.stop_reason == "max_iterations" else EXIT_OK


def _conversation(agent: Agent, options: AskOptions) -> int:
    """--interactive: prompt after prompt on the same history, until end of input, `exit` or Ctrl-C at the prompt."""
    sys.stderr.write("allos: a conversation; end it with Ctrl-D or 'exit'\n")
    code = EXIT_OK
    while True:
        try:
            line = input("> ")
        except (EOFError, KeyboardInterrupt):
            sys.stderr.write("\n")
            return code
        if line.strip().lower() in _QUIT:
            return code
        if line.strip():
            code = _turn(agent, line, options)
            code = EXIT_OK if code == EXIT_INTERRUPTED else code  # Ctrl-C in a turn ends the turn, not the talk


def _summary(result: AgentResult) -> None:
    usage = result.usage
    calls = f"{result.tool_calls} tool call{'s' if result.tool_calls != 1 else ''}"
    cost = f"; cost ${usage.cost.amount:.6f} ({usage.cost.source})" if usage.cost is not None else "; cost unknown"
    sys.stderr.write(
        f"allos: {result.stop_reason} after {result.iterations} model calls and {calls};"
        f" {usage.input_tokens} tokens in, {usage.output_tokens} out{cost}\n"
    )


def _load_session(path: Path | None) -> Session | None:
    if path is None:
        return None
    try:
        os.lstat(path)
    except FileNotFoundError:
        return None  # a new session: written after the first answer
    except OSError as exc:  # e.g. a path through a file: it could not be written either
        raise _Stop(f"cannot read session {path}: {exc.strerror or exc}", EXIT_USAGE) from None
    try:
        return Session.load(path)
    except AllosError as exc:
        raise _Stop(str(exc), EXIT_USAGE) from None


def _fail(message: str, code: int, agent: Agent | None = None) -> int:
    if agent is not None:
        agent.display.end_text()  # a stream cut mid-line: the error starts on a line of its own
        message = scrub(message, _keys(agent.config))  # errors are scrubbed where raised; this is the last guard
    sys.stderr.write(f"allos: {message}\n")
    sys.stderr.flush()
    return code


def _internal(exc: BaseException, secrets: list[str], verbose: bool) -> int:
    for line in internal_error(exc, secrets, verbose=verbose):
        sys.stderr.write(f"allos: {line}\n")
    sys.stderr.flush()
    return EXIT_FAILED


def _scrubbing(approver: Approver, secrets: list[str]) -> Approver:
    """The approver, shown the request with every known secret replaced (a write's preview may hold the key)."""

    def ask(request: ApprovalRequest) -> bool:
        cleaned = replace(
            request, arguments=redact_json(dict(request.arguments), secrets), preview=redact(request.preview, secrets)
        )
        return approver(cleaned)

    return ask


def _keys(config: AgentConfig) -> list[str]:
    """Every secret this run may use: the key given or in the provider's variable, and the header values."""
    return list(config.known_secrets())


def _env(name: str | None) -> str:
    return os.environ.get(name, "").strip() if name else ""


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where.replace('_', '-')}: {error['msg']}"


class _Redact(logging.Filter):
    """Replaces secrets in every record a handler emits: the last guard, should a key ever reach a log message."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message, self.secrets)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


@contextmanager
def _verbose_logging(verbose: bool) -> Iterator[_Redact]:
    """--verbose: Allos's and httpx's log lines on stderr, secrets redacted; removed again afterwards."""
    redaction = _Redact([])
    if not verbose:
        yield redaction
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    handler.addFilter(redaction)
    loggers = [logging.getLogger(name) for name in ("allos", "httpx")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG if logger.name == "allos" else logging.INFO)
    try:
        yield redaction
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)
