"""The yardstick for `bench_api.py`: a bare ASGI app on uvicorn, same settings as `qconnect-local serve`.

It answers every GET with the same bytes (a JSON body the size of a real GetKnowledgeBase
answer), so the difference between the two servers is exactly what qconnect-local's own
code costs per request.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

Message = MutableMapping[str, Any]


def make_app(body: bytes) -> Callable[[Message, Callable[[], Awaitable[Message]], Any], Awaitable[None]]:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    start = {"type": "http.response.start", "status": 200, "headers": headers}
    done = {"type": "http.response.body", "body": body}

    async def app(scope: Message, receive: Callable[[], Awaitable[Message]], send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        await send(start)
        await send(done)

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--body-file", required=True, help="the bytes to answer every request with")
    args = parser.parse_args()
    import uvicorn

    uvicorn.run(
        make_app(Path(args.body_file).read_bytes()),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
        http="httptools",
        loop="uvloop" if sys.platform != "win32" else "asyncio",
        lifespan="on",
    )


if __name__ == "__main__":
    main()
