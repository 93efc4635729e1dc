"""What a handler knows about the call it serves: who, where, when, and the shared machinery."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

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
    may_wait: bool = False  # a long poll may raise Suspend (its wait has not run out)

    def now(self) -> datetime:
        return self.runtime.clock.now()

    def arn(self, resource_path: str) -> str:
        """`arn:aws:wisdom:REGION:ACCOUNT:<resource_path>`, the model's ARN pattern."""
        return f"arn:aws:wisdom:{self.region}:{self.account}:{resource_path}"


class Suspend(Exception):
    """A long poll found nothing yet: whoever serves the request waits on `subscription` (which
    was registered before the handler looked) for at most `seconds`, then asks again.

    Raised only when `Call.may_wait`; the server awaits it on its event loop (holding no thread),
    the in-process mock on the calling thread.
    """

    def __init__(self, subscription: Any, seconds: float) -> None:
        super().__init__(f"waiting up to {seconds} s")
        self.subscription = subscription
        self.seconds = seconds


T = TypeVar("T")


def long_poll(call: Call, channel: str, answer: Callable[[Any], T], *, waits: bool = True) -> T:
    """`answer(subscription)` for a request that may wait on `channel`.

    The subscription is made before `answer` reads anything (a signal committed in between still
    wakes it) and is None when the request may not wait. `answer` raises `Suspend(subscription,
    seconds)` to wait, which hands the subscription to whoever serves the request; otherwise
    it is closed here.
    """
    subscription = call.runtime.signals.subscribe(channel) if call.may_wait and waits else None
    try:
        found = answer(subscription)
    except Suspend:
        raise
    except BaseException:
        if subscription is not None:
            subscription.close()
        raise
    if subscription is not None:
        subscription.close()
    return found
