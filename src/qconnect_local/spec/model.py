"""Load botocore's `qconnect` model once per process and hand out its pieces.

Nothing the model states is repeated anywhere else: routes, constraints, status codes and
error shapes are all read from here.
"""

from __future__ import annotations

import functools
from typing import Any

from botocore.loaders import Loader
from botocore.model import OperationModel, ServiceModel, Shape

SERVICE_NAME = "qconnect"


class _ServiceLoader(Loader):
    """botocore's own loader (search paths, newest API version, sdk-extras), minus one step.

    Before loading, `load_service_model` lists every service botocore ships, hundreds of
    folders, only to check that the name is among them; that was most of the model's load time
    at start-up. A missing model still fails, in `determine_latest_version`.
    """

    def list_available_services(self, type_name: str) -> list[str]:
        return [SERVICE_NAME]


@functools.cache
def _loader() -> Loader:
    return _ServiceLoader()


@functools.cache
def service_model() -> ServiceModel:
    """The parsed `service-2.json` for the newest API version botocore ships."""
    data = _loader().load_service_model(SERVICE_NAME, "service-2")
    return ServiceModel(data, service_name=SERVICE_NAME)


@functools.cache
def paginator_config() -> dict[str, Any]:
    """`paginators-1.json`: which operations page, and through which members."""
    data: dict[str, Any] = _loader().load_service_model(SERVICE_NAME, "paginators-1")
    return data.get("pagination", {})


@functools.cache
def operation_names() -> tuple[str, ...]:
    return tuple(service_model().operation_names)


@functools.cache
def operation(name: str) -> OperationModel:
    return service_model().operation_model(name)


@functools.cache
def error_shape(name: str) -> Shape | None:
    """The modeled error structure called `name`, or None when the model has none by that name."""
    model = service_model()
    if name not in model.shape_names:
        return None
    shape = model.shape_for(name)
    return shape if shape.metadata.get("exception") else None


@functools.cache
def waiting_operations() -> frozenset[str]:
    """Operations that may hold a request open by design: their input has a `waitTimeSeconds`
    member (GetRecommendations' long polling). They must never run on the event loop."""
    return frozenset(
        name
        for name in operation_names()
        if (shape := operation(name).input_shape) is not None and "waitTimeSeconds" in shape.members
    )
