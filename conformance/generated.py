"""The generated-sequences column: every case of the frozen corpus through every alias, one matrix cell per alias.

Policy:
- Each case is sent once with `chat` through the real Provider, against `cassettes/<alias>/generated/<case>.yaml`
  in replay, the endpoint (live or simulator) in record and live mode: the same modes, keys and cassettes as the
  scenarios.
- The cell counts what was *sent*: it passes when every case that was sent was accepted ("14/14 accepted"). A case
  that Allos refuses before sending for a documented reason (the alias cannot carry something the strategies drew:
  temperature above 1 on Anthropic, `seed` on Responses) is *refused cleanly*: listed apart, never a failure. An
  `UnsupportedCapabilityError` for a capability the alias declares is a failure, like any other exception and any
  4xx answer.
- Every failing case is shrunk and written as a reproduction (`conformance.repro`); the cell links the first one.
- A case that is refused needs no recording: replay knows it is refused before looking for one.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

from allos.capabilities import Capability
from allos.providers.registry import ProviderSpec
from conformance.cassettes import CassetteInvalid, RechunkingTransport, load_cassette, make_vcr
from conformance.repro import Endpoint, Where, forget_failure, write_repro
from conformance.results import Result, Status
from conformance.runner import (
    REPLAY_KEY,
    SIMULATOR_HEADERS,
    RunConfig,
    _key_for,
    endpoint_source,
    real_base_url,
    recording_meta,
    recording_rewrite,
    run_secrets,
)
from conformance.sequences import (
    CORPUS_DIR,
    DEFAULT_COUNT,
    DEFAULT_POOL,
    DEFAULT_SEED,
    Attempt,
    CorpusCase,
    attempt,
    corpus_manifest,
    draw_corpus,
    features,
    load_corpus,
    write_corpus,
)

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["GENERATED", "corpus_command", "generated_cases", "generated_cell", "run_generated"]

GENERATED: Final = Capability.GENERATED_SEQUENCES.value
# An attempt whose cassette is not a valid file: carried as a stale attempt (an attempt has no `invalid` kind) with
# this error name, and counted apart, so the cell is `invalid`.
INVALID: Final = CassetteInvalid.__name__


def generated_cases(config: RunConfig, corpus: Path = CORPUS_DIR) -> list[CorpusCase]:
    """The corpus cases this run selects: none unless the capability is selected, filtered by `-k`."""
    if config.capabilities is not None and GENERATED not in config.capabilities:
        return []
    return [case for case in load_corpus(corpus) if config.pattern is None or config.pattern in case.id]


def cassette_dir(config: RunConfig, spec: ProviderSpec) -> Path:
    return config.cassettes / spec.name / "generated"


def refresh_command(alias: str) -> str:
    return f"allos-conform --providers {alias} --capabilities {GENERATED} --mode record --against simulator"


# --- one case in each mode ------------------------------------------------------------------------------------------


def _replay(spec: ProviderSpec, case: CorpusCase, cassette: Path, max_retries: int) -> Attempt:
    real = real_base_url(spec)
    with contextlib.ExitStack() as stack:
        try:  # vcrpy loads the file through the validating reader here
            recorded = stack.enter_context(make_vcr(record=False).use_cassette(str(cassette)))
        except CassetteInvalid as exc:
            return Attempt(case, "stale", str(exc), INVALID)
        outcome = attempt(
            spec, case, RechunkingTransport(f"{spec.name}:{case.id}"), base_url=real, api_key=REPLAY_KEY,
            max_retries=max_retries,
        )  # fmt: skip
        played_all = recorded.all_played
    if outcome.kind == "stale" and not cassette.exists():
        return Attempt(case, "stale", f"no cassette at {cassette}", outcome.error, wire=outcome.wire)
    if outcome.kind in ("accepted", "failed") and outcome.sent and not played_all:
        return Attempt(case, "stale", "the recording has interactions this run did not send", wire=outcome.wire)
    return outcome


def _record(
    spec: ProviderSpec, case: CorpusCase, cassette: Path, endpoint: Endpoint, meta: dict[str, object]
) -> Attempt:
    rewrite = recording_rewrite(spec, endpoint.base_url)
    cassette.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cassette.parent, prefix=".recording-") as scratch:
        scratch_file = Path(scratch) / cassette.name
        vcr = make_vcr(record=True, secrets=endpoint.secrets, rewrite=rewrite, meta=meta)
        with vcr.use_cassette(str(scratch_file)):
            outcome = endpoint.send(spec, case, RechunkingTransport(f"{spec.name}:{case.id}"))
        if outcome.kind in ("accepted", "failed") and scratch_file.exists():
            scratch_file.replace(cassette)  # atomic: the old recording stays until the new one is whole
        elif not outcome.sent:
            cassette.unlink(missing_ok=True)  # refused now: an old recording of it would never be played
    return outcome


# --- the cell -------------------------------------------------------------------------------------------------------


def run_generated(
    spec: ProviderSpec, config: RunConfig, endpoint_url: str | None, cases: Sequence[CorpusCase]
) -> tuple[Result, list[Attempt]]:
    """Every case on one alias; returns the matrix cell and each case's attempt."""
    started = time.perf_counter()
    directory = cassette_dir(config, spec)
    if Capability.GENERATED_SEQUENCES not in spec.capabilities:
        return _result(spec, "unsupported", "declared unsupported by the registry", started, source="registry"), []
    key, skip_reason = _key_for(spec, config)
    if skip_reason is not None:
        return _result(spec, "skipped", skip_reason, started, source="none"), []
    if config.mode == "replay":
        attempts = [_replay(spec, case, directory / f"{case.id}.yaml", config.max_retries) for case in cases]
        source = str(directory)
    else:
        endpoint = _endpoint(spec, config, endpoint_url, key)
        source = endpoint_source(spec, config)
        if config.mode == "live":
            attempts = [endpoint.send(spec, case) for case in cases]
            source = f"live {source}"
        else:
            attempts = [
                _record(spec, case, directory / f"{case.id}.yaml", endpoint, recording_meta(spec, config))
                for case in cases
            ]
    repros = _reproductions(spec, config, endpoint_url, key, attempts)
    return _cell(spec, config, attempts, repros, started, source), attempts


def generated_cell(
    spec: ProviderSpec,
    config: RunConfig,
    endpoint_url: str | None,
    cases: Sequence[CorpusCase],
    *,
    unavailable: str | None = None,
) -> Result:
    """The alias's generated-sequences cell; `unavailable` when the run has no endpoint for it (no simulator)."""
    if unavailable is not None and Capability.GENERATED_SEQUENCES in spec.capabilities:
        return _result(spec, "unavailable", unavailable, time.perf_counter())
    return run_generated(spec, config, endpoint_url, cases)[0]


def _endpoint(spec: ProviderSpec, config: RunConfig, endpoint_url: str | None, key: str | None) -> Endpoint:
    headers = SIMULATOR_HEADERS.get(spec.name, {}) if config.against == "simulator" else {}
    secrets = run_secrets(spec, key, config)
    where: Where = "simulator" if config.against == "simulator" else "provider"
    base_url = endpoint_url or real_base_url(spec)
    return Endpoint(where, base_url, key, headers, secrets, config.max_retries)


def _reproductions(
    spec: ProviderSpec, config: RunConfig, endpoint_url: str | None, key: str | None, attempts: Sequence[Attempt]
) -> dict[str, Path]:
    """Shrink and write every failure; forget the reproductions of cases that no longer fail."""
    failures = config.reports / "failures"
    repros: dict[str, Path] = {}
    for one in attempts:
        if one.kind != "failed":
            forget_failure(failures, spec.name, one.case.id)
            continue
        endpoint = _shrink_endpoint(spec, config, endpoint_url, key, one)
        repros[one.case.id] = write_repro(spec, one, failures, mode=config.mode, endpoint=endpoint)
    return repros


def _shrink_endpoint(
    spec: ProviderSpec, config: RunConfig, endpoint_url: str | None, key: str | None, failed: Attempt
) -> Endpoint | None:
    """Where the smaller candidates of a failure are sent: the run's endpoint in record and live mode; in replay,
    a local simulator when the recording came from one (a live recording is written unshrunk: only the provider
    could judge a smaller request). A failure before sending needs no endpoint at all (None)."""
    if not failed.sent:
        return None
    if config.mode != "replay":
        return _endpoint(spec, config, endpoint_url, key)
    cassette = cassette_dir(config, spec) / f"{failed.case.id}.yaml"
    source = str(load_cassette(cassette).get("meta", {}).get("source", "")) if cassette.exists() else ""
    if source.startswith("simulator"):
        return Endpoint("simulator", "", f"sim-{spec.name}-key-0123456789", SIMULATOR_HEADERS.get(spec.name, {}))
    return Endpoint("recorded", real_base_url(spec), REPLAY_KEY, {})


def _result(
    spec: ProviderSpec, status: Status, reason: str, started: float, *, source: str = "", **fields: str | None
) -> Result:
    return Result(
        provider=spec.name,
        capability=GENERATED,
        status=status,
        reason=reason,
        source=source,
        duration_s=round(time.perf_counter() - started, 4),
        **fields,
    )


def _grouped(attempts: Sequence[Attempt]) -> str:
    """Attempts with the same reason together: `the Responses API has no seed field (gen_02, gen_07)`."""
    groups: dict[str, list[str]] = {}
    for one in attempts:
        groups.setdefault(one.reason, []).append(one.case.id)
    return "; ".join(f"{reason} ({', '.join(ids)})" for reason, ids in groups.items())


def _cell(
    spec: ProviderSpec,
    config: RunConfig,
    attempts: Sequence[Attempt],
    repros: dict[str, Path],
    started: float,
    source: str,
) -> Result:
    by_kind: dict[str, list[Attempt]] = {}
    for one in attempts:
        by_kind.setdefault("invalid" if one.error == INVALID else one.kind, []).append(one)
    accepted, failed = by_kind.get("accepted", []), by_kind.get("failed", [])
    sent = len(accepted) + len(failed)
    parts = [f"{len(accepted)}/{sent} accepted"]
    for kind in ("failed", "invalid", "stale", "unavailable"):
        if by_kind.get(kind):
            parts.append(f"{len(by_kind[kind])} {kind}: {_grouped(by_kind[kind])}")
    if by_kind.get("refused"):
        parts.append(f"{len(by_kind['refused'])} refused cleanly: {_grouped(by_kind['refused'])}")
    status: Status = "pass"
    if failed:
        status = "fail"
    elif by_kind.get("invalid"):
        status = "invalid"
    elif by_kind.get("stale"):
        status = "stale"
    elif by_kind.get("unavailable"):
        status = "unavailable"
    first = next(iter(repros.values()), None)
    command = None
    if status == "fail" and first is not None:
        command = f"allos-conform repro {first}"
    elif status in ("stale", "invalid"):
        command = refresh_command(spec.name)
    directory = cassette_dir(config, spec)
    return _result(
        spec,
        status,
        "; ".join(parts),
        started,
        source=source,
        note=f"{len(accepted)}/{sent}",
        cassette=str(directory) if directory.exists() else None,
        command=command,
        repro=str(first.relative_to(config.reports)) if first is not None else None,
    )


# --- `allos-conform corpus` -----------------------------------------------------------------------------------------


def corpus_command(
    console: Console, *, regenerate: bool, seed: int | None, count: int | None, directory: Path | None
) -> int:
    """List the corpus, or draw it afresh (seed and count default to the manifest's); returns the exit code."""
    from rich.table import Table

    directory = directory or CORPUS_DIR
    manifest = corpus_manifest(directory)
    if regenerate:
        seed = seed if seed is not None else int(manifest.get("seed", DEFAULT_SEED))
        count = count if count is not None else int(manifest.get("count", DEFAULT_COUNT))
        if not 1 <= count <= 99:
            console.print("allos-conform: --count must be between 1 and 99", markup=False)
            return 2
        write_corpus(draw_corpus(seed, count, pool=DEFAULT_POOL), directory, seed=seed, pool=DEFAULT_POOL)
        manifest = corpus_manifest(directory)
        console.print(f"wrote {count} cases to {directory} (seed {seed}); now re-record them:", markup=False)
        console.print(f"  allos-conform --against simulator --mode record --capabilities {GENERATED}", markup=False)
    cases = load_corpus(directory)
    table = Table("case", "profile", "bytes", "messages", "tools", "features", title=f"corpus: {directory}")
    for case in cases:
        marks = ", ".join(sorted(features(case)))
        tools = str(len(case.request.get("tools") or []))
        table.add_row(case.id, case.profile, str(case.size()), str(len(case.request["messages"])), tools, marks)
    console.print(table)
    console.print(f"seed {manifest.get('seed')}, drawn with {manifest.get('drawn_with')}", markup=False)
    return 0
