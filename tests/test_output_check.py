"""The strict output check: a handler's dict must fit the operation's output shape exactly.

Real qconnect operations from botocore's model: fitting outputs pass (hand-written ones and the
deterministic samples of every operation), and each kind of mistake fails with its path. A
small synthetic model covers what qconnect's model lacks: an operation without output shape,
header- and status-bound members, and blobs.
"""

from __future__ import annotations

import copy
import enum
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.model import OperationModel, ServiceModel, Shape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qconnect_local.protocol.output_check import OutputMismatch, check_output, output_errors
from qconnect_local.spec import operation, operation_names
from shapes import OUTPUT_TIME, sample, variant_count
from strategies import valid

NOW = datetime(2024, 5, 1, 8, 30, tzinfo=UTC)
KB_ID = "2c9f4e6a-8b1d-4f3e-a5c7-9d0b1e2f3a4b"
KB_ARN = f"arn:aws:wisdom:us-east-1:111122223333:knowledge-base/{KB_ID}"
QR_ID = "7d3e5f1a-2b4c-4d6e-8f0a-1b2c3d4e5f6a"
QR_ARN = f"arn:aws:wisdom:us-east-1:111122223333:quick-response/{KB_ID}/{QR_ID}"


class Status(enum.StrEnum):
    ACTIVE = "ACTIVE"


def knowledge_base() -> dict[str, Any]:
    return {
        "knowledgeBaseId": KB_ID,
        "knowledgeBaseArn": KB_ARN,
        "name": "support",
        "knowledgeBaseType": "QUICK_RESPONSES",
        "status": Status.ACTIVE,  # a str subclass is a str
        "lastContentModificationTime": NOW,
        "description": None,  # None is an absent member
        "tags": {"team": "cx", "gone": None},  # the serializer drops None map values
    }


def quick_response_summary(**changes: Any) -> dict[str, Any]:
    summary = {
        "quickResponseArn": QR_ARN,
        "quickResponseId": QR_ID,
        "knowledgeBaseArn": KB_ARN,
        "knowledgeBaseId": KB_ID,
        "name": "greeting",
        "contentType": "application/x.quickresponse;format=plain",
        "status": "CREATED",
        "createdTime": NOW,
        "lastModifiedTime": NOW,
        "isActive": True,
        "channels": ("Chat", "Email"),  # a tuple is a list
    }
    return {**summary, **changes}


def search_result(**changes: Any) -> dict[str, Any]:
    result = quick_response_summary(
        contents={"plainText": {"content": "Hello"}, "markdown": {"content": "**Hello**"}},
        groupingConfiguration={"criteria": "RoutingProfileArn", "values": ["a"]},
    )
    return {**result, **changes}


def import_job() -> dict[str, Any]:
    return {
        "importJobId": QR_ID,
        "knowledgeBaseId": KB_ID,
        "uploadId": "upload-1",
        "knowledgeBaseArn": KB_ARN,
        "importJobType": "QUICK_RESPONSES",
        "status": "START_IN_PROGRESS",
        "url": "https://example.com/upload",
        "urlExpiry": NOW,
        "createdTime": NOW,
        "lastModifiedTime": NOW,
        "metadata": {"source": "csv"},
    }


def recommendation() -> dict[str, Any]:
    content = {
        "reference": {"contentReference": {"knowledgeBaseId": KB_ID, "contentId": QR_ID}},
        "details": {
            "contentData": {
                "textData": {"title": {"text": "T", "highlights": [{"beginOffsetInclusive": 0}]}},
                "rankingData": {"relevanceScore": 1},  # an int is a double
            }
        },
    }
    return {
        "recommendationId": "rec-1",
        "relevanceScore": 0.75,
        "type": "GENERATIVE_ANSWER",
        "data": {
            "reference": {"generativeReference": {"modelId": "m", "generationId": QR_ID}},
            "details": {
                "generativeData": {
                    "completion": "Try turning it off and on.",
                    "references": [content],  # DataSummary inside DataSummary: a recursive shape
                    "rankingData": {"relevanceScore": 0.5},
                }
            },
        },
    }


def ai_agent() -> dict[str, Any]:
    return {
        "assistantId": KB_ID,
        "assistantArn": KB_ARN,
        "aiAgentId": QR_ID,
        "aiAgentArn": QR_ARN,
        "name": "agent",
        "type": "ORCHESTRATION",
        "visibilityStatus": "PUBLISHED",
        "configuration": {
            "orchestrationAIAgentConfiguration": {
                "toolConfigurations": [
                    {
                        "toolName": "lookup",
                        "toolType": "MODEL_CONTEXT_PROTOCOL",
                        "inputSchema": {
                            "type": "object",
                            "properties": {"q": {"type": "string"}},
                            "n": [1, None],
                        },
                    }
                ]
            }
        },
        "modifiedTime": NOW,
    }


def errors(name: str, output: dict[str, Any] | None) -> list[str]:
    return output_errors(operation(name), output)


# --- fitting outputs ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "output"),
    [
        ("GetKnowledgeBase", {"knowledgeBase": knowledge_base()}),
        ("GetKnowledgeBase", {}),  # no required top-level member
        ("GetKnowledgeBase", None),
        ("ListQuickResponses", {"quickResponseSummaries": [quick_response_summary()], "nextToken": None}),
        ("ListQuickResponses", {"quickResponseSummaries": []}),
        ("SearchQuickResponses", {"results": [search_result(), search_result()], "nextToken": "t"}),
        ("GetImportJob", {"importJob": import_job()}),
        ("GetRecommendations", {"recommendations": [recommendation()], "triggers": []}),
        ("GetAIAgent", {"aiAgent": ai_agent(), "versionNumber": 3}),
        ("DeleteKnowledgeBase", None),
        ("DeleteKnowledgeBase", {}),
    ],
)
def test_a_fitting_output_passes(name: str, output: dict[str, Any] | None) -> None:
    assert errors(name, output) == []
    check_output(operation(name), output)


@pytest.mark.parametrize("name", operation_names())
def test_every_sample_output_of_every_operation_passes(name: str) -> None:
    """Every member filled, every union member in turn (shapes.sample), for all 96 operations."""
    op = operation(name)
    for variant in range(variant_count(op.output_shape)):
        assert output_errors(op, sample(op.output_shape, variant, when=OUTPUT_TIME)) == [], variant


# --- misspelled and unknown members -------------------------------------------------------------


def test_misspelled_member_at_depth_1() -> None:
    assert errors("GetKnowledgeBase", {"knowledgeBases": knowledge_base()}) == [
        "knowledgeBases: not a member of GetKnowledgeBaseResponse"
    ]


def test_misspelled_member_at_depth_2() -> None:
    kb = knowledge_base()
    kb["knowledgeBaseArnn"] = kb["knowledgeBaseArn"]
    assert errors("GetKnowledgeBase", {"knowledgeBase": kb}) == [
        "knowledgeBase.knowledgeBaseArnn: not a member of KnowledgeBaseData"
    ]


def test_misspelled_member_at_depth_3_inside_a_list() -> None:
    second = search_result(contents={"plainTxt": {"content": "Hello"}})
    assert errors("SearchQuickResponses", {"results": [search_result(), second]}) == [
        "results[1].contents.plainTxt: not a member of QuickResponseContents"
    ]


def test_misspelled_member_inside_a_recursive_shape() -> None:
    rec = recommendation()
    rec["data"]["details"]["generativeData"]["references"][0]["details"]["contentData"]["rankingData"] = {
        "relevanceScor": 1.0
    }
    assert errors("GetRecommendations", {"recommendations": [rec]}) == [
        "recommendations[0].data.details.generativeData.references[0].details.contentData.rankingData"
        ".relevanceScor: not a member of RankingData"
    ]


def test_an_unknown_key_is_reported_even_when_its_value_is_none() -> None:
    assert errors("GetImportJob", {"importJob": {**import_job(), "ulr": None}}) == [
        "importJob.ulr: not a member of ImportJobData"
    ]


def _structures(shape: Shape, value: Any, path: str = "") -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Every structure value inside `value` (not maps, not documents): its path, shape name and dict."""
    if shape.metadata.get("document") or value is None:
        return
    if shape.type_name == "structure":
        yield path, shape.name, value
        for key, item in value.items():
            yield from _structures(shape.members[key], item, f"{path}.{key}" if path else key)
    elif shape.type_name == "list":
        for index, item in enumerate(value):
            yield from _structures(shape.member, item, f"{path}[{index}]")
    elif shape.type_name == "map":
        for key, item in value.items():
            yield from _structures(shape.value, item, f"{path}[{key!r}]")


@pytest.mark.parametrize(
    "name", ["GetKnowledgeBase", "SearchQuickResponses", "GetImportJob", "GetRecommendations", "GetAIAgent"]
)
def test_a_stray_key_in_any_structure_is_named_by_its_path(name: str) -> None:
    """Walking the sample independently of the checker: each structure, in turn, gets one stray key."""
    shape = operation(name).output_shape
    output = sample(shape, 0, when=OUTPUT_TIME)
    count = len(list(_structures(shape, output)))
    assert count >= 5
    for index in range(count):
        broken = copy.deepcopy(output)
        path, structure_name, target = list(_structures(shape, broken))[index]
        target["zzStray"] = "x"
        stray = f"{path}.zzStray" if path else "zzStray"
        assert errors(name, broken) == [f"{stray}: not a member of {structure_name}"]


# --- required members ---------------------------------------------------------------------------


def test_a_missing_required_member() -> None:
    job = import_job()
    del job["url"]
    assert errors("GetImportJob", {"importJob": job}) == [
        "importJob.url: required member of ImportJobData is missing"
    ]


def test_a_required_member_set_to_none() -> None:
    assert errors("GetImportJob", {"importJob": {**import_job(), "status": None}}) == [
        "importJob.status: required member of ImportJobData is None"
    ]


def test_a_missing_required_top_level_member_even_for_an_empty_output() -> None:
    expected = ["quickResponseSummaries: required member of ListQuickResponsesResponse is missing"]
    assert errors("ListQuickResponses", {"nextToken": "t"}) == expected
    assert errors("ListQuickResponses", {}) == expected
    assert errors("ListQuickResponses", None) == expected


def test_a_missing_required_member_inside_a_list() -> None:
    summary = quick_response_summary()
    del summary["createdTime"]
    output = {"quickResponseSummaries": [quick_response_summary(), summary]}
    assert errors("ListQuickResponses", output) == [
        "quickResponseSummaries[1].createdTime: required member of QuickResponseSummary is missing"
    ]


# --- types --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "got"), [("3", "str"), (True, "bool"), (3.0, "float"), ([3], "list"), ({"n": 3}, "dict")]
)
def test_a_wrong_type_for_a_long(value: Any, got: str) -> None:
    assert errors("GetAIAgent", {"aiAgent": ai_agent(), "versionNumber": value}) == [
        f"versionNumber: expected int (not bool) for long shape Version, got {got}"
    ]


def test_bool_for_an_integer_inside_a_list() -> None:
    rec = recommendation()
    highlights = rec["data"]["details"]["generativeData"]["references"][0]["details"]["contentData"][
        "textData"
    ]["title"]["highlights"]
    highlights.append({"beginOffsetInclusive": False})
    assert errors("GetRecommendations", {"recommendations": [rec]}) == [
        "recommendations[0].data.details.generativeData.references[0].details.contentData.textData.title"
        ".highlights[1].beginOffsetInclusive: expected int (not bool) for integer shape HighlightOffset, "
        "got bool"
    ]


def test_timestamps_take_datetimes_only() -> None:
    """The serializer formats datetimes: an epoch number or a string would not reach the wire."""
    for fine in (NOW, datetime(2024, 1, 1)):
        assert errors("GetImportJob", {"importJob": {**import_job(), "createdTime": fine}}) == []
    for wrong, got in (
        ("2024-05-01T08:30:00Z", "str"),
        (True, "bool"),
        (NOW.date(), "date"),
        (1714552200, "int"),
    ):
        assert errors("GetImportJob", {"importJob": {**import_job(), "createdTime": wrong}}) == [
            "importJob.createdTime: expected datetime for timestamp shape "
            f"SyntheticTimestamp_epoch_seconds, got {got}"
        ]


def test_doubles_take_ints_and_floats_but_not_bools_or_strings() -> None:
    for fine in (1, 0.5):
        assert (
            errors("GetRecommendations", {"recommendations": [{**recommendation(), "relevanceScore": fine}]})
            == []
        )
    for wrong, got in ((True, "bool"), ("0.5", "str")):
        assert errors(
            "GetRecommendations", {"recommendations": [{**recommendation(), "relevanceScore": wrong}]}
        ) == [
            f"recommendations[0].relevanceScore: expected int or float (not bool) for double shape "
            f"RelevanceScore, got {got}"
        ]


def test_a_wrong_type_for_a_string_and_a_boolean() -> None:
    output = {"results": [search_result(name=7, isActive="true")]}
    assert errors("SearchQuickResponses", output) == [
        "results[0].name: expected str for string shape QuickResponseName, got int",
        "results[0].isActive: expected bool for boolean shape Boolean, got str",
    ]


def test_a_dict_for_a_list() -> None:
    assert errors("ListQuickResponses", {"quickResponseSummaries": {"0": quick_response_summary()}}) == [
        "quickResponseSummaries: expected list or tuple for list QuickResponseSummaryList, got dict"
    ]


def test_a_list_for_a_structure_and_a_str_for_a_map() -> None:
    assert errors("GetImportJob", {"importJob": [import_job()]}) == [
        "importJob: expected dict for structure ImportJobData, got list"
    ]
    assert errors("GetImportJob", {"importJob": {**import_job(), "metadata": "source=csv"}}) == [
        "importJob.metadata: expected dict for map ContentMetadata, got str"
    ]


def test_the_whole_output_must_be_a_dict() -> None:
    assert errors("GetKnowledgeBase", [knowledge_base()]) == [  # type: ignore[arg-type]
        "<output>: expected dict for structure GetKnowledgeBaseResponse, got list"
    ]


def test_map_keys_must_be_strings_and_values_fit_the_value_shape() -> None:
    kb = {**knowledge_base(), "tags": {"team": "cx", 7: "seven", "count": 3}}
    assert errors("GetKnowledgeBase", {"knowledgeBase": kb}) == [
        "knowledgeBase.tags[7]: key of map Tags is a int, not a str",
        "knowledgeBase.tags['count']: expected str for string shape TagValue, got int",
    ]


def test_none_in_a_list_is_an_error() -> None:
    output = {"quickResponseSummaries": [quick_response_summary(channels=["Chat", None])]}
    assert errors("ListQuickResponses", output) == [
        "quickResponseSummaries[0].channels[1]: None in list Channels (it would be sent as null)"
    ]


def test_every_problem_is_listed() -> None:
    summary = quick_response_summary(nmae="x", isActive=1)
    del summary["status"]
    output = {"quickResponseSummaries": [summary], "nextTokne": "t"}
    assert errors("ListQuickResponses", output) == [
        "quickResponseSummaries[0].isActive: expected bool for boolean shape Boolean, got int",
        "quickResponseSummaries[0].nmae: not a member of QuickResponseSummary",
        "quickResponseSummaries[0].status: required member of QuickResponseSummary is missing",
        "nextTokne: not a member of ListQuickResponsesResponse",
    ]


# --- unions and documents -----------------------------------------------------------------------


def test_a_union_with_two_members_set() -> None:
    rec = recommendation()
    rec["data"]["details"]["intentDetectedData"] = {"intent": "refund", "intentId": QR_ID}
    assert errors("GetRecommendations", {"recommendations": [rec]}) == [
        "recommendations[0].data.details: union DataDetails must have exactly one member set, "
        "got 2 (generativeData, intentDetectedData)"
    ]


def test_a_union_with_no_member_set() -> None:
    agent = {**ai_agent(), "configuration": {"orchestrationAIAgentConfiguration": None}}
    assert errors("GetAIAgent", {"aiAgent": agent}) == [
        "aiAgent.configuration: union AIAgentConfiguration must have exactly one member set, got 0"
    ]


def test_a_union_in_a_list_with_two_members() -> None:
    output = {"results": [search_result(), search_result(contents={"plainText": {"content": None}})]}
    assert errors("SearchQuickResponses", output) == [
        "results[1].contents.plainText: union QuickResponseContentProvider must have exactly one member set, "
        "got 0"
    ]


def test_a_document_takes_any_json_value_but_nothing_else() -> None:
    def with_schema(schema: Any) -> dict[str, Any]:
        agent = ai_agent()
        agent["configuration"]["orchestrationAIAgentConfiguration"]["toolConfigurations"][0][
            "inputSchema"
        ] = schema
        return {"aiAgent": agent}

    json_values: tuple[Any, ...] = ("text", 1, 2.5, False, [], {}, [{"a": [None, True]}], ({"k": "v"},))
    for fine in json_values:
        assert errors("GetAIAgent", with_schema(fine)) == [], fine
    path = "aiAgent.configuration.orchestrationAIAgentConfiguration.toolConfigurations[0].inputSchema"
    assert errors("GetAIAgent", with_schema({"when": NOW, 1: "one", "list": [b"raw"]})) == [
        f"{path}['when']: not a JSON value in a document: datetime",
        f"{path}[1]: key in a document is a int, not a str",
        f"{path}['list'][0]: not a JSON value in a document: bytes",
    ]


# --- operations without output members, and without output shape -------------------------------


def test_an_extra_key_on_an_operation_whose_output_is_empty() -> None:
    assert errors("DeleteKnowledgeBase", {"status": "DELETED"}) == [
        "status: not a member of DeleteKnowledgeBaseResponse"
    ]


SYNTHETIC = ServiceModel(
    {
        "version": "2.0",
        "metadata": {
            "apiVersion": "2024-01-01",
            "endpointPrefix": "synthetic",
            "protocol": "rest-json",
            "serviceId": "Synthetic",
            "signatureVersion": "v4",
        },
        "operations": {
            "Ping": {"name": "Ping", "http": {"method": "POST", "requestUri": "/ping", "responseCode": 204}},
            "Fetch": {
                "name": "Fetch",
                "http": {"method": "GET", "requestUri": "/fetch", "responseCode": 200},
                "output": {"shape": "SyntheticFetchOutput"},
            },
        },
        "shapes": {
            "SyntheticFetchOutput": {
                "type": "structure",
                "required": ["etag", "data"],
                "members": {
                    "etag": {"shape": "SyntheticString", "location": "header", "locationName": "ETag"},
                    "status": {"shape": "SyntheticInteger", "location": "statusCode"},
                    "data": {"shape": "SyntheticBlob"},
                },
            },
            "SyntheticString": {"type": "string"},
            "SyntheticInteger": {"type": "integer"},
            "SyntheticBlob": {"type": "blob"},
        },
    },
    service_name="synthetic",
)


def synthetic(name: str) -> OperationModel:
    return SYNTHETIC.operation_model(name)


def test_no_output_shape_takes_none_or_an_empty_dict_only() -> None:
    ping = synthetic("Ping")
    assert ping.output_shape is None
    assert output_errors(ping, None) == []
    assert output_errors(ping, {}) == []
    assert output_errors(ping, {"ok": True, "id": None}) == [
        "ok: not a member: Ping has no output shape",
        "id: not a member: Ping has no output shape",
    ]
    assert output_errors(ping, "pong") == ["<output>: Ping has no output shape, but the output is a str"]  # type: ignore[arg-type]


def test_header_and_status_members_follow_the_same_rules() -> None:
    fetch = synthetic("Fetch")
    assert output_errors(fetch, {"etag": "v1", "status": 206, "data": b"\x00\xff"}) == []
    assert output_errors(fetch, {"etag": "v1", "data": "text"}) == [
        "data: expected bytes for blob shape SyntheticBlob, got str"
    ]
    assert output_errors(fetch, {"ETag": "v1", "status": "206", "data": 5}) == [
        "ETag: not a member of SyntheticFetchOutput",  # the wire name is not the member name
        "status: expected int (not bool) for integer shape SyntheticInteger, got str",
        "data: expected bytes for blob shape SyntheticBlob, got int",
        "etag: required member of SyntheticFetchOutput is missing",
    ]


# --- check_output -------------------------------------------------------------------------------


def test_check_output_raises_an_assertion_error_naming_every_problem() -> None:
    job = {**import_job(), "urll": "x"}
    del job["url"]
    with pytest.raises(OutputMismatch) as caught:
        check_output(operation("GetImportJob"), {"importJob": job})
    assert isinstance(caught.value, AssertionError)
    assert str(caught.value) == (
        "GetImportJob output does not match GetImportJobResponse (2 problems):\n"
        "  importJob.urll: not a member of ImportJobData\n"
        "  importJob.url: required member of ImportJobData is missing"
    )


def test_check_output_on_an_operation_without_output_shape() -> None:
    with pytest.raises(OutputMismatch, match=r"Ping output does not match no output shape \(1 problem\)"):
        check_output(synthetic("Ping"), {"ok": True})


# --- property: drawn outputs fit ----------------------------------------------------------------

PROPERTY_OPERATIONS = (
    "GetKnowledgeBase",
    "ListQuickResponses",
    "SearchQuickResponses",
    "GetImportJob",
    "ListImportJobs",
    "GetRecommendations",
    "GetAIAgent",
    "QueryAssistant",
)


@st.composite
def drawn_outputs(draw: st.DrawFn) -> tuple[str, Any]:
    name = draw(st.sampled_from(PROPERTY_OPERATIONS))
    return name, draw(valid(operation(name).output_shape))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drawn_outputs())
def test_outputs_drawn_from_the_shape_fit(case: tuple[str, Any]) -> None:
    name, output = case
    assert errors(name, output) == []
