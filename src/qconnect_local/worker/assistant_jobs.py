"""An assistant held in CREATE_IN_PROGRESS by the control plane: once the hold ends it is ACTIVE
(or CREATE_FAILED, when the control plane's `failNext` said so). Without a knob an assistant
is ACTIVE from its creation and never reaches the worker."""

from __future__ import annotations

from typing import Final

from qconnect_local.runtime import Runtime
from qconnect_local.worker.claims import Claim, finish

ACTIVE: Final = "ACTIVE"
CREATE_FAILED: Final = "CREATE_FAILED"


def run_create(runtime: Runtime, claim: Claim) -> None:
    status = CREATE_FAILED if claim.job.force_failure else ACTIVE
    with runtime.store.write() as conn:
        finish(conn, claim, status=status, force_failure=0, modified_at=runtime.clock.now())


def fail_after_error(runtime: Runtime, claim: Claim, error: BaseException) -> None:
    with runtime.store.write() as conn:
        finish(conn, claim, status=CREATE_FAILED, modified_at=runtime.clock.now())
