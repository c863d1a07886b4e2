"""The contract of Ollama's native API as the simulator encodes it: the local model catalogue, the error body, and
the refusal rules of `POST /api/chat`, each with its source.

Ollama is a Go server (gin). A request body is decoded into the typed structs of `api/types.go` first, so a field of
the wrong JSON type is refused before anything else, with Go's own `encoding/json` wording (`json: cannot unmarshal
array into Go struct field ChatRequest.messages.content of type string`); unknown fields are ignored, as Go ignores
them. Then `server/routes.go::ChatHandler` checks the model, the `think` value, the model's capabilities and the
options, in that order. Every error is `{"error": "<message>"}` [ollama docs/api/errors.mdx].

Sources, short forms: [types.go] ollama/ollama `api/types.go`; [routes.go] `server/routes.go`; [errors.mdx]
`docs/api/errors.mdx`; [api.md] `docs/api.md`; `owner/repo#N` a public issue quoting Ollama's answer. Messages that
are the simulator's own end with "(simulator text)".

    >>> canonical_name("Llama3.2"), canonical_name("registry.ollama.ai/library/qwen3:latest")
    ('llama3.2:latest', 'qwen3:latest')
    >>> go_base64_error("aGk="), go_base64_error("not base64!")
    (None, 3)
"""

from __future__ import annotations

import copy
import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "CHAT_RULES",
    "LIBRARY",
    "LOCAL_AT_START",
    "Incoming",
    "ModelCard",
    "Refusal",
    "Rule",
    "canonical_name",
    "error_body",
    "first_refusal",
    "go_base64_error",
    "go_kind",
]

JSON = Any

# --- the error body ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """An error answer: its HTTP status and the text of its `error` field."""

    status: int
    message: str


def error_body(refusal: Refusal) -> dict[str, str]:
    """`{"error": "..."}`, the only error shape Ollama has [errors.mdx "Error messages"].

    >>> error_body(Refusal(400, "model is required"))
    {'error': 'model is required'}
    """
    return {"error": refusal.message}


# --- the model catalogue -------------------------------------------------------------------------------------------

_LLAMA_TEMPLATE: Final = (
    "<|start_header_id|>system<|end_header_id|>\n\n{{ .System }}<|eot_id|>"
    "{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n{{ .Content }}<|eot_id|>{{ end }}"
    "<|start_header_id|>assistant<|end_header_id|>\n\n"
)
_LLAMA_PARAMETERS: Final = (
    'stop                           "<|start_header_id|>"\n'
    'stop                           "<|end_header_id|>"\n'
    'stop                           "<|eot_id|>"'
)
_QWEN_TEMPLATE: Final = (
    "{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}<|im_start|>assistant\n"
)
_QWEN_PARAMETERS: Final = (
    "repeat_penalty                 1\n"
    'stop                           "<|im_start|>"\n'
    'stop                           "<|im_end|>"\n'
    "temperature                    0.6\n"
    "top_k                          20\n"
    "top_p                          0.95"
)
_GEMMA_TEMPLATE: Final = (
    '{{- range .Messages }}<start_of_turn>{{ if eq .Role "user" }}user{{ else }}model{{ end }}\n{{ .Content }}'
    "<end_of_turn>\n{{ end }}<start_of_turn>model\n"
)
_GEMMA_PARAMETERS: Final = (
    'stop                           "<end_of_turn>"\n'
    "temperature                    1\n"
    "top_k                          64"
)


@dataclass(frozen=True)
class ModelCard:
    """One model of the library: what `/api/tags` and `/api/show` say about it, what it can do (`capabilities`, as
    `/api/show` lists them [routes.go GetModelInfo]) and the layers a pull downloads. Sizes, digests and dates are
    the simulator's own values, shaped like Ollama's."""

    name: str  # canonical `model:tag`, as /api/tags shows it (DisplayShortest) [routes.go ListHandler]
    family: str
    parameter_size: str
    quantization_level: str
    capabilities: tuple[str, ...]
    context_length: int
    size: int
    template: str
    parameters: str
    modified_at: str

    @property
    def digest(self) -> str:
        """The manifest digest: 64 hex characters, as /api/tags sends it (without `sha256:`)."""
        return hashlib.sha256(f"manifest:{self.name}".encode()).hexdigest()

    @property
    def registry_name(self) -> str:
        """The fully qualified name Ollama puts in capability errors: `registry.ollama.ai/library/x:tag`."""
        return f"registry.ollama.ai/library/{self.name}"

    def layers(self) -> list[tuple[str, int]]:
        """(digest, size) of each blob a pull downloads: the weights, the template, the license, the params."""
        parts = [("model", self.size - 12_000), ("template", 1_400), ("license", 7_700), ("params", 96)]
        return [(f"sha256:{hashlib.sha256(f'{self.name}:{part}'.encode()).hexdigest()}", size) for part, size in parts]

    def details(self) -> dict[str, Any]:
        """`details` [types.go ModelDetails]: every field present, `families` a list."""
        return {
            "parent_model": "",
            "format": "gguf",
            "family": self.family,
            "families": [self.family],
            "parameter_size": self.parameter_size,
            "quantization_level": self.quantization_level,
        }

    def model_info(self) -> dict[str, Any]:
        """A few of the GGUF keys `/api/show` returns in `model_info` [api.md "Show Model Information"]."""
        return {
            "general.architecture": self.family,
            "general.file_type": 15,
            "general.parameter_count": int(float(self.parameter_size.rstrip("B")) * 1_000_000_000),
            "general.quantization_version": 2,
            f"{self.family}.context_length": self.context_length,
            f"{self.family}.embedding_length": 3072,
            "tokenizer.ggml.model": "gpt2",
        }


# The library a pull can fetch; the first three are on the server when it starts. llama3.2 is the registry's default
# model and the docs' own example [api.md]; qwen3 thinks and calls tools; gemma3 sees images but has no tools
# capability (its tools request is refused, as `registry.ollama.ai/library/gemma3:... does not support tools`).
LIBRARY: Final[tuple[ModelCard, ...]] = (
    ModelCard(
        "llama3.2:latest", "llama", "3.2B", "Q4_K_M", ("completion", "tools"), 131072, 2_019_393_189,
        _LLAMA_TEMPLATE, _LLAMA_PARAMETERS, "2025-01-31T12:00:00.123456789Z",
    ),
    ModelCard(
        "qwen3:latest", "qwen3", "8.2B", "Q4_K_M", ("completion", "tools", "thinking"), 40960, 5_225_388_164,
        _QWEN_TEMPLATE, _QWEN_PARAMETERS, "2025-02-14T09:30:00.5Z",
    ),
    ModelCard(
        "gemma3:latest", "gemma3", "4.3B", "Q4_K_M", ("completion", "vision"), 131072, 3_338_801_804,
        _GEMMA_TEMPLATE, _GEMMA_PARAMETERS, "2025-01-02T08:00:00Z",
    ),
    ModelCard(
        "llama3.2:1b", "llama", "1.2B", "Q8_0", ("completion", "tools"), 131072, 1_321_098_329,
        _LLAMA_TEMPLATE, _LLAMA_PARAMETERS, "2025-01-31T12:00:00Z",
    ),
    ModelCard(
        "smollm2:135m", "llama", "0.1B", "F16", ("completion",), 8192,
        270_898_672, _QWEN_TEMPLATE, _QWEN_PARAMETERS, "2025-01-31T12:00:00Z",
    ),
)  # fmt: skip
LOCAL_AT_START: Final[tuple[str, ...]] = ("llama3.2:latest", "qwen3:latest", "gemma3:latest")

_NAME: Final = re.compile(r"[a-z0-9][a-z0-9._-]*(?:/[a-z0-9][a-z0-9._-]*)*(?::[a-z0-9][a-z0-9._-]*)?")


def canonical_name(name: str) -> str | None:
    """`model:tag` for a name as a client writes it: case-insensitive, the tag defaults to `latest`, the host and the
    `library/` namespace are optional [api.md "Model names"; routes.go getExistingName (EqualFold)]. None when the
    text is not a model name at all."""
    text = name.strip().lower()
    for prefix in ("registry.ollama.ai/", "library/"):
        text = text.removeprefix(prefix)
    if not text or not _NAME.fullmatch(text):
        return None
    return text if ":" in text.rsplit("/", 1)[-1] else f"{text}:latest"


# --- Go's decoding of the request body -----------------------------------------------------------------------------


def go_kind(value: Any) -> str:
    """The JSON kind as Go's `UnmarshalTypeError` names it: string, number, bool, array, object."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _type_error(value: Any, path: str, go_type: str) -> Refusal:
    # Go encoding/json UnmarshalTypeError: "json: cannot unmarshal <kind> into Go struct field <Struct>.<path> of
    # type <type>", Struct being the top-level type (as quoted in BerriAI/litellm#11273, aliasrobotics/cai#76).
    return Refusal(400, f"json: cannot unmarshal {go_kind(value)} into Go struct field {path} of type {go_type}")


_B64: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


def go_base64_error(text: str) -> int | None:
    """Where Go's `base64.StdEncoding` (padding required, newlines skipped) finds `text` corrupt, or None if valid.

    A JSON string decoded into `[]byte` (Ollama's `ImageData`) goes through it, and the error reads
    `illegal base64 data at input byte N` [Go encoding/base64 decodeQuantum, CorruptInputError].

    >>> go_base64_error("abc"), go_base64_error("ab=c"), go_base64_error("YQ==x")
    (0, 2, 4)
    """
    src = text.encode()
    si = 0
    while True:
        j = 0
        while j < 4:
            if si == len(src):
                return None if j == 0 else si - j  # a quantum cut short (padding is required)
            char = chr(src[si])
            si += 1
            if char in _B64:
                j += 1
            elif char not in "\r\n":
                return si - 1 if char != "=" else _after_padding(src, si, j)
        # a full quantum: go on


def _after_padding(src: bytes, si: int, j: int) -> int | None:
    """Go's decodeQuantum once it meets `=` as the (j+1)th character of a quantum, `si` just past it."""
    if j in (0, 1):
        return si - 1  # padding too early
    if j == 2:  # "==" expected: the first is consumed
        si = _skip_newlines(src, si)
        if si == len(src):
            return len(src)
        if chr(src[si]) != "=":
            return si - 1
        si += 1
    si = _skip_newlines(src, si)
    return si if si < len(src) else None  # trailing garbage after the padding


def _skip_newlines(src: bytes, si: int) -> int:
    while si < len(src) and chr(src[si]) in "\r\n":
        si += 1
    return si


# --- what a rule looks at --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Incoming:
    """A decoded `/api/chat` body and the models the server has right now (canonical name -> card)."""

    body: Mapping[str, Any]
    local: Mapping[str, ModelCard]

    @property
    def messages(self) -> list[Any]:
        raw = self.body.get("messages")
        return raw if isinstance(raw, list) else []

    @property
    def model(self) -> str:
        value = self.body.get("model")
        return value if isinstance(value, str) else ""

    @property
    def card(self) -> ModelCard | None:
        name = canonical_name(self.model)
        return self.local.get(name) if name is not None else None

    @property
    def options(self) -> Mapping[str, Any]:
        raw = self.body.get("options")
        return raw if isinstance(raw, Mapping) else {}


def _copy(body: Mapping[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(dict(body))


class Rule(ABC):
    """One refusal Ollama is documented (or observed) to make. Subclasses are frozen dataclasses with a `source`."""

    source: str
    summary: str

    @property
    def name(self) -> str:
        return type(self).__name__

    @abstractmethod
    def check(self, incoming: Incoming) -> Refusal | None: ...

    @abstractmethod
    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        """A copy of a valid request `body` (a tool round trip on llama3.2: user, assistant tool call, tool result)
        that breaks this rule and no rule before it."""


# --- decoding rules (Go's typed structs) ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TopLevelType(Rule):
    """A top-level field of a fixed Go type [types.go ChatRequest]: `model` string, `messages` []Message, `stream`
    *bool, `options` map[string]any."""

    field_name: str
    accepts: tuple[type, ...]
    go_type: str
    example: Any
    summary: str = ""
    source: str = "ollama api/types.go ChatRequest field types; Go encoding/json UnmarshalTypeError wording"

    def check(self, incoming: Incoming) -> Refusal | None:
        value = incoming.body.get(self.field_name)
        if value is None or isinstance(value, self.accepts):
            return None
        return _type_error(value, f"ChatRequest.{self.field_name}", self.go_type)

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        return {**_copy(body), self.field_name: self.example}


@dataclass(frozen=True)
class MessageObjects(Rule):
    """Each message is an object [types.go Message]."""

    summary: str = "each message is an object"
    source: str = "ollama api/types.go ChatRequest.Messages []Message; Go encoding/json UnmarshalTypeError wording"

    def check(self, incoming: Incoming) -> Refusal | None:
        for message in incoming.messages:
            if message is not None and not isinstance(message, Mapping):
                return _type_error(message, "ChatRequest.messages", "api.Message")
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        bad = _copy(body)
        bad["messages"][0] = "What is the weather in Paris?"
        return bad


_MESSAGE_STRINGS: Final = ("role", "content", "thinking", "tool_name", "tool_call_id")


@dataclass(frozen=True)
class MessageStrings(Rule):
    """`role`, `content`, `thinking`, `tool_name`, `tool_call_id` are Go strings [types.go Message]: content given as
    an array of parts (the OpenAI shape) is refused."""

    summary: str = "message content (and role, thinking, tool_name) is a string, never an array of parts"
    source: str = (
        "ollama api/types.go Message.Content string; answer quoted in BerriAI/litellm#11273 (400 json: cannot"
        " unmarshal array into Go struct field ChatRequest.messages.content of type string)"
    )

    def check(self, incoming: Incoming) -> Refusal | None:
        for message in incoming.messages:
            if not isinstance(message, Mapping):
                continue
            for key in _MESSAGE_STRINGS:
                value = message.get(key)
                if value is not None and not isinstance(value, str):
                    return _type_error(value, f"ChatRequest.messages.{key}", "string")
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        bad = _copy(body)
        bad["messages"][0]["content"] = [{"type": "text", "text": "What is the weather in Paris?"}]
        return bad


@dataclass(frozen=True)
class ImagesBase64(Rule):
    """`images` is a list of base64 strings, decoded by Go into `[]byte` [types.go ImageData; api.md "Chat request
    (with images)"]: anything else is refused, a bad string with Go's base64 error."""

    summary: str = "images are base64 strings"
    source: str = (
        "ollama api/types.go Message.Images []ImageData ([]byte: Go decodes base64, 'illegal base64 data at input"
        " byte N'); docs/api.md images are base64-encoded"
    )

    def check(self, incoming: Incoming) -> Refusal | None:
        for message in incoming.messages:
            images = message.get("images") if isinstance(message, Mapping) else None
            if images is None:
                continue
            if not isinstance(images, list):
                return _type_error(images, "ChatRequest.messages.images", "[]api.ImageData")
            for image in images:
                if image is None:
                    continue
                if not isinstance(image, str):
                    return _type_error(image, "ChatRequest.messages.images", "api.ImageData")
                where = go_base64_error(image)
                if where is not None:
                    return Refusal(400, f"illegal base64 data at input byte {where}")
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        bad = _copy(body)
        bad["messages"][0]["images"] = ["data:image/png;base64,iVBORw0KGgo="]
        return bad


@dataclass(frozen=True)
class ToolCallShape(Rule):
    """`tool_calls[].function.arguments` is a JSON object (an ordered map), never a JSON-encoded string; `name` and
    `id` are strings [types.go ToolCall, ToolCallFunction; api.md tool call example]."""

    summary: str = "tool_calls[].function.arguments is an object, not a string"
    source: str = (
        "ollama api/types.go ToolCallFunction.Arguments; answers quoted in aliasrobotics/cai#76, ollama/ollama#12794"
        " (400 json: cannot unmarshal string into Go struct field ChatRequest.messages.tool_calls.function.arguments"
        " of type api.ToolCallFunctionArguments)"
    )

    def check(self, incoming: Incoming) -> Refusal | None:
        for message in incoming.messages:
            calls = message.get("tool_calls") if isinstance(message, Mapping) else None
            if calls is None:
                continue
            if not isinstance(calls, list):
                return _type_error(calls, "ChatRequest.messages.tool_calls", "[]api.ToolCall")
            for call in calls:
                refusal = self._call(call)
                if refusal is not None:
                    return refusal
        return None

    @staticmethod
    def _call(call: Any) -> Refusal | None:
        if call is None:
            return None
        if not isinstance(call, Mapping):
            return _type_error(call, "ChatRequest.messages.tool_calls", "api.ToolCall")
        if call.get("id") is not None and not isinstance(call["id"], str):
            return _type_error(call["id"], "ChatRequest.messages.tool_calls.id", "string")
        function = call.get("function")
        if function is None:
            return None
        if not isinstance(function, Mapping):
            return _type_error(function, "ChatRequest.messages.tool_calls.function", "api.ToolCallFunction")
        name = function.get("name")
        if name is not None and not isinstance(name, str):
            return _type_error(name, "ChatRequest.messages.tool_calls.function.name", "string")
        arguments = function.get("arguments")
        if arguments is not None and not isinstance(arguments, Mapping):
            return _type_error(
                arguments, "ChatRequest.messages.tool_calls.function.arguments", "api.ToolCallFunctionArguments"
            )
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        bad = _copy(body)
        bad["messages"][1]["tool_calls"][0]["function"]["arguments"] = '{"city": "Paris"}'
        return bad


# --- ChatHandler's checks --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TopLogprobsRange(Rule):
    """`top_logprobs` is between 0 and 20 [routes.go ChatHandler]."""

    summary: str = "top_logprobs between 0 and 20"
    source: str = "ollama server/routes.go ChatHandler: 'top_logprobs must be between 0 and 20'"

    def check(self, incoming: Incoming) -> Refusal | None:
        value = incoming.body.get("top_logprobs")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and not 0 <= value <= 20:
            return Refusal(400, "top_logprobs must be between 0 and 20")
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        return {**_copy(body), "logprobs": True, "top_logprobs": 21}


@dataclass(frozen=True)
class ModelRequired(Rule):
    """A request without a model is refused with 400 `model is required`."""

    summary: str = "model is required"
    source: str = "ollama server/routes.go ChatHandler ('model is required'); research section 5"

    def check(self, incoming: Incoming) -> Refusal | None:
        return Refusal(400, "model is required") if not incoming.model.strip() else None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        bad = _copy(body)
        del bad["model"]
        return bad


THINK_LEVELS: Final = ("high", "medium", "low", "max")


@dataclass(frozen=True)
class ThinkValue(Rule):
    """`think` is a boolean or a level name."""

    summary: str = 'think is true, false or "high" / "medium" / "low" / "max"'
    source: str = (
        'ollama server validateLegacyThinking: \'invalid think value: "x" (must be "high", "medium", "low",'
        ' "max", true, or false)\' (the answer as clients quote it); research section 5'
    )

    def check(self, incoming: Incoming) -> Refusal | None:
        think = incoming.body.get("think")
        if think is None or isinstance(think, bool):
            return None
        shown = think if isinstance(think, str) else str(think)
        if isinstance(think, str) and think in THINK_LEVELS:
            return None
        return Refusal(400, f'invalid think value: "{shown}" (must be "high", "medium", "low", "max", true, or false)')

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        return {**_copy(body), "think": "extreme"}


@dataclass(frozen=True)
class KnownModel(Rule):
    """A model the server does not have is refused with 404 and the advice to pull it."""

    summary: str = "the model is on the server (else 404, try pulling it first)"
    source: str = (
        "ollama server/routes.go handleScheduleError: 404 model %q not found, try pulling it first; docs/api/errors.mdx"
        " (404 model doesn't exist); research section 5 (newer servers' pre-check words it model 'x' not found)"
    )

    def check(self, incoming: Incoming) -> Refusal | None:
        if incoming.card is not None:
            return None
        return Refusal(404, f'model "{incoming.model}" not found, try pulling it first')

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        return {**_copy(body), "model": "sim-no-such-model"}


@dataclass(frozen=True)
class ThinkingSupported(Rule):
    """`think` (true or a level) on a model without the thinking capability is refused; `false` is accepted."""

    summary: str = "think only on a model that thinks"
    source: str = "ollama server/routes.go ChatHandler: 400 %q does not support thinking; research section 5"

    def check(self, incoming: Incoming) -> Refusal | None:
        think = incoming.body.get("think")
        card = incoming.card
        if think in (None, False) or card is None or "thinking" in card.capabilities:
            return None
        return Refusal(400, f'"{incoming.model}" does not support thinking')

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        return {**_copy(body), "think": True}


@dataclass(frozen=True)
class ToolsSupported(Rule):
    """Tools offered to a model without the tools capability are refused, naming the model in full."""

    summary: str = "tools only on a model with the tools capability"
    source: str = (
        "ollama server/routes.go scheduleRunner (CheckCapabilities: '<name> does not support tools') and"
        " handleScheduleError (400); the answer as clients quote it: 'registry.ollama.ai/library/<model> does not"
        " support tools'"
    )
    example_model: str = "gemma3"

    def check(self, incoming: Incoming) -> Refusal | None:
        tools = incoming.body.get("tools")
        card = incoming.card
        if not tools or card is None or "tools" in card.capabilities:
            return None
        return Refusal(400, f"{card.registry_name} does not support tools")

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        return {**_copy(body), "model": self.example_model}


_INT_OPTIONS: Final = frozenset(
    {"num_keep", "seed", "num_predict", "top_k", "repeat_last_n", "mirostat", "num_ctx", "num_batch", "num_gpu",
     "main_gpu", "num_thread"}
)  # fmt: skip
_FLOAT_OPTIONS: Final = frozenset(
    {"top_p", "min_p", "typical_p", "tfs_z", "temperature", "repeat_penalty", "presence_penalty",
     "frequency_penalty", "mirostat_tau", "mirostat_eta"}
)  # fmt: skip
_BOOL_OPTIONS: Final = frozenset(
    {"numa", "low_vram", "vocab_only", "use_mmap", "use_mlock", "penalize_newline", "f16_kv", "logits_all"}
)


def _option_error(key: str, value: Any) -> str | None:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if key in _INT_OPTIONS and not number:
        return f'option "{key}" must be of type integer'
    if key in _FLOAT_OPTIONS and not number:
        return f'option "{key}" must be of type float32'
    if key in _BOOL_OPTIONS and not isinstance(value, bool):
        return f'option "{key}" must be of type boolean'
    if key == "stop":
        if not isinstance(value, list):
            return 'option "stop" must be of type array'
        if not all(isinstance(item, str) for item in value):
            return 'option "stop" must be of an array of strings'
    return None


@dataclass(frozen=True)
class OptionTypes(Rule):
    """Each known option has its Go type; a wrong one fails the model load with 500 (unknown options are only
    logged, and a null is skipped) [types.go Options.FromMap; routes.go handleScheduleError default]."""

    summary: str = "options have their types (num_predict an integer, stop a list of strings, ...)"
    source: str = (
        "ollama api/types.go Options.FromMap ('option %q must be of type integer', ...; unknown keys only warned);"
        " server/routes.go scheduleRunner -> handleScheduleError default: 500"
    )

    def check(self, incoming: Incoming) -> Refusal | None:
        for key, value in incoming.options.items():
            if value is None:
                continue
            message = _option_error(key, value)
            if message is not None:
                return Refusal(500, message)
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        return {**_copy(body), "options": {"num_predict": "ten"}}


@dataclass(frozen=True)
class FormatValue(Rule):
    """`format` is "json" or a JSON Schema object ("" and null mean none) [api.md "format"]."""

    summary: str = 'format is "json" or a JSON Schema object'
    source: str = (
        'ollama docs/api.md: format can be json or a JSON schema; 400 \'invalid format: expected "json" or a valid'
        " JSON schema' as a client captured it"
    )

    def check(self, incoming: Incoming) -> Refusal | None:
        value = incoming.body.get("format")
        if value is None or value in ("", "json") or isinstance(value, Mapping):
            return None
        return Refusal(400, 'invalid format: expected "json" or a valid JSON schema')

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        return {**_copy(body), "format": "xml"}


# The rules of /api/chat, in the order the server applies them: decoding first, then ChatHandler's checks.
CHAT_RULES: Final[tuple[Rule, ...]] = (
    TopLevelType("model", (str,), "string", 3, "model is a string"),
    TopLevelType("messages", (list,), "[]api.Message", {"role": "user"}, "messages is an array"),
    MessageObjects(),
    MessageStrings(),
    ImagesBase64(),
    ToolCallShape(),
    TopLevelType("stream", (bool,), "bool", "yes", "stream is a boolean"),
    TopLevelType("options", (dict,), "map[string]interface {}", ["temperature"], "options is an object"),
    TopLogprobsRange(),
    ModelRequired(),
    ThinkValue(),
    KnownModel(),
    ThinkingSupported(),
    ToolsSupported(),
    OptionTypes(),
    FormatValue(),
)


def first_refusal(rules: Sequence[Rule], incoming: Incoming) -> Refusal | None:
    for rule in rules:
        refusal = rule.check(incoming)
        if refusal is not None:
            return refusal
    return None
