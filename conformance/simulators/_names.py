"""Model names as each provider documents them: a naming pattern per provider, not a short allow-list.

A simulator accepts every name that follows its provider's documented naming and answers the provider's
unknown-model error for the rest, so a real, current model id is served while a name that is clearly invalid
(`allos-no-such-model`, `non-existent-model`) is still refused. Each pattern is written from the page cited beside
it (never from Allos's registry or profiles: the independence rule in docs/simulators.md). A `ModelFamily` is a
`Collection[str]`: `name in family` matches the pattern, iterating gives the documented examples (the `GET /models`
listing and the model a rule's violation uses).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Final

__all__ = ["ModelFamily", "Naming"]


@dataclass(frozen=True)
class ModelFamily(Collection[str]):
    """The names a provider serves: `pattern` (full match) or one of `examples`."""

    pattern: re.Pattern[str]
    examples: tuple[str, ...]
    source: str

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (name in self.examples or self.pattern.fullmatch(name) is not None)

    def __iter__(self) -> Iterator[str]:
        return iter(self.examples)

    def __len__(self) -> int:
        return len(self.examples)


@dataclass(frozen=True)
class Naming:
    """A provider's documented naming: a regular expression and the page it is written from."""

    regex: str
    source: str

    def family(self, *examples: str) -> ModelFamily:
        """`OPENAI.family("gpt-4o-mini")`: the names that follow this naming, listed by the given examples."""
        family = ModelFamily(re.compile(self.regex), examples, self.source)
        unnamed = [name for name in examples if family.pattern.fullmatch(name) is None]
        if unnamed:
            raise ValueError(f"examples outside the naming {self.regex!r}: {unnamed}")
        return family


_DATE: Final = r"(?:\d{4}-\d{2}-\d{2}|\d{4})"  # 2024-07-18 snapshots and the older 0613 / 0125 / 1106 ones
_OPENAI_VARIANT: Final = (
    r"(?:mini|nano|pro|turbo|preview|instruct|16k|32k|vision|audio|realtime|search|chat|latest|codex|max"
    r"|deep-research|transcribe|tts)"
)
_OPENAI_STEM: Final = r"(?:gpt-(?:3\.5|4(?:\.[15])?|4o|5(?:\.\d+)?)|o1|o3|o4-mini|chatgpt-4o|codex-mini)"
_OPENAI_BASE: Final = rf"{_OPENAI_STEM}(?:-(?:{_OPENAI_VARIANT}|{_DATE}))*"

# platform.openai.com/docs/models: gpt-4o, gpt-4o-mini-2024-07-18, gpt-4.1-nano, gpt-4-0125-preview, gpt-3.5-turbo,
# gpt-5, gpt-5.2, o1-mini, o3-mini, o4-mini, chatgpt-4o-latest, codex-mini-latest; fine-tuned models are
# `ft:<base>:<org>[:<suffix>]:<id>` (platform.openai.com/docs/guides/fine-tuning).
OPENAI: Final = Naming(
    rf"{_OPENAI_BASE}|ft:{_OPENAI_BASE}(?::[A-Za-z0-9_.-]*)+", "https://platform.openai.com/docs/models"
)

# The reasoning models (o-series and the gpt-5 family, not gpt-5-chat) take `max_completion_tokens` and only the
# default temperature [platform.openai.com/docs/guides/reasoning, "Reasoning models" and the API reference of
# `max_tokens`: "not compatible with o-series models"].
OPENAI_REASONING: Final = Naming(
    rf"(?:o1|o3|o4-mini|gpt-5(?:\.\d+)?)(?!-chat)(?:-(?:{_OPENAI_VARIANT}|{_DATE}))*",
    "https://platform.openai.com/docs/guides/reasoning",
)

# The o1 models refuse `stop` (o3-mini takes it): the live API answered 400 unsupported_parameter for o1-mini with
# `stop`, and 200 for o3-mini with `stop`.
OPENAI_NO_STOP: Final = Naming(
    rf"o1(?:-(?:mini|preview|pro))?(?:-{_DATE})?",
    "crewAIInc/crewAI lib/crewai/tests/cassettes/test_llm_call_when_stop_is_unsupported.yaml",
)

# Models whose documented input is text only (no image input) [platform.openai.com/docs/models/gpt-3.5-turbo,
# /gpt-4, /o1-mini, /o3-mini: "Input: Text"].
OPENAI_TEXT_ONLY: Final = Naming(
    rf"gpt-3\.5(?:-(?:{_OPENAI_VARIANT}|{_DATE}))*|gpt-4(?:-(?:0314|0613|32k|{_DATE}))*|o1-(?:mini|preview)(?:-{_DATE})?"
    rf"|o3-mini(?:-{_DATE})?",
    "https://platform.openai.com/docs/models",
)

# docs.anthropic.com/en/docs/about-claude/models/overview: `claude-<family>-<major>[-<minor>]` (claude-sonnet-4-5,
# claude-opus-4-1, claude-sonnet-4-0) with a dated snapshot suffix (claude-haiku-4-5-20251001), and the older
# `claude-<major>[-<minor>]-<family>-<date|latest>` (claude-3-5-haiku-20241022, claude-3-7-sonnet-latest).
_CLAUDE_FAMILY: Final = r"(?:opus|sonnet|haiku|fable|mythos)"
ANTHROPIC: Final = Naming(
    rf"claude-{_CLAUDE_FAMILY}-\d+(?:-\d)?(?:-\d{{8}}|-latest)?|claude-\d(?:-\d)?-{_CLAUDE_FAMILY}-(?:\d{{8}}|latest)",
    "https://docs.anthropic.com/en/docs/about-claude/models/overview",
)

# Open-weight families that the hosting providers below serve under their own spellings.
_OPEN: Final = (
    r"(?:llama|meta-llama|gemma|qwen|qwq|deepseek|mistral|mixtral|whisper|distil-whisper|gpt-oss|kimi|compound"
    r"|allam|playai|glm|zai-glm|phi|nemotron)"
)
# console.groq.com/docs/models: llama-3.3-70b-versatile, openai/gpt-oss-20b, meta-llama/llama-4-scout-17b-16e-
# instruct, qwen/qwen3-32b, moonshotai/kimi-k2-instruct, groq/compound, whisper-large-v3.
GROQ: Final = Naming(rf"(?:[a-z0-9-]+/)?{_OPEN}[a-z0-9.-]*", "https://console.groq.com/docs/models")
# docs.together.ai/docs/serverless-models: `<organisation>/<model>` (meta-llama/Llama-3.3-70B-Instruct-Turbo).
TOGETHER: Final = Naming(
    r"[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*", "https://docs.together.ai/docs/serverless-models"
)
# docs.mistral.ai/getting-started/models/models_overview: mistral-large-latest, mistral-small-2503,
# open-mistral-nemo, codestral-latest, ministral-8b-latest, pixtral-large-latest, magistral-medium-latest.
MISTRAL: Final = Naming(
    r"(?:open-)?(?:mistral|mixtral|codestral|ministral|pixtral|magistral|devstral|voxtral)(?:-[a-z0-9.]+)*",
    "https://docs.mistral.ai/getting-started/models/models_overview/",
)
# api-docs.deepseek.com/quick_start/pricing: the API serves exactly `deepseek-chat` and `deepseek-reasoner`.
DEEPSEEK: Final = Naming(r"deepseek-(?:chat|reasoner)", "https://api-docs.deepseek.com/quick_start/pricing")
# docs.fireworks.ai/getting-started/concepts#resource-names: accounts/<account>/models/<model> (and deployed models,
# routers).
FIREWORKS: Final = Naming(
    r"accounts/[a-z0-9-]+/(?:models|deployedModels|routers)/[a-z0-9][a-z0-9._-]*(?:#[\w/.-]+)?",
    "https://docs.fireworks.ai/getting-started/concepts",
)
# openrouter.ai/docs/api-reference/list-available-models: `<vendor>/<model>`, optionally `:<variant>`
# (openrouter.ai/docs/features/model-variants: free, nitro, beta, extended, thinking, online, floor, exacto).
OPENROUTER: Final = Naming(
    r"~?[a-z0-9][a-z0-9-]*/[a-z0-9][a-z0-9._-]*(?::(?:free|nitro|beta|extended|thinking|online|floor|exacto))?",
    "https://openrouter.ai/docs/features/model-variants",
)
# ai.google.dev/gemini-api/docs/models: gemini-2.5-flash, gemini-2.5-flash-lite, gemini-2.0-flash-001,
# gemini-2.5-pro-preview-06-05, gemma-3-27b-it, optionally `models/`-prefixed in the OpenAI-compatible endpoint. The
# 1.0 and 1.5 models are retired (ai.google.dev/gemini-api/docs/changelog); the live API answered 404 for
# gemini-1.5-flash (crewAIInc/crewAI lib/crewai/tests/cassettes/TestCrewMultimodalGemini.*.yaml).
GEMINI: Final = Naming(
    r"(?:models/)?(?!gemini-1\.)(?:gemini|gemma)-\d[a-z0-9.-]*", "https://ai.google.dev/gemini-api/docs/models"
)
# docs.x.ai/docs/models: grok-4, grok-4-0709, grok-3-mini, grok-code-fast-1, grok-2-vision-1212.
XAI: Final = Naming(r"grok-(?:\d|code|beta|vision)[a-z0-9.-]*", "https://docs.x.ai/docs/models")
# The reasoning models, which refuse `stop` (grok-3-mini, grok-4 and its snapshots, grok-code-fast), and those of
# them that also refuse the penalties (grok-4, grok-code-fast) [docs.x.ai/docs/guides/reasoning; litellm
# xai/chat/transformation.py]; not the `-non-reasoning` variants.
XAI_NO_STOP: Final = Naming(
    r"(?!.*-non-reasoning)grok-(?:3-mini|4|code-fast)(?:-[a-z0-9.]+)*", "https://docs.x.ai/docs/guides/reasoning"
)
XAI_NO_PENALTIES: Final = Naming(
    r"(?!.*-non-reasoning)grok-(?:4|code-fast)(?:-[a-z0-9.]+)*", "https://docs.x.ai/docs/guides/reasoning"
)
# inference-docs.cerebras.ai/models/overview: llama3.1-8b, llama-3.3-70b, qwen-3-32b, gpt-oss-120b, zai-glm-4.6.
CEREBRAS: Final = Naming(rf"{_OPEN}[a-z0-9.-]*", "https://inference-docs.cerebras.ai/models/overview")
# docs.perplexity.ai/getting-started/models: sonar, sonar-pro, sonar-reasoning(-pro), sonar-deep-research, r1-1776.
PERPLEXITY: Final = Naming(r"sonar(?:-[a-z]+)*|r1-1776", "https://docs.perplexity.ai/getting-started/models")
# github.com/ollama/ollama docs/api.md "Model names": `[namespace/]model[:tag]`, the tag defaulting to `latest`
# (llama3.1, llama3.2:3b, library/qwen3:0.6b, hf.co/<user>/<repo>:<quant>).
OLLAMA: Final = Naming(
    r"(?:[a-z0-9.-]+/)*[a-z0-9][a-z0-9._-]*(?::[A-Za-z0-9][A-Za-z0-9._-]*)?",
    "https://github.com/ollama/ollama/blob/main/docs/api.md#model-names",
)
