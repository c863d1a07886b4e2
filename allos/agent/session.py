"""Sessions: a conversation saved as JSON, to continue later, on the same provider or another.

    >>> import pathlib, tempfile
    >>> from allos.types import Message
    >>> session = Session(provider="groq", model="llama-3.3-70b-versatile",
    ...                   messages=[Message(role="user", content="hi")])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     session.save(pathlib.Path(tmp) / "chat.json")
    ...     Session.load(pathlib.Path(tmp) / "chat.json") == session
    True
    >>> moved = session.config(provider="mistral")      # continue on Mistral: Groq's model and base URL stay behind
    >>> moved.provider, moved.model
    ('mistral', None)

What a session file holds: the messages, the provider, the model, and the settings that shape the conversation
(base URL, max_tokens, temperature, max_iterations, tools on or off). Never the API key or extra headers (the
`Session` model has no field for them), and never what grants permissions (approval, paths outside the working
directory): a session file someone hands you cannot make the agent run commands without asking.

Known secrets are scrubbed from saved text: `Agent.session()` replaces the API key and the extra header values the
agent holds wherever they appear in the messages (content, tool arguments, tool results), since a provider or a tool
may echo them back. Reading a session answers every bad file (not JSON, nested too deep, the wrong structure, not
UTF-8, a directory, a FIFO, unreadable) with one `SessionError`.

Policy: files are written atomically (a temporary file in the same directory, flushed to disk, then `os.replace`),
so a crash leaves the old session or the new one, never a truncated file. The file is private to its owner (0600).
"""

from __future__ import annotations

import errno
import json
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from allos.agent.config import DEFAULT_MAX_ITERATIONS, AgentConfig
from allos.errors import AllosError, redact_json
from allos.providers.registry import get_spec
from allos.types import Message

__all__ = ["Session", "SessionError", "SessionSettings", "write_atomic"]


class SessionError(AllosError):
    """A session file that cannot be read or written."""


class SessionSettings(BaseModel):
    """The settings a session keeps. `base_url` belongs to the session's provider and is dropped on a switch."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str | None = None
    max_tokens: int | None = Field(default=None, gt=0)
    temperature: float | None = Field(default=None, ge=0)
    max_iterations: int = Field(default=DEFAULT_MAX_ITERATIONS, ge=1)
    tools_enabled: bool = True


class Session(BaseModel):
    """A saved conversation."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1] = 1
    provider: str
    model: str | None = None
    settings: SessionSettings = Field(default_factory=SessionSettings)
    messages: tuple[Message, ...] = ()

    @classmethod
    def from_config(cls, config: AgentConfig, messages: tuple[Message, ...], *, model: str | None = None) -> Session:
        """A session of `messages` run with `config`; `model` is the model really used (the registry's default when
        the config named none)."""
        settings = SessionSettings(
            base_url=config.base_url,
            max_tokens=config.max_tokens,
            temperature=config.temperature,
            max_iterations=config.max_iterations,
            tools_enabled=config.tools_enabled,
        )
        return cls(provider=config.provider, model=model or config.model, settings=settings, messages=messages)

    def config(self, **overrides: Any) -> AgentConfig:
        """The config to continue with. `overrides` win; naming another provider first resets this session's
        provider settings (model, base URL), so they never reach the new provider."""
        config = AgentConfig(provider=self.provider, model=self.model, **self.settings.model_dump())
        provider = overrides.pop("provider", None)
        if provider is not None and get_spec(provider).name != config.provider:
            config = config.with_provider(provider)
        return config.replace(**overrides) if overrides else config

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the session as JSON, atomically."""
        try:
            write_atomic(Path(path), self.to_json())
        except OSError as exc:
            raise SessionError(f"cannot write session {path}: {exc.strerror or exc}") from exc

    def to_json(self) -> str:
        """The file's text: fields at their defaults left out (a message is its role, its content and what it
        has), so a session reads and diffs well."""
        data = {
            "version": self.version,
            "provider": self.provider,
            **self.model_dump(mode="json", exclude_defaults=True),
        }
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"

    def scrubbed(self, secrets: Iterable[str]) -> Session:
        """This session with every occurrence of each secret in its text replaced by `[REDACTED]`."""
        values = [secret for secret in secrets if secret]
        if not values:
            return self
        data = self.model_dump(mode="json")
        cleaned = redact_json(data, values)
        return self if cleaned == data else type(self).model_validate(cleaned)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Session:
        """Read a session file; `SessionError` says what is wrong with it."""
        try:
            text = _read_regular(Path(path)).decode("utf-8")
        except OSError as exc:
            raise SessionError(f"cannot read session {path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise SessionError(f"{path} is not an allos session: not UTF-8 text") from None
        try:
            return cls.model_validate(json.loads(text))
        except RecursionError:
            raise SessionError(f"{path} is not an allos session: its JSON is nested too deeply") from None
        except (ValueError, TypeError) as exc:  # JSON errors and pydantic's ValidationError are ValueErrors
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise SessionError(f"{path} is not an allos session: {first}") from None


def _read_regular(path: Path) -> bytes:
    """The bytes of the regular file at `path`; OSError for anything else (a FIFO is never waited on)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as handle:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "it is a directory")
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, "not a regular file")
        return handle.read()


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file in the same directory, flushed, then renamed over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
