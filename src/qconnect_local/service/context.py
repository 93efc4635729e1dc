"""What a handler knows about the call it serves: who, where, when, and the shared machinery."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qconnect_local.runtime import Runtime


@dataclass(slots=True)
class Call:
    runtime: Runtime
    account: str
    region: str
    operation: str
    request_id: str
    base_url: str  # scheme://host[:port] the client reached us on, for links we hand out

    def now(self) -> datetime:
        return self.runtime.clock.now()

    def arn(self, resource_path: str) -> str:
        """`arn:aws:wisdom:REGION:ACCOUNT:<resource_path>`, the model's ARN pattern."""
        return f"arn:aws:wisdom:{self.region}:{self.account}:{resource_path}"
