"""Errors as the wire sees them.

A `ServiceError` names an error shape; its HTTP status comes from the model when the model
defines the shape, so no status code is written twice. The few errors the protocol itself
raises (serialization, unknown operation, not implemented, internal) are not modeled and
carry their status explicitly, like AWS's own front door does.
"""

from __future__ import annotations

from typing import Any

from qconnect_local.spec import error_shape


class ServiceError(Exception):
    """A modeled (or protocol-level) error; `fields` are the shape's extra members (e.g. resourceName)."""

    def __init__(self, code: str, message: str, *, status: int | None = None, **fields: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = {k: v for k, v in fields.items() if v is not None}
        self.status = status if status is not None else modeled_status(code)


def modeled_status(code: str) -> int:
    shape = error_shape(code)
    if shape is None:
        raise ValueError(f"{code} is not an error shape of the model; pass status= explicitly")
    status: int = shape.metadata["error"]["httpStatusCode"]
    return status


def validation_error(message: str) -> ServiceError:
    return ServiceError("ValidationException", message)


def not_found(message: str, resource_name: str | None = None) -> ServiceError:
    return ServiceError("ResourceNotFoundException", message, resourceName=resource_name)


def conflict(message: str) -> ServiceError:
    return ServiceError("ConflictException", message)


def serialization_error(message: str) -> ServiceError:
    return ServiceError("SerializationException", message, status=400)


def unknown_operation(method: str, path: str) -> ServiceError:
    return ServiceError("UnknownOperationException", f"No operation matches {method} {path}", status=404)


def not_implemented(operation: str) -> ServiceError:
    return ServiceError(
        "NotImplementedException",
        f"{operation} is not implemented by qconnect-local yet (see docs/coverage.md)",
        status=501,
        operation=operation,
    )


def internal_error() -> ServiceError:
    return ServiceError("InternalServerException", "An internal error occurred.", status=500)


def request_too_large(limit: int) -> ServiceError:
    """A request body over the server's limit (`max_request_bytes`), refused before it is read."""
    return ServiceError(
        "RequestEntityTooLarge",
        f"The request body is larger than this server accepts ({limit} bytes).",
        status=413,
    )


QUOTED_PREFIX = 256  # characters of an offending value an error message repeats


def quoted(text: str, limit: int = QUOTED_PREFIX) -> str:
    """`text` as an error message repeats it: whole if short, else its first `limit` characters
    and how long it was, so that a huge value can never make a huge reply."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} characters)"
