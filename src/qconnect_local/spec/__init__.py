"""The botocore service model: the contract every other package reads from."""

from qconnect_local.spec.model import (
    error_shape,
    operation,
    operation_names,
    paginator_config,
    service_model,
    waiting_operations,
)

__all__ = [
    "error_shape",
    "operation",
    "operation_names",
    "paginator_config",
    "service_model",
    "waiting_operations",
]
