"""The runner: every alias x case, through a real Provider, against cassettes, a simulator or the live endpoint.

    replay  cassettes only; never touches the network; a missing or non-matching recording is a `stale` cell, a
            file that is not a valid cassette an `invalid` one (its reason names the file and the field)
    record  calls the endpoint (or `--against simulator`) and writes cassettes; keys come from the environment
    live    calls the endpoint (or the simulator) and writes nothing under cassettes/

A case that the registry does not declare is never sent: when the request itself names the capability, Allos must
refuse it with `UnsupportedCapabilityError` (checked: a request that slips through is a failure), otherwise the cell
is reported unsupported. Per capability, the cell is the worst of its cases.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit, urlunsplit

import httpx

from allos import ChatRequest, ChatResponse, Provider, StreamEnd, TextDelta, ToolCallDone, get_provider
from allos.errors import (
    AllosError,
    APIConnectionError,
    ProviderError,
    RateLimitError,
    ServerError,
    UnsupportedCapabilityError,
)
from allos.providers.base import required_capabilities
from allos.providers.registry import ProviderSpec, get_spec, list_providers
from conformance.cassettes import CassetteInvalid, RechunkingTransport, cassette_meta, make_vcr
from conformance.results import Report, Result, Status
from conformance.scenarios import Case, CheckFailed, Step, cases_for
from conformance.sequences import wait_note

if TYPE_CHECKING:
    from conformance.sequences import CorpusCase

__all__ = [
    "RunConfig",
    "aggregate",
    "endpoint_source",
    "public_url",
    "recording_meta",
    "recording_rewrite",
    "run",
    "run_case",
    "run_secrets",
    "unavailable_reason",
]

Mode = Literal["replay", "record", "live"]
Against = Literal["provider", "simulator"]
REPLAY_KEY = "replay-key-not-a-secret"
# Settings a user's environment gives in a real run, stood in for when the endpoint is a simulator. Portkey routes
# only with one of x-portkey-provider / -virtual-key / -config [portkey.ai/docs/api-reference/inference-api/headers].
SIMULATOR_HEADERS: dict[str, dict[str, str]] = {"portkey": {"x-portkey-provider": "openai"}}
# Worst first: the cell of a capability is the worst status among its cases.
_SEVERITY: tuple[Status, ...] = ("fail", "invalid", "stale", "unavailable", "skipped", "unsupported", "pass")


@dataclass(frozen=True)
class RunConfig:
    mode: Mode = "replay"
    against: Against = "provider"
    providers: Sequence[str] | None = None
    capabilities: Sequence[str] | None = None
    pattern: str | None = None
    cassettes: Path = Path("cassettes")
    reports: Path = Path("reports")  # reproductions of generated-sequence failures go to reports/failures/
    max_retries: int = 2
    base_url: str | None = None  # --base-url: the one selected alias's endpoint in record and live mode
    simulate: Callable[[str], contextlib.AbstractContextManager[str]] | None = field(default=None, compare=False)

    def specs(self) -> list[ProviderSpec]:
        if self.providers is None:
            return list_providers()
        return [get_spec(name) for name in self.providers]

    def refresh_command(self, alias: str, case: Case) -> str:
        return f"allos-conform --providers {alias} -k {case.id} --mode record --against simulator"


def real_base_url(spec: ProviderSpec) -> str:
    """Where the alias lives; recordings always store this, whatever endpoint answered."""
    return (spec.base_url or "http://localhost:8000/v1").rstrip("/")


def public_url(url: str) -> str:
    """`url` without its userinfo: what results and cassettes may say about an endpoint.

    >>> public_url("https://user:secret@gateway.example/v1/")
    'https://gateway.example/v1'
    """
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=host)).rstrip("/")


def endpoint_source(spec: ProviderSpec, config: RunConfig) -> str:
    """Where a record or live run's answers come from: the simulator, the `--base-url` endpoint, or the alias's own."""
    if config.against == "simulator":
        return f"simulator {spec.name}"
    return public_url(config.base_url) if config.base_url else real_base_url(spec)


def recording_meta(spec: ProviderSpec, config: RunConfig) -> dict[str, object]:
    """A new cassette's meta; a `--base-url` run names the endpoint it used (never its userinfo)."""
    meta = cassette_meta(endpoint_source(spec, config), datetime.now(timezone.utc).isoformat(timespec="seconds"))
    if config.base_url and config.against == "provider":
        meta["base_url"] = public_url(config.base_url)
    return meta


def run_secrets(spec: ProviderSpec, key: str | None, config: RunConfig) -> list[str]:
    """What a recording must never contain: the key, secret headers, and a `--base-url`'s userinfo."""
    password = urlsplit(config.base_url or "").password
    return [s for s in (key, *_secret_headers(spec), password) if s]


def recording_rewrite(spec: ProviderSpec, base_url: str) -> dict[str, str]:
    """Recorded URLs name the alias's real base URL whichever endpoint answered, so replay needs no option."""
    real = real_base_url(spec)
    return {base_url.rstrip("/"): real, public_url(base_url): real}


def _key_for(spec: ProviderSpec, config: RunConfig) -> tuple[str | None, str | None]:
    """(key, reason to skip) for this alias in this run."""
    if config.mode == "replay":
        return REPLAY_KEY, None
    if config.against == "simulator":
        return f"sim-{spec.name}-key-0123456789", None
    # An empty variable is no key (CI sets a missing repository secret as ""): skip, rather than fail on a 401.
    key = (os.environ.get(spec.api_key_env) or None) if spec.api_key_env else None
    if key is None and spec.api_key_required:
        return None, f"set {spec.api_key_env} to run {spec.name} in {config.mode} mode"
    return key, None


# --- one call, checked for stream consistency --------------------------------------------------------------------


def _stream_response(events: Sequence[object]) -> ChatResponse:
    if not events or not isinstance(events[-1], StreamEnd):
        raise CheckFailed("the stream did not end with StreamEnd")
    if sum(isinstance(e, StreamEnd) for e in events) != 1:
        raise CheckFailed("the stream has more than one StreamEnd")
    response = events[-1].response
    streamed = "".join(e.text for e in events if isinstance(e, TextDelta))
    if streamed != response.text:
        raise CheckFailed("the text deltas do not add up to the final text")
    done = tuple(e.tool_call for e in events if isinstance(e, ToolCallDone))
    if done != response.tool_calls:
        raise CheckFailed("the ToolCallDone events differ from the final tool calls")
    return response


# Builds the case's provider; given an AsyncClient, the provider uses it for its async calls.
ProviderFactory = Callable[[httpx.AsyncClient | None], Provider]


async def _acall(make: ProviderFactory, step: Step, seed: str) -> ChatResponse:
    # A fresh AsyncClient inside this event loop: a pool must not outlive the loop that opened it.
    async with httpx.AsyncClient(transport=RechunkingTransport(seed), timeout=60) as client:
        provider = make(client)
        if step.call == "achat":
            return await provider.achat(list(step.messages), **step.options)
        events = [event async for event in provider.astream(list(step.messages), **step.options)]
        return _stream_response(events)


def _call(make: ProviderFactory, step: Step, seed: str) -> ChatResponse:
    if step.call == "chat":
        return make(None).chat(list(step.messages), **step.options)
    if step.call == "stream":
        return _stream_response(list(make(None).stream(list(step.messages), **step.options)))
    return asyncio.run(_acall(make, step, seed))


def _execute(make: ProviderFactory, case: Case, seed: str) -> None:
    step = case.first
    response = _call(make, step, seed)
    step.check(response)
    if case.follow_up is not None:
        second = case.follow_up(step, response)
        second.check(_call(make, second, seed))


# --- one case ---------------------------------------------------------------------------------------------------


@dataclass
class _Outcome:
    status: Status
    reason: str = ""


@dataclass(frozen=True)
class _Target:
    """Everything needed to build the case's provider: where to send, with which key, over which sync client."""

    spec: ProviderSpec
    case: Case
    base_url: str
    key: str | None
    max_retries: int
    client: httpx.Client
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def seed(self) -> str:
        return f"{self.spec.name}:{self.case.id}"

    def make(self, async_client: httpx.AsyncClient | None) -> Provider:
        return get_provider(
            self.spec.name,
            model=self.spec.default_model or "conformance-model",
            api_key=self.case.provider_overrides.get("api_key", self.key),
            base_url=self.base_url,
            max_retries=self.max_retries,
            headers=self.headers,
            http_client=self.client,
            async_http_client=async_client,
        )


def _declared_outcome(target: _Target) -> _Outcome:
    """Run a declared case; turn whatever happens into a status."""
    case = target.case
    try:
        _execute(target.make, case, target.seed)
    except UnsupportedCapabilityError as exc:
        return _Outcome("fail", f"declared supported, but Allos refused it: {exc}")
    except ProviderError as exc:
        if case.expect_error and isinstance(exc, case.expect_error):
            return _Outcome("pass", f"raised {type(exc).__name__} as expected")
        if isinstance(exc, (RateLimitError, ServerError, APIConnectionError)) and not case.expect_error:
            return _Outcome("unavailable", unavailable_reason(exc))
        return _Outcome("fail", str(exc))
    except (CheckFailed, AllosError) as exc:
        return _Outcome("fail", str(exc))
    if case.expect_error:
        expected = " or ".join(cls.__name__ for cls in case.expect_error)
        return _Outcome("fail", f"expected {expected}, but the call succeeded")
    return _Outcome("pass")


def unavailable_reason(exc: ProviderError) -> str:
    """Why a provider could not judge the case; a 429 says how long it asked to wait (the transport does not retry
    past its cap), so the reader knows whether a later run can succeed."""
    return f"{exc}{wait_note(exc)}"


def _undeclared_outcome(target: _Target) -> _Outcome:
    first = target.case.first
    options = {k: v for k, v in first.options.items() if k != "model"}
    request = ChatRequest(model="m", messages=first.messages, stream=first.call in ("stream", "astream"), **options)
    if target.case.capability not in required_capabilities(request):
        return _Outcome("unsupported", "declared unsupported by the registry")
    try:
        _execute(target.make, target.case, target.seed)
    except UnsupportedCapabilityError:
        return _Outcome("unsupported", "declared unsupported; Allos refuses it before sending")
    except Exception as exc:  # the request went out: that is the failure, whatever came back
        return _Outcome("fail", f"declared unsupported, yet Allos sent the request ({type(exc).__name__})")
    return _Outcome("fail", "declared unsupported, yet Allos sent the request and it succeeded")


def run_case(spec: ProviderSpec, case: Case, config: RunConfig, endpoint: str | None = None) -> Result:
    """One alias x case in the configured mode. `endpoint` is the simulator's base URL when there is one."""
    started = time.perf_counter()
    cassette = config.cassettes / spec.name / f"{case.id}.yaml"
    with RechunkingTransport(f"{spec.name}:{case.id}") as transport, httpx.Client(transport=transport) as client:
        outcome, source = _run(spec, case, config, endpoint, cassette, client)
    return Result(
        provider=spec.name,
        capability=case.capability.value,
        status=outcome.status,
        reason=f"{case.id}: {outcome.reason}" if outcome.reason else case.id,
        source=source,
        duration_s=round(time.perf_counter() - started, 4),
        cassette=str(cassette) if cassette.exists() else None,
        command=config.refresh_command(spec.name, case) if outcome.status in ("stale", "invalid") else None,
    )


def _run(
    spec: ProviderSpec, case: Case, config: RunConfig, endpoint: str | None, cassette: Path, client: httpx.Client
) -> tuple[_Outcome, str]:
    key, skip_reason = _key_for(spec, config)
    real = real_base_url(spec)
    if case.capability not in spec.capabilities:
        return _undeclared_outcome(_Target(spec, case, real, key, config.max_retries, client)), "registry"
    if skip_reason is not None:
        return _Outcome("skipped", skip_reason), "none"
    if config.mode == "replay":
        return _replay(_Target(spec, case, real, REPLAY_KEY, config.max_retries, client), cassette), str(cassette)
    headers = SIMULATOR_HEADERS.get(spec.name, {}) if config.against == "simulator" else {}
    target = _Target(spec, case, endpoint or real, key, config.max_retries, client, headers)
    source = endpoint_source(spec, config)
    if config.mode == "live":
        return _declared_outcome(target), f"live {source}"
    rewrite = recording_rewrite(spec, target.base_url)
    return _record(target, cassette, recording_meta(spec, config), run_secrets(spec, key, config), rewrite), source


def _secret_headers(spec: ProviderSpec) -> list[str]:
    return [os.environ.get(header.env, "") for header in spec.headers if header.secret]


def _replay(target: _Target, cassette: Path) -> _Outcome:
    import vcr.errors

    if not cassette.exists() and not cassette.is_symlink():
        return _Outcome("stale", f"no cassette at {cassette}")
    with contextlib.ExitStack() as stack:
        try:  # vcrpy loads the file through the validating reader here, before it patches anything
            recorded = stack.enter_context(make_vcr(record=False).use_cassette(str(cassette)))
        except CassetteInvalid as exc:
            return _Outcome("invalid", str(exc))
        try:
            outcome = _declared_outcome(target)
        except vcr.errors.CannotOverwriteExistingCassetteException:
            return _Outcome("stale", "the request no longer matches its recording")
        if outcome.status == "pass" and not recorded.all_played:
            return _Outcome("stale", "the recording has interactions this run did not send")
    return outcome


def _record(
    target: _Target, cassette: Path, meta: dict[str, object], secrets: list[str], rewrite: dict[str, str]
) -> _Outcome:
    cassette.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cassette.parent, prefix=".recording-") as scratch:
        scratch_file = Path(scratch) / cassette.name
        with make_vcr(record=True, secrets=secrets, rewrite=rewrite, meta=meta).use_cassette(str(scratch_file)):
            outcome = _declared_outcome(target)
        if outcome.status in ("pass", "fail") and scratch_file.exists():
            scratch_file.replace(cassette)  # atomic: the old cassette stays until the new one is whole
    return outcome


# --- the whole run --------------------------------------------------------------------------------------------------


def aggregate(results: Sequence[Result]) -> list[Result]:
    """One cell per alias x capability: the worst case wins, and its reasons are kept."""
    cells: dict[tuple[str, str], list[Result]] = {}
    for result in results:
        cells.setdefault((result.provider, result.capability), []).append(result)
    merged = []
    for _, group in sorted(cells.items()):
        worst = min(group, key=lambda r: _SEVERITY.index(r.status))
        reasons = "; ".join(dict.fromkeys(r.reason for r in group if r.status == worst.status))
        merged.append(
            worst.model_copy(update={"reason": reasons, "duration_s": round(sum(r.duration_s for r in group), 4)})
        )
    return merged


# Live runs send to several providers at once, one alias per worker: each provider still sees one request at a time
# (its rate limits are respected; a 429's Retry-After is honoured by the transport's retries). Replay and record stay
# sequential: vcrpy patches httpx for the whole process.
LIVE_WORKERS = 6


def run(config: RunConfig, on_result: Callable[[Result], None] | None = None) -> Report:
    """Every selected alias x case, then the alias's generated sequences; returns the aggregated report."""
    from conformance.generated import generated_cases  # it builds on this module

    cases = cases_for(config.capabilities, config.pattern)
    corpus = generated_cases(config)
    lock = threading.Lock()

    def report(result: Result) -> None:
        if on_result is not None:
            with lock:
                on_result(result)

    specs = config.specs()
    if config.mode == "live" and len(specs) > 1:
        with ThreadPoolExecutor(max_workers=min(LIVE_WORKERS, len(specs)), thread_name_prefix="allos-live") as pool:
            per_alias = list(pool.map(lambda spec: _run_alias(spec, config, cases, corpus, report), specs))
    else:
        per_alias = [_run_alias(spec, config, cases, corpus, report) for spec in specs]
    return Report(mode=config.mode, results=aggregate([r for results in per_alias for r in results]))


def _run_alias(
    spec: ProviderSpec,
    config: RunConfig,
    cases: Sequence[Case],
    corpus: Sequence[CorpusCase],
    report: Callable[[Result], None],
) -> list[Result]:
    from conformance.generated import generated_cell

    results: list[Result] = []
    endpoint_cm: contextlib.AbstractContextManager[str | None] = contextlib.nullcontext(None)
    if config.mode != "replay" and config.base_url is not None:
        endpoint_cm = contextlib.nullcontext(config.base_url)
    elif config.mode != "replay" and config.against == "simulator" and config.simulate is not None:
        endpoint_cm = config.simulate(spec.name)
    with contextlib.ExitStack() as stack:
        unavailable: str | None = None
        try:
            endpoint = stack.enter_context(endpoint_cm)
        except KeyError as exc:  # no simulator for this alias: every declared cell is unavailable
            results += _without_endpoint(spec, cases, str(exc), report)
            endpoint, unavailable = None, str(exc)
        else:
            for case in cases:
                result = run_case(spec, case, config, endpoint)
                results.append(result)
                report(result)
        if corpus:
            result = generated_cell(spec, config, endpoint, corpus, unavailable=unavailable)
            results.append(result)
            report(result)
    return results


def _without_endpoint(
    spec: ProviderSpec, cases: Sequence[Case], reason: str, on_result: Callable[[Result], None] | None
) -> list[Result]:
    results = []
    for case in cases:
        status: Status = "unavailable" if case.capability in spec.capabilities else "unsupported"
        result = Result(provider=spec.name, capability=case.capability.value, status=status, reason=reason)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results
