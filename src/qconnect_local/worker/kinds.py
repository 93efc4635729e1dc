"""Which code runs a claimed job: one runner per (kind, status), one failure handler per kind.

The kinds and their statuses are declared with their families (`service.families`); this is
the worker's half of that declaration.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from qconnect_local.runtime import Runtime
from qconnect_local.worker import assistant_jobs, conversation_jobs, crawl_jobs, ingest, jobs
from qconnect_local.worker.claims import Claim

Runner = Callable[[Runtime, Claim], None]


@dataclass(frozen=True, slots=True)
class JobKind:
    runners: Mapping[str, Runner]  # job status -> what moves the job on from it
    fail_after_error: Callable[[Runtime, Claim, BaseException], None]


KINDS: dict[str, JobKind] = {
    "import-job": JobKind(
        {"START_IN_PROGRESS": jobs.run_import, "DELETE_IN_PROGRESS": jobs.run_delete}, jobs.fail_after_error
    ),
    "content": JobKind(
        {
            "CREATE_IN_PROGRESS": ingest.run_ingest,
            "UPDATE_IN_PROGRESS": ingest.run_ingest,
            "DELETE_IN_PROGRESS": ingest.run_delete,
        },
        ingest.fail_after_error,
    ),
    "knowledge-base": JobKind({"CREATE_IN_PROGRESS": crawl_jobs.run_crawl}, crawl_jobs.fail_after_error),
    "assistant": JobKind({"CREATE_IN_PROGRESS": assistant_jobs.run_create}, assistant_jobs.fail_after_error),
    "conversation-turn": JobKind(
        {"PROCESSING": conversation_jobs.run_turn}, conversation_jobs.fail_after_error
    ),
}


MAX_ATTEMPTS = 5  # claims of one job before it is failed instead of run again


class GaveUp(RuntimeError):
    """A job claimed MAX_ATTEMPTS times without finishing: it is what stops its worker."""


def run(runtime: Runtime, claim: Claim) -> None:
    """Run the job; one that every earlier worker died on (a crash, a kill) is failed instead,
    so that it cannot stop the workers for ever."""
    kind = KINDS[claim.family.key]
    if claim.job.attempts > MAX_ATTEMPTS:
        kind.fail_after_error(runtime, claim, GaveUp(f"gave up after {MAX_ATTEMPTS} attempts"))
        return
    kind.runners[claim.status](runtime, claim)


def fail_after_error(runtime: Runtime, claim: Claim, error: BaseException) -> None:
    KINDS[claim.family.key].fail_after_error(runtime, claim, error)
