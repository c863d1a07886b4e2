"""llama.cpp's own `llama-server`, built from a pinned package and driven with a tiny deterministic model.

The only third-party LLM server that runs on this machine: the `llama-cpp-python` sdist on PyPI vendors llama.cpp's
sources (https://pypi.org/project/llama-cpp-python/), so the server builds from a package registry with CMake and a
C++ compiler. The binary is cached outside the clone, keyed on the pin, so a fresh clone on the same machine reuses it.
"""

from __future__ import annotations

import itertools
import os
import pathlib
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

#: The pinned package whose sdist vendors llama.cpp (`vendor/llama.cpp`); its llama.cpp is 0.5.0-dev, commit 0c1e570.
PACKAGE = "llama-cpp-python"
VERSION = "0.3.36"
#: The llama.cpp commit that sdist vendors, as the built server reports it (`GET /props` -> `build_info: b1-0c1e570`).
COMMIT = "0c1e570"
BINARY = "llama-server"
#: A ChatML template with Hermes-style `<tool_call>` blocks, which the server recognises for tool calls under `--jinja`.
TEMPLATE_IN_SOURCES = pathlib.Path("models/templates/Qwen-Qwen2.5-7B-Instruct.jinja")

#: Everything but the server off: no tests, examples, unified app, HTTPS or web UI (the UI options would otherwise
#: download a prebuilt UI at configure time, and this machine only reaches package registries). Static libraries and
#: no `-march=native`, so the binary runs on any AVX2 machine the cache directory is shared with.
CMAKE_OPTIONS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DBUILD_SHARED_LIBS=OFF",
    "-DGGML_NATIVE=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_APP=OFF",
    "-DLLAMA_BUILD_TOOLS=ON",
    "-DLLAMA_BUILD_SERVER=ON",
    "-DLLAMA_OPENSSL=OFF",
    "-DLLAMA_BUILD_UI=OFF",
    "-DLLAMA_USE_PREBUILT_UI=OFF",
)


class BuildError(RuntimeError):
    """The server cannot be built here; the message names what is missing."""


def cache_dir() -> pathlib.Path:
    """Where built artefacts live: `$ALLOS_CACHE_DIR`, else `$XDG_CACHE_HOME/allos`, else `~/.cache/allos`."""
    explicit = os.environ.get("ALLOS_CACHE_DIR")
    if explicit:
        return pathlib.Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = pathlib.Path(xdg) if xdg else pathlib.Path.home() / ".cache"
    return base / "allos"


def binary_path() -> pathlib.Path:
    """The cached server binary for the pinned version (it may not exist yet)."""
    return cache_dir() / BINARY / VERSION / BINARY


def template_path() -> pathlib.Path:
    """Qwen2.5's ChatML/Hermes tool template from the pinned sources, cached by `build`."""
    return binary_path().parent / "chat_template.jinja"


def build_command() -> str:
    """The command that builds the cached binary, for messages that ask for it."""
    return "python scripts/llamacpp.py build"


def missing_prerequisites() -> list[str]:
    """What this machine lacks to build the server, in words a person can act on."""
    missing = []
    if shutil.which("cmake") is None:
        missing.append("cmake (apt-get install cmake)")
    if not any(shutil.which(cxx) for cxx in ("c++", "g++", "clang++")):
        missing.append("a C++ compiler (apt-get install g++)")
    if platform.machine() in ("x86_64", "AMD64") and not _has_avx2():
        missing.append("a CPU with AVX2 (the build targets x86-64 with AVX2)")
    return missing


def _has_avx2() -> bool:
    cpuinfo = pathlib.Path("/proc/cpuinfo")
    if not cpuinfo.exists():
        return True  # Not Linux: leave it to the compiler and the first run to say.
    return " avx2" in cpuinfo.read_text(encoding="utf-8", errors="replace")


def build(*, jobs: int | None = None, log: pathlib.Path | None = None) -> pathlib.Path:
    """Build the server once and cache it; return the cached binary.

    The build happens in a temporary directory next to the cache and the binary is moved in with one atomic rename,
    so an interrupted build never leaves a binary that looks finished.
    """
    target = binary_path()
    if target.exists() and template_path().exists():
        return target
    missing = missing_prerequisites()
    if missing:
        raise BuildError(f"cannot build {BINARY} {PACKAGE}=={VERSION}: missing " + "; ".join(missing))
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".build-", dir=target.parent) as work:
        root = pathlib.Path(work)
        source = _fetch_sources(root)
        built = _compile(source, root / "build", jobs=jobs or os.cpu_count() or 2, log=log)
        # The chat template ships with the same sources; keep it beside the binary for `write_model`.
        shutil.copy2(source / TEMPLATE_IN_SOURCES, template_path())
        staged = root / BINARY
        shutil.copy2(built, staged)
        os.replace(staged, target)
    return target


def _fetch_sources(root: pathlib.Path) -> pathlib.Path:
    """Download the pinned sdist through pip (the registry's ordinary client) and unpack its vendored llama.cpp."""
    downloads = root / "sdist"
    _run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:", *_pinned(downloads)],
        what=f"downloading the {PACKAGE}=={VERSION} sdist from PyPI",
    )
    archives = sorted(downloads.glob("*.tar.gz"))
    if len(archives) != 1:
        raise BuildError(f"expected one sdist archive in {downloads}, found {[a.name for a in archives]}")
    with tarfile.open(archives[0]) as tar:
        tar.extractall(root / "src", filter="data")
    (unpacked,) = (root / "src").iterdir()
    vendored = unpacked / "vendor" / "llama.cpp"
    if not (vendored / "CMakeLists.txt").exists():
        raise BuildError(f"the {PACKAGE}=={VERSION} sdist has no vendor/llama.cpp/CMakeLists.txt")
    return vendored


def _pinned(downloads: pathlib.Path) -> list[str]:
    return [f"{PACKAGE}=={VERSION}", "-d", str(downloads)]


def _compile(source: pathlib.Path, build_dir: pathlib.Path, *, jobs: int, log: pathlib.Path | None) -> pathlib.Path:
    _run(["cmake", "-S", str(source), "-B", str(build_dir), *CMAKE_OPTIONS], what="configuring llama.cpp", log=log)
    _run(
        ["cmake", "--build", str(build_dir), "--target", BINARY, "--parallel", str(jobs)],
        what=f"compiling {BINARY}",
        log=log,
    )
    built = build_dir / "bin" / BINARY
    if not built.exists():
        raise BuildError(f"the build finished without producing {built}")
    return built


def _run(command: list[str], *, what: str, log: pathlib.Path | None = None) -> None:
    """Run one build step; on failure say which step failed and show the end of its output."""
    with tempfile.TemporaryFile(mode="w+") as out:
        sink = log.open("a", encoding="utf-8") if log else out
        try:
            completed = subprocess.run(command, stdout=sink, stderr=subprocess.STDOUT, check=False)
        finally:
            if log:
                sink.close()
        if completed.returncode != 0:
            if log:
                tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
            else:
                out.seek(0)
                tail = out.read()[-3000:]
            raise BuildError(f"{what} failed (exit {completed.returncode}):\n{tail}")


def ensure_built(*, jobs: int | None = None) -> tuple[pathlib.Path, float | None]:
    """The cached binary and, when it had to be built now, how long that took in seconds."""
    target = binary_path()
    if target.exists() and template_path().exists():
        return target, None
    started = time.monotonic()
    build(jobs=jobs)
    return target, time.monotonic() - started


# --- The tiny deterministic model -------------------------------------------------------------------------------------
#
# Attention and feed-forward outputs are zero, so the last hidden state is the embedding of the previous token and the
# logits are a table: each previous token ranks every next token, with a gap of GAP logits between ranks (wide enough
# that any temperature picks the top allowed token). Plain chat then gives REPLY and EOS; under a grammar the ranking
# yields the shortest valid JSON (`"a"` strings, `1` numbers, `true` booleans, empty containers when allowed); when EOS
# is forbidden after the reply (tool choice required) the next choice is `<tool_call>` and the grammar forces the call.

N_EMBD = 64
GAP = 20.0
#: Longer than the harness's smallest max_tokens (16, Responses' minimum) so a cut reads as `length`; every character
#: appears once, because the next token depends only on the previous one, and none is one the JSON grammar ranking uses.
REPLY = "Hi! BYZOW-DJMQKXLNV"
CONTEXT = 32768  # the harness's generated sequences send up to about 13,000 tokens
SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<tool_call>", "</tool_call>")
EOS = "<|im_end|>"


def _byte_tokens() -> list[str]:
    """GPT-2's byte-level alphabet: printable bytes as themselves, the others shifted past 255."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table: dict[int, str] = {b: chr(b) for b in printable}
    shifted = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + shifted)
            shifted += 1
    return [table[b] for b in range(256)]


def _vocabulary() -> tuple[list[str], list[int], list[str]]:
    """Tokens, their GGUF types (1 normal, 3 control, 4 user-defined) and the single merge."""
    tokens = _byte_tokens()
    merge = "Ġ Ġ"  # two spaces: harmless, and a BPE vocabulary needs at least one merge
    tokens.append("ĠĠ")
    types = [1] * len(tokens)
    for special in SPECIALS:
        tokens.append(special)
        types.append(4 if special.endswith("tool_call>") else 3)
    return tokens, types, [merge]


def _rankings(index: dict[str, int]) -> dict[int, list[int]]:
    """For each previous token that matters, the next tokens in order of preference."""

    def ids(*texts: str) -> list[int]:
        return [index[_byte_tokens()[ord(t)] if len(t) == 1 else t] for t in texts]

    ends = ("}", "]", ",")
    return {
        index[_byte_tokens()[ord("\n")]]: ids(REPLY[0], EOS, "{", '"', " "),
        **{index[_byte_tokens()[ord(a)]]: ids(b) for a, b in itertools.pairwise(REPLY)},
        index[_byte_tokens()[ord(REPLY[-1])]]: ids(EOS, "<tool_call>"),
        index["<tool_call>"]: ids("\n", "{"),
        index["</tool_call>"]: ids(EOS, "\n"),
        index[_byte_tokens()[ord('"')]]: ids("a", EOS, *ends, ":"),
        index[_byte_tokens()[ord("a")]]: ids('"'),
        index[_byte_tokens()[ord(":")]]: ids('"', "1", "t", "{", "["),
        index[_byte_tokens()[ord(",")]]: ids('"', "1", "t", "{", "["),
        index[_byte_tokens()[ord("{")]]: ids('"', "}"),
        index[_byte_tokens()[ord("[")]]: ids("]", '"', "1", "t", "{", "["),
        index[_byte_tokens()[ord("t")]]: ids("r"),
        index[_byte_tokens()[ord("r")]]: ids("u"),
        index[_byte_tokens()[ord("u")]]: ids("e"),
        **{index[_byte_tokens()[ord(c)]]: ids(EOS, *ends, "</tool_call>", "\n") for c in ("}", "]", "1", "e")},
    }


def write_model(path: pathlib.Path) -> pathlib.Path:
    """Write the tiny model (about 0.5 MB, byte-identical on every run) with the `gguf` package."""
    import gguf  # the dev extra; imported here so the harness imports without it
    import numpy as np

    tokens, types, merges = _vocabulary()
    index = {t: i for i, t in enumerate(tokens)}
    rankings = _rankings(index)
    fallback = [index[EOS], *(i for i in range(len(tokens)) if i != index[EOS])]
    classes = [None, *rankings]  # class 0: every token without its own ranking
    embed = np.zeros((len(tokens), N_EMBD), dtype=np.float32)
    output = np.zeros((len(tokens), N_EMBD), dtype=np.float32)
    for k, prev in enumerate(classes):
        preferred = rankings[prev] if prev is not None else []
        order = preferred + [i for i in fallback if i not in preferred]
        for rank, token in enumerate(order):
            # RMS norm turns the one-hot embedding into sqrt(N_EMBD) on axis k; divide it back out.
            output[token, k] = -GAP * rank / np.sqrt(N_EMBD)
        if prev is not None:
            embed[prev, k] = 1.0
    for token in range(len(tokens)):
        if token not in rankings:
            embed[token, 0] = 1.0
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("allos-tiny-deterministic")
    writer.add_context_length(CONTEXT)
    writer.add_embedding_length(N_EMBD)
    writer.add_block_count(2)
    writer.add_feed_forward_length(128)
    writer.add_head_count(4)
    writer.add_head_count_kv(4)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_rope_dimension_count(N_EMBD // 4)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("qwen2")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    writer.add_bos_token_id(index["<|endoftext|>"])
    writer.add_eos_token_id(index[EOS])
    writer.add_pad_token_id(index["<|endoftext|>"])
    writer.add_add_bos_token(False)
    writer.add_chat_template(template_path().read_text(encoding="utf-8"))
    writer.add_tensor("token_embd.weight", embed)
    writer.add_tensor("output_norm.weight", np.ones(N_EMBD, dtype=np.float32))
    writer.add_tensor("output.weight", output)
    for layer in range(2):
        _add_block(writer, layer)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def _add_block(writer: object, layer: int) -> None:
    """One transformer block whose attention and feed-forward both add zero to the residual stream."""
    import numpy as np

    shapes = {
        "attn_norm": (N_EMBD,),
        "attn_q": (N_EMBD, N_EMBD),
        "attn_k": (N_EMBD, N_EMBD),
        "attn_v": (N_EMBD, N_EMBD),
        "attn_output": (N_EMBD, N_EMBD),
        "ffn_norm": (N_EMBD,),
        "ffn_gate": (128, N_EMBD),
        "ffn_up": (128, N_EMBD),
        "ffn_down": (N_EMBD, 128),
    }
    for name, shape in shapes.items():
        values = np.ones(shape, dtype=np.float32) if name.endswith("norm") else np.zeros(shape, dtype=np.float32)
        writer.add_tensor(f"blk.{layer}.{name}.weight", values)  # type: ignore[attr-defined]


def model_path() -> pathlib.Path:
    """Where the model is cached (rewritten when missing; it is cheap and deterministic)."""
    return binary_path().parent / "tiny-deterministic.gguf"


# --- Serving ----------------------------------------------------------------------------------------------------------


class Server:
    """A running `llama-server` on 127.0.0.1 with the tiny model; a context manager that stops it."""

    def __init__(self, binary: pathlib.Path, model: pathlib.Path, *, port: int | None = None) -> None:
        self.port = port or _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._command = [str(binary), "-m", str(model), "--jinja", "--host", "127.0.0.1", "--port", str(self.port)]
        self._process: subprocess.Popen[bytes] | None = None
        self.started_in: float | None = None

    def start(self, *, timeout: float = 30.0) -> Server:
        # A server already on the port would answer /health for a process that failed to bind.
        if _healthy(self.base_url):
            raise BuildError(f"{self.base_url} is already taken by another server")
        started = time.monotonic()
        self._process = subprocess.Popen(self._command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while time.monotonic() - started < timeout:
            if self._process.poll() is not None:
                raise BuildError(f"{BINARY} exited with {self._process.returncode}: {' '.join(self._command)}")
            if _healthy(self.base_url):
                self.started_in = time.monotonic() - started
                return self
            time.sleep(0.05)
        self.stop()
        raise BuildError(f"{BINARY} did not answer /health within {timeout} s")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _healthy(base_url: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{base_url}/health", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def reported_build(root_url: str, *, timeout: float = 1.0) -> str | None:
    """What a llama-server at `root_url` says it is, from its `GET /props` `build_info`; None when the server there
    is not one (no answer, not JSON, no build).

    The pinned build reads `llama-server (llama-cpp-python 0.3.36, llama.cpp commit 0c1e570)`; another build names
    its own `build_info`.
    """
    import httpx

    try:
        answer = httpx.get(f"{root_url.rstrip('/')}/props", timeout=timeout)
        build = answer.json().get("build_info") if answer.status_code == 200 else None
    except (httpx.HTTPError, ValueError, AttributeError):
        return None
    if not isinstance(build, str) or not build:
        return None
    if build.endswith(f"-{COMMIT}"):
        return f"{BINARY} ({PACKAGE} {VERSION}, llama.cpp commit {COMMIT})"
    return f"{BINARY} (build {build})"


def ready_model() -> pathlib.Path:
    """The model, rewritten on every call (0.2 s) so a change to the weights here can never meet a stale file."""
    path = model_path()
    staged = write_model(path.with_name(f".{path.name}.{os.getpid()}"))
    os.replace(staged, path)
    return path
