"""The protocol layer agrees with botocore on every operation, in both directions.

Inputs: botocore's own rest-json serializer turns sample parameters into a request (labels
percent-encoded, query string, JSON body, exactly as a boto3 call would); our router and
parser must give back the same parameters. Outputs and errors: our serializer's bytes go
through botocore's own rest-json parser, which must give back the same values (and, for
errors, the code, message and modeled members an SDK user would see on the exception).
Sample values come from `tests/shapes.py`: every member, every union member in turn.
"""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest
from botocore.awsrequest import HeadersDict
from botocore.model import Shape
from botocore.parsers import create_parser

from qconnect_local.protocol.errors import ServiceError
from qconnect_local.protocol.http import Response
from qconnect_local.protocol.parser import parse_input
from qconnect_local.protocol.router import default_router
from qconnect_local.protocol.serializer import serialize_error, serialize_output
from qconnect_local.protocol.validator import validate
from qconnect_local.spec import error_shape, operation, operation_names, service_model
from shapes import INPUT_TIME, OUTPUT_TIME, as_sent_by_botocore, sample, variant_count

REQUEST_ID = "0f4d2c1e-5b6a-4c3d-9e8f-7a6b5c4d3e2f"
KB_ARN = "arn:aws:wisdom:us-east-1:123456789012:knowledge-base/3f6e2b7a-1c4d-4e5f-8a9b-0c1d2e3f4a5b"
ENCODED_KB_ARN = (
    "arn%3Aaws%3Awisdom%3Aus-east-1%3A123456789012%3Aknowledge-base%2F3f6e2b7a-1c4d-4e5f-8a9b-0c1d2e3f4a5b"
)


def _cases(direction: str) -> list[Any]:
    cases = []
    for name in operation_names():
        op = operation(name)
        shape = op.input_shape if direction == "input" else op.output_shape
        count = variant_count(shape) if shape is not None else 1
        cases += [pytest.param(name, v, id=f"{name}-{v}") for v in range(count)]
    return cases


def as_parsed_by_botocore(response: Response, shape: Shape | None) -> dict[str, Any]:
    """What boto3 hands its caller for this response (`ResponseMetadata` included)."""
    response_dict = {
        "status_code": response.status,
        "headers": HeadersDict(response.headers),
        "body": response.body,
    }
    parsed: dict[str, Any] = create_parser("rest-json").parse(response_dict, shape)
    code = parsed.get("Error", {}).get("Code")
    modeled = service_model().shape_for_error_code(code) if code else None
    if modeled is not None:  # what botocore's Endpoint._add_modeled_error_fields does
        parsed.update(create_parser("rest-json").parse(response_dict, modeled))
    return parsed


# --- input: botocore serializer -> our router and parser ------------------------------------------


@pytest.mark.parametrize(("name", "variant"), _cases("input"))
def test_parser_reads_back_what_botocore_sends(name: str, variant: int) -> None:
    op = operation(name)
    assert op.input_shape is not None
    params = sample(op.input_shape, variant, when=INPUT_TIME)
    assert validate(op.input_shape, params) == [], "a sample the model allows must pass our validator"
    request = as_sent_by_botocore(op, params)

    match = default_router().match(request.method, request.raw_path)

    assert match.operation == name
    assert parse_input(op, request, match.labels) == params


def test_samples_put_arns_in_path_labels() -> None:
    """The second sample of an id-or-ARN label is an ARN, so the test above covers encoded ARNs."""
    op = operation("GetKnowledgeBase")
    assert op.input_shape is not None
    request = as_sent_by_botocore(op, sample(op.input_shape, 1))
    assert request.raw_path.startswith("/knowledgeBases/arn%3A")
    assert "%2F" in request.raw_path


def test_output_samples_cover_every_timestamp_format() -> None:
    """Both formats the model uses reach the output round trip below (inputs use epoch only)."""
    outputs: set[str] = set()
    for name in operation_names():
        outputs |= _timestamp_formats(operation(name).output_shape, set())
    assert outputs == {"iso8601", "unixTimestamp"}


def _timestamp_formats(shape: Shape | None, seen: set[str]) -> set[str]:
    if shape is None or shape.name in seen:
        return set()
    seen.add(shape.name)
    if shape.type_name == "timestamp":
        return {shape.serialization.get("timestampFormat", "unixTimestamp")}
    if shape.type_name == "structure" and not shape.metadata.get("document"):
        return set().union(*(_timestamp_formats(m, seen) for m in shape.members.values()))
    if shape.type_name == "list":
        return _timestamp_formats(shape.member, seen)
    if shape.type_name == "map":
        return _timestamp_formats(shape.value, seen)
    return set()


# --- output: our serializer -> botocore parser ----------------------------------------------------


@pytest.mark.parametrize(("name", "variant"), _cases("output"))
def test_botocore_reads_back_what_we_serialize(name: str, variant: int) -> None:
    op = operation(name)
    values = sample(op.output_shape, variant, when=OUTPUT_TIME) if op.output_shape is not None else {}

    response = serialize_output(op, values, REQUEST_ID)
    parsed = as_parsed_by_botocore(response, op.output_shape)

    metadata = parsed.pop("ResponseMetadata")
    assert metadata["RequestId"] == REQUEST_ID
    assert metadata["HTTPStatusCode"] == op.http.get("responseCode", 200)
    assert parsed == values


def test_timestamps_go_out_as_the_model_says() -> None:
    """Epoch seconds as JSON numbers by default, ISO-8601 strings where the model asks for them."""
    from qconnect_local.protocol.serializer import to_json

    model = service_model()
    epoch = to_json(model.shape_for("Timestamp"), OUTPUT_TIME)
    explicit_epoch = to_json(model.shape_for("SyntheticTimestamp_epoch_seconds"), OUTPUT_TIME)
    iso = to_json(model.shape_for("SyntheticTimestamp_date_time"), OUTPUT_TIME)
    assert epoch == explicit_epoch == OUTPUT_TIME.timestamp()
    assert isinstance(epoch, float)
    assert iso == "2024-02-29T12:34:56.789Z"


def _error_cases() -> list[Any]:
    return [
        pytest.param(name, error.name, id=f"{name}-{error.name}")
        for name in operation_names()
        for error in operation(name).error_shapes
    ]


@pytest.mark.parametrize(("name", "code"), _error_cases())
def test_botocore_reads_every_modeled_error(name: str, code: str) -> None:
    shape = error_shape(code)
    assert shape is not None
    fields = {k: sample(m) for k, m in shape.members.items() if k != "message"}
    message = "Something is wrong with 'ü' at \"name\""

    response = serialize_error(ServiceError(code, message, **fields), REQUEST_ID)
    parsed = as_parsed_by_botocore(response, operation(name).output_shape)

    assert response.status == shape.metadata["error"]["httpStatusCode"]
    assert response.header("Content-Type") == "application/json"
    assert parsed["Error"] == {"Code": code, "Message": message}
    assert parsed["ResponseMetadata"]["RequestId"] == REQUEST_ID
    assert {k: parsed.get(k) for k in shape.members} == {"message": message, **fields}


def test_an_error_message_that_utf8_cannot_encode_still_makes_a_json_reply() -> None:
    """Error replies are built while handling a failure: building one must not fail in turn."""
    response = serialize_error(ServiceError("ValidationException", "Value '\ud800' is bad"), REQUEST_ID)
    parsed = as_parsed_by_botocore(response, operation("CreateKnowledgeBase").output_shape)
    assert parsed["Error"] == {"Code": "ValidationException", "Message": "Value '\ud800' is bad"}


def test_resource_not_found_carries_resource_name() -> None:
    response = serialize_error(ServiceError("ResourceNotFoundException", "gone", resourceName="kb"), "r")
    parsed = as_parsed_by_botocore(response, operation("GetKnowledgeBase").output_shape)
    assert parsed["resourceName"] == "kb"


# --- routing ----------------------------------------------------------------------------------------


def _path_with(uri: str, label_value: str) -> str:
    parts = uri.split("?", 1)[0].split("/")
    return "/".join(label_value if p.startswith("{") else p for p in parts)


@pytest.mark.parametrize("name", operation_names())
def test_router_maps_every_request_uri_with_arn_labels(name: str) -> None:
    op = operation(name)
    uri = op.http["requestUri"]
    label_names = [p.strip("{}+") for p in uri.split("/") if p.startswith("{")]

    match = default_router().match(op.http["method"], _path_with(uri, ENCODED_KB_ARN))

    assert match.operation == name
    assert match.labels == dict.fromkeys(label_names, KB_ARN)


def _client_model(service: str) -> Any:
    return botocore.session.get_session().get_service_model(service)


def test_qconnect_client_operations_are_all_routable() -> None:
    model = _client_model("qconnect")
    assert len(model.operation_names) == 96
    for name in model.operation_names:
        op = model.operation_model(name)
        assert (
            default_router().match(op.http["method"], _path_with(op.http["requestUri"], "x")).operation
            == name
        )


def test_wisdom_client_operations_are_qconnect_operations_on_the_same_route() -> None:
    wisdom = _client_model("wisdom")
    assert len(wisdom.operation_names) == 41
    for name in wisdom.operation_names:
        old = wisdom.operation_model(name)
        assert name in operation_names()
        new = operation(name)
        assert (old.http["method"], old.http["requestUri"]) == (new.http["method"], new.http["requestUri"])
        path = _path_with(old.http["requestUri"], ENCODED_KB_ARN)
        assert default_router().match(old.http["method"], path).operation == name
