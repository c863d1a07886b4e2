"""`AgentConfig`: everything an agent run is set up with, as one validated, frozen value.

    >>> config = AgentConfig(provider="groq", api_key="gsk-example-0123456789")
    >>> config  # doctest: +ELLIPSIS
    AgentConfig(provider='groq', model=None, base_url=None, max_tokens=None, temperature=None, max_iterations=10, ...)
    >>> "gsk-example" in config.model_dump_json() or "gsk-example" in str(config)
    False
    >>> config.api_key.get_secret_value()
    'gsk-example-0123456789'
    >>> config.with_provider("mistral").base_url is None and config.with_provider("mistral").api_key is None
    True

Policy: the API key is a secret. It is kept in a `SecretStr`, excluded from `repr`, `str`, `model_dump`,
`model_dump_json` and pickling, so no log line, session file or error message built from a config can carry it.
Extra headers are treated the same way (gateways put keys in them). Settings that belong to one provider (model,
base URL, key, headers) are reset by `with_provider`, so one provider's endpoint or key never reaches another.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

if TYPE_CHECKING:
    from allos.providers import Provider

__all__ = ["DEFAULT_MAX_ITERATIONS", "PROVIDER_SETTINGS", "AgentConfig"]

DEFAULT_MAX_ITERATIONS: Final = 10
DEFAULT_MAX_OUTPUT_CHARS: Final = 20_000
#: The settings that belong to one provider and are reset when the conversation moves to another.
PROVIDER_SETTINGS: Final = ("model", "base_url", "api_key", "headers")


class AgentConfig(BaseModel):
    """How an agent runs. Every field has a default; `provider` names a registry alias."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    provider: str = "openai"
    model: str | None = None  # None: the alias's default model, from the registry
    base_url: str | None = None  # None: <ALIAS>_BASE_URL, then the registry's
    api_key: SecretStr | None = Field(default=None, exclude=True, repr=False)  # None: the alias's key variable
    headers: dict[str, str] = Field(default_factory=dict, exclude=True, repr=False)
    max_tokens: int | None = Field(default=None, gt=0)
    temperature: float | None = Field(default=None, ge=0)
    max_iterations: int = Field(default=DEFAULT_MAX_ITERATIONS, ge=1)  # model calls per prompt, at most
    tools_enabled: bool = True
    stream: bool = True
    system_prompt: str | None = None  # None: a short default naming the working directory; "" sends none
    workdir: Path = Field(default_factory=Path.cwd)
    allow_outside_workdir: bool = False
    auto_approve: bool = False  # run writes, edits and commands without asking (--yes)
    shell_timeout: float = Field(default=60.0, gt=0)
    max_output_chars: int = Field(default=DEFAULT_MAX_OUTPUT_CHARS, ge=200)  # of one tool result sent to the model
    timeout: float | None = Field(default=None, gt=0)  # per HTTP request; None: the transport's default
    max_retries: int = Field(default=2, ge=0)

    @field_validator("provider")
    @classmethod
    def _known_alias(cls, name: str) -> str:
        from allos.providers.registry import get_spec

        return get_spec(name).name  # ConfigurationError (naming the known aliases) for an unknown one

    @field_validator("workdir")
    @classmethod
    def _absolute(cls, path: Path) -> Path:
        return path.expanduser().resolve()

    def __str__(self) -> str:
        return repr(self)

    def __getstate__(self) -> dict[Any, Any]:
        # Pickling is a serialisation too: the secrets stay behind (an unpickled config reads the key from the
        # environment again).
        state = super().__getstate__()
        values = dict(state["__dict__"])
        values["api_key"], values["headers"] = None, {}
        return {**state, "__dict__": values}

    def with_provider(self, provider: str, **settings: Any) -> AgentConfig:
        """This config moved to another alias: its provider settings (model, base URL, key, headers) reset, the
        rest kept; `settings` then set what is given (e.g. `base_url=`)."""
        reset: dict[str, Any] = {"model": None, "base_url": None, "api_key": None, "headers": {}}
        return self.model_validate({**self._values(), **reset, "provider": provider, **settings})

    def replace(self, **settings: Any) -> AgentConfig:
        """A copy with `settings` changed, validated (unlike `model_copy(update=...)`)."""
        return self.model_validate({**self._values(), **settings})

    def known_secrets(self) -> tuple[str, ...]:
        """Every secret value a run with this config may send: the key (given, or from the alias's key variable) and
        the extra header values (with and without an auth scheme such as "Bearer "). For scrubbing, never for use."""
        from allos.providers.registry import get_spec

        key_env = get_spec(self.provider).api_key_env
        values = [
            self.api_key.get_secret_value() if self.api_key is not None else "",
            os.environ.get(key_env, "").strip() if key_env else "",
        ]
        for value in self.headers.values():
            values += [value, value.split(" ", 1)[-1]]
        return tuple(dict.fromkeys(value for value in values if value))

    def make_provider(self) -> Provider:
        """A ready `Provider` for these settings (a `ConfigurationError` names what is missing)."""
        from allos._sentinel import NOT_GIVEN
        from allos.providers import get_provider

        return get_provider(
            self.provider,
            model=self.model,
            api_key=self.api_key.get_secret_value() if self.api_key is not None else None,
            base_url=self.base_url,
            headers=self.headers or None,
            timeout=self.timeout if self.timeout is not None else NOT_GIVEN,
            max_retries=self.max_retries,
        )

    def _values(self) -> dict[str, Any]:
        # Every field, secrets included (model_dump leaves them out by design).
        return {name: getattr(self, name) for name in type(self).model_fields}
