"""RenderMessageTemplate's renderer, as specified in `qconnect_local.engine.template_render`."""

from __future__ import annotations

import time
from typing import Any

import botocore.session
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qconnect_local.engine import template_attributes as ta
from qconnect_local.engine.template_render import (
    MAX_KEY_CHARS,
    MAX_RENDERED_CHARS,
    TEXT_SLOTS,
    RenderedContent,
    RenderTooLarge,
    attribute_types,
    render_content,
)


def sms(text: str) -> dict[str, Any]:
    return {"sms": {"body": {"plainText": {"content": text}}}}


def render_sms(text: str, attributes: Any = None, defaults: Any = None) -> tuple[str, list[str]]:
    result = render_content(sms(text), attributes, defaults)
    return result.content["sms"]["body"]["plainText"]["content"], result.not_interpolated


def email(subject: str = "s", plain: str = "p", html: str = "h", headers: Any = ()) -> dict[str, Any]:
    return {
        "email": {
            "subject": subject,
            "body": {"plainText": {"content": plain}, "html": {"content": html}},
            "headers": [{"name": n, "value": v} for n, v in headers],
        }
    }


# --- the documented forms -------------------------------------------------------------------------


def test_documented_customer_and_agent_placeholders() -> None:
    attributes = {
        "customerProfileAttributes": {"firstName": "Sofia"},
        "agentAttributes": {"firstName": "Jorge"},
    }
    assert render_sms(
        "Hi {{Attributes.Customer.FirstName}}, I'm {{Attributes.Agent.FirstName}}.", attributes
    ) == (
        "Hi Sofia, I'm Jorge.",
        [],
    )


def test_documented_indexed_recommendations() -> None:
    attributes = {
        "customerProfileAttributes": {
            "recommendations": [
                {"catalogItem": {"name": "Boots"}},
                {"catalogItem": {"name": "Hat"}, "score": 0.87},
            ]
        }
    }
    text = (
        "{{Attributes.Customer.Recommendations.[0].CatalogItem.Name}} / "
        "{{Attributes.Customer.Recommendations.[1].CatalogItem.Name}} "
        "{{Attributes.Customer.Recommendations.[1].Score}}"
    )
    assert render_sms(text, attributes) == ("Boots / Hat 0.87", [])


def test_recommendation_index_out_of_range_is_not_interpolated() -> None:
    attributes = {"customerProfileAttributes": {"recommendations": [{"catalogItem": {"name": "Boots"}}]}}
    key = "Attributes.Customer.Recommendations.[1].CatalogItem.Name"
    assert render_sms("{{" + key + "}}", attributes) == ("{{" + key + "}}", [key])
    beyond_model = "Attributes.Customer.Recommendations.[50].CatalogItem.Name"
    assert render_sms("{{" + beyond_model + "}}", attributes)[1] == [beyond_model]


def test_recommendation_index_must_be_plain_decimal() -> None:
    attributes = {"customerProfileAttributes": {"recommendations": [{"catalogItem": {"name": "Boots"}}]}}
    for index in ("00", "-0", "+0", "\u0660", " 0", "0x0", ""):
        key = f"Attributes.Customer.Recommendations.[{index}].CatalogItem.Name"
        assert render_sms("{{" + key + "}}", attributes)[1] == [key.strip()]


def test_catalog_item_fields_and_attribute_map() -> None:
    item = {m: f"<{m}>" for m in ta.CATALOG_ITEM_MEMBERS} | {"attributes": {"colour.main": "red"}}
    attributes = {"customerProfileAttributes": {"recommendations": [{"catalogItem": item}]}}
    prefix = "Attributes.Customer.Recommendations.[0].CatalogItem."
    for member in ta.CATALOG_ITEM_MEMBERS:
        assert render_sms("{{" + prefix + ta.pascal(member) + "}}", attributes) == (f"<{member}>", [])
    assert render_sms("{{" + prefix + "Attributes.colour.main}}", attributes) == ("red", [])


# --- every namespace ------------------------------------------------------------------------------


def test_system_attributes_under_member_paths_and_console_names() -> None:
    attributes = {
        "systemAttributes": {
            "name": "Sofia M",
            "customerEndpoint": {"address": "sofia@example.com"},
            "systemEndpoint": {"address": "help@example.com"},
        }
    }
    cases = {
        "Attributes.System.Name": "Sofia M",
        "Attributes.System.CustomerEndpointAddress": "sofia@example.com",
        "Attributes.System.CustomerEndpoint.Address": "sofia@example.com",
        "Attributes.System.SystemEmailAddress": "help@example.com",
        "Attributes.System.SystemEndpointAddress": "help@example.com",
        "Attributes.System.SystemEndpoint.Address": "help@example.com",
    }
    for key, expected in cases.items():
        assert render_sms("{{" + key + "}}", attributes) == (expected, [])


def test_agent_attributes() -> None:
    attributes = {"agentAttributes": {"firstName": "Jorge", "lastName": "Souza"}}
    assert render_sms("{{Attributes.Agent.FirstName}} {{Attributes.Agent.LastName}}", attributes)[0] == (
        "Jorge Souza"
    )


def test_every_customer_profile_field_is_its_member_name_capitalised() -> None:
    profile = {member: f"<{member}>" for member in ta.PROFILE_MEMBERS}
    for member in ta.PROFILE_MEMBERS:
        text = "{{Attributes.Customer." + ta.pascal(member) + "}}"
        assert render_sms(text, {"customerProfileAttributes": profile}) == (f"<{member}>", [])
    assert render_sms("{{Attributes.Customer.ProfileARN}}", {"customerProfileAttributes": profile})[0] == (
        "<profileARN>"
    )


def test_profile_custom_attributes_under_both_spellings_and_calculated_attributes() -> None:
    attributes = {
        "customerProfileAttributes": {
            "custom": {"tier": "gold"},
            "calculatedAttributes": {"_last_agent_id": "a-1"},
        }
    }
    text = (
        "{{Attributes.Customer.Attributes.tier}} {{Attributes.Customer.Custom.tier}} "
        "{{Attributes.Customer.CalculatedAttributes._last_agent_id}}"
    )
    assert render_sms(text, attributes) == ("gold gold a-1", [])


def test_custom_and_case_attributes_use_map_keys_verbatim() -> None:
    attributes = {
        "customAttributes": {"order.id": "o-1", "Order Id": "o-2"},
        "caseAttributes": {"case_reason": "late"},
    }
    text = "{{Attributes.Custom.order.id}}|{{Attributes.Custom.Order Id}}|{{Attributes.Case.case_reason}}"
    assert render_sms(text, attributes) == ("o-1|o-2|late", [])


def test_keys_are_case_sensitive() -> None:
    attributes = {"agentAttributes": {"firstName": "Jorge"}, "customAttributes": {"Tier": "gold"}}
    assert render_sms("{{attributes.agent.firstname}}", attributes)[1] == ["attributes.agent.firstname"]
    assert render_sms("{{Attributes.Custom.tier}}", attributes)[1] == ["Attributes.Custom.tier"]


def test_unknown_keys_are_placeholders_that_never_resolve() -> None:
    attributes = {"customAttributes": {"Name": "x"}}
    text = "{{Name}} {{Attributes.Bogus.X}} {{#if x}} {{Attributes.Custom.}}"
    assert render_sms(text, attributes) == (
        text,
        ["Name", "Attributes.Bogus.X", "#if x", "Attributes.Custom."],
    )


# --- precedence and missing values ----------------------------------------------------------------


def test_request_values_win_over_defaults_per_value() -> None:
    defaults = {"customerProfileAttributes": {"firstName": "Customer", "lastName": "Doe"}}
    request = {"customerProfileAttributes": {"firstName": "Sofia"}}
    text = "{{Attributes.Customer.FirstName}} {{Attributes.Customer.LastName}}"
    assert render_sms(text, request, defaults) == ("Sofia Doe", [])
    assert render_sms(text, None, defaults) == ("Customer Doe", [])


def test_default_recommendation_fills_a_request_without_one() -> None:
    defaults = {"customerProfileAttributes": {"recommendations": [{"catalogItem": {"name": "Gift card"}}]}}
    request = {"customerProfileAttributes": {"firstName": "Sofia"}}
    key = "{{Attributes.Customer.Recommendations.[0].CatalogItem.Name}}"
    assert render_sms(key, request, defaults) == ("Gift card", [])


def test_empty_string_is_a_value_and_non_text_is_absent() -> None:
    defaults = {"customAttributes": {"a": "default-a", "b": "default-b"}}
    request: dict[str, Any] = {"customAttributes": {"a": "", "b": None}}
    assert render_sms("[{{Attributes.Custom.a}}][{{Attributes.Custom.b}}]", request, defaults)[0] == (
        "[][default-b]"
    )
    assert render_sms("{{Attributes.Custom.c}}", {"customAttributes": {"c": ["x"]}})[1] == [
        "Attributes.Custom.c"
    ]


def test_missing_values_keep_the_placeholder_as_written_and_are_listed_once_in_order() -> None:
    content = email(
        subject="{{ Attributes.Customer.LastName }} {{Attributes.Agent.FirstName}}",
        plain="{{Attributes.Customer.FirstName}} {{Attributes.Customer.LastName}}",
        html="{{Attributes.Customer.FirstName}} {{Attributes.Case.id}}",
        headers=[("X-Ref", "{{Attributes.Case.id}} {{Attributes.Custom.ref}}")],
    )
    result = render_content(content, {"agentAttributes": {"firstName": "Jorge"}}, None)
    assert result.content["email"]["subject"] == "{{ Attributes.Customer.LastName }} Jorge"
    assert result.not_interpolated == [
        "Attributes.Customer.LastName",
        "Attributes.Customer.FirstName",
        "Attributes.Case.id",
        "Attributes.Custom.ref",
    ]


def test_whitespace_inside_braces_is_trimmed_from_the_key() -> None:
    attributes = {"agentAttributes": {"firstName": "Jorge"}}
    assert render_sms("{{  Attributes.Agent.FirstName\t}}", attributes) == ("Jorge", [])


# --- parts and escaping ---------------------------------------------------------------------------


def test_html_body_values_are_escaped_and_plain_text_is_not() -> None:
    attributes = {"customerProfileAttributes": {"firstName": '<b>Tom & "Jerry" O\'Neil</b>'}}
    content = email(
        plain="Hi {{Attributes.Customer.FirstName}}",
        html="<p>Hi {{Attributes.Customer.FirstName}}</p>",
    )
    body = render_content(content, attributes, None).content["email"]["body"]
    assert body["plainText"]["content"] == 'Hi <b>Tom & "Jerry" O\'Neil</b>'
    assert body["html"]["content"] == "<p>Hi &lt;b&gt;Tom &amp; &quot;Jerry&quot; O&#x27;Neil&lt;/b&gt;</p>"


def test_subject_and_header_values_cannot_gain_line_breaks() -> None:
    attributes = {"customAttributes": {"v": "a\r\nBcc: evil@example.com\nx"}}
    content = email(subject="S {{Attributes.Custom.v}}", headers=[("X-V", "{{Attributes.Custom.v}}")])
    rendered = render_content(content, attributes, None).content["email"]
    assert rendered["subject"] == "S a  Bcc: evil@example.com x"
    assert rendered["headers"] == [{"name": "X-V", "value": "a  Bcc: evil@example.com x"}]


def test_header_names_are_not_rendered() -> None:
    attributes = {"customAttributes": {"n": "X-Name"}}
    content = email(headers=[("{{Attributes.Custom.n}}", "v")])
    rendered = render_content(content, attributes, None)
    assert rendered.content["email"]["headers"][0]["name"] == "{{Attributes.Custom.n}}"


def test_sms_and_whatsapp_are_rendered() -> None:
    attributes = {"agentAttributes": {"firstName": "Jorge"}}
    data = '{"components":[{"text":"{{Attributes.Agent.FirstName}}"}]}'
    result = render_content({"whatsApp": {"data": data}}, attributes, None)
    assert result.content == {"whatsApp": {"data": '{"components":[{"text":"Jorge"}]}'}}


def test_every_push_text_field_is_rendered_and_action_is_not() -> None:
    attributes = {"customAttributes": {"v": "V"}}
    p = "{{Attributes.Custom.v}}"
    fields = {"title": p, "sound": p, "url": p, "imageUrl": p, "imageIconUrl": p, "smallImageIconUrl": p}
    platform = {**fields, "body": {"content": p}, "rawContent": {"content": p}, "action": "URL"}
    apns = {"title": p, "sound": p, "url": p, "mediaUrl": p, "body": {"content": p}, "action": "OPEN_APP"}
    content = {"push": {"adm": platform, "apns": apns, "fcm": platform, "baidu": platform}}
    result = render_content(content, attributes, None).content["push"]
    for name in ("adm", "fcm", "baidu"):
        assert result[name] == {
            **dict.fromkeys(fields, "V"),
            "body": {"content": "V"},
            "rawContent": {"content": "V"},
            "action": "URL",
        }
    assert result["apns"]["mediaUrl"] == "V"
    assert result["apns"]["action"] == "OPEN_APP"


def test_the_input_is_not_mutated_and_other_members_are_copied() -> None:
    content = email(plain="{{Attributes.Agent.FirstName}}")
    content["email"]["unknownMember"] = {"deep": ["x"]}
    before = repr(content)
    result = render_content(content, {"agentAttributes": {"firstName": "J"}}, None)
    assert repr(content) == before
    assert result.content["email"]["unknownMember"] == {"deep": ["x"]}
    assert isinstance(result, RenderedContent)


def test_text_slots_cover_every_text_member_of_the_model() -> None:
    """Each string member of MessageTemplateContentProvider is rendered, except enums and header names."""
    model = botocore.session.get_session().get_service_model("qconnect")
    found: set[tuple[str, ...]] = set()

    def walk(shape: Any, path: tuple[str, ...]) -> None:
        if shape.type_name == "structure":
            for name, member in shape.members.items():
                walk(member, (*path, name))
        elif shape.type_name == "list":
            walk(shape.member, (*path, "*"))
        elif shape.type_name == "string" and not shape.enum:
            found.add(path)

    walk(model.shape_for("MessageTemplateContentProvider"), ())
    assert found - {("email", "headers", "*", "name")} == {pattern for pattern, _ in TEXT_SLOTS}


def test_member_lists_match_the_model() -> None:
    model = botocore.session.get_session().get_service_model("qconnect")
    profile = model.shape_for("CustomerProfileAttributes").members
    assert tuple(m for m in profile if profile[m].type_name == "string") == ta.PROFILE_MEMBERS
    assert tuple(model.shape_for("AgentAttributes").members) == ta.AGENT_MEMBERS
    item = model.shape_for("ProfileCatalogItem").members
    assert tuple(m for m in item if item[m].type_name == "string") == ta.CATALOG_ITEM_MEMBERS
    assert set(model.shape_for("MessageTemplateAttributes").members) == {
        path[0] for path in ta.FIXED_PATHS.values()
    } | {base[0] for _, base in ta.MAP_PREFIXES}
    assert {kind for _, kind in ta.NAMESPACE_TYPES} == set(
        model.shape_for("MessageTemplateAttributeType").enum
    )


# --- malformed and hostile templates --------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "{{{Attributes.Agent.FirstName}}}",
        "{{{{Attributes.Agent.FirstName}}}}",
        "{{Attributes.Agent.FirstName}}}",
        "{{{Attributes.Agent.FirstName}}",
        "{{Attributes.Agent.FirstName}",
        "{Attributes.Agent.FirstName}}",
        "{{Attributes.Agent.\nFirstName}}",
        "{{}}",
        "{{   }}",
        "}}{{",
        "{{a{b}}",
        "{" * 20 + "Attributes.Agent.FirstName" + "}" * 20,
    ],
)
def test_malformed_placeholders_stay_as_text_and_are_not_listed(text: str) -> None:
    assert render_sms(text, {"agentAttributes": {"firstName": "J"}}) == (text, [])


def test_a_well_formed_placeholder_next_to_stray_braces_still_renders() -> None:
    attributes = {"agentAttributes": {"firstName": "J"}}
    assert render_sms("{ {{Attributes.Agent.FirstName}} }", attributes)[0] == "{ J }"
    assert render_sms("}}{{Attributes.Agent.FirstName}}{{", attributes)[0] == "}}J{{"


def test_inserted_values_are_never_rendered_again() -> None:
    attributes = {
        "customAttributes": {"a": "{{Attributes.Custom.b}}", "b": "B"},
    }
    assert render_sms("{{Attributes.Custom.a}}", attributes) == ("{{Attributes.Custom.b}}", [])


def test_keys_longer_than_the_model_allows_are_text() -> None:
    map_key = "k" * MAX_KEY_CHARS
    text = "{{Attributes.Custom." + map_key + "}}"
    assert render_sms(text, {"customAttributes": {map_key: "v"}}) == (text, [])


@pytest.mark.parametrize(
    "text",
    [
        "{" * 1_000_000,
        "}" * 1_000_000,
        "{}" * 500_000,
        "{{" * 250_000 + "}}" * 250_000,
        "{{" + "a" * 1_000_000,
        ("{{" + "a" * 1000) * 1000,
        "{{x}}" * 200_000,
    ],
    ids=["opens", "closes", "pairs", "nested", "unclosed", "many-unclosed", "many-placeholders"],
)
def test_a_megabyte_of_hostile_braces_renders_quickly(text: str) -> None:
    started = time.process_time()
    rendered, missing = render_sms(text)
    assert rendered == text
    assert missing == (["x"] if "{{x}}" in text else [])
    assert time.process_time() - started < 2.0


# --- the size cap ---------------------------------------------------------------------------------


def test_rendered_size_is_capped() -> None:
    value = "v" * 32_768
    text = "{{Attributes.Custom.k}}" * 100_000  # would be 3.3 billion characters
    started = time.process_time()
    with pytest.raises(RenderTooLarge, match="10,000,000 characters") as caught:
        render_sms(text, {"customAttributes": {"k": value}})
    assert "sms.body.plainText.content" in str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert time.process_time() - started < 2.0


def test_the_cap_counts_all_parts_together() -> None:
    half = "x" * (MAX_RENDERED_CHARS // 2)
    attributes = {"customAttributes": {"half": half}}
    content = email(subject="s", plain="{{Attributes.Custom.half}}", html="{{Attributes.Custom.half}}")
    with pytest.raises(RenderTooLarge, match=r"email\.body\.html\.content"):
        render_content(content, attributes, None)


def test_output_right_at_the_cap_is_allowed() -> None:
    value = "x" * (MAX_RENDERED_CHARS - 2)
    rendered, _ = render_sms("<{{Attributes.Custom.v}}>", {"customAttributes": {"v": value}})
    assert len(rendered) == MAX_RENDERED_CHARS
    with pytest.raises(RenderTooLarge):
        render_sms("<{{Attributes.Custom.v}}>>", {"customAttributes": {"v": value}})


# --- properties -----------------------------------------------------------------------------------

PIECES = [*"{} .\n\rA[0]x", "Attributes.Custom.", "Attributes.Customer.", "Attributes."]
BRACEY = st.lists(st.sampled_from(PIECES)).map("".join)
ARBITRARY = st.one_of(st.text(), BRACEY)
VALUES = st.dictionaries(st.text(max_size=5), st.text(max_size=50), max_size=5)


@settings(max_examples=300, deadline=None)
@given(text=ARBITRARY, custom=VALUES, case=VALUES)
def test_rendering_arbitrary_text_never_raises(
    text: str, custom: dict[str, str], case: dict[str, str]
) -> None:
    attributes = {"customAttributes": custom, "caseAttributes": case}
    result = render_content(
        email(subject=text, plain=text, html=text, headers=[("H", text)]), attributes, None
    )
    assert len(result.not_interpolated) == len(set(result.not_interpolated))


@settings(max_examples=300, deadline=None)
@given(text=ARBITRARY)
def test_without_attributes_rendering_changes_nothing_and_is_idempotent(text: str) -> None:
    once, missing = render_sms(text)
    assert once == text
    assert render_sms(once) == (once, missing)


def test_rendering_is_deterministic() -> None:
    content = email(plain="{{Attributes.Custom.b}} {{Attributes.Custom.a}} {{Attributes.Custom.b}}")
    results = {repr(render_content(content, {"customAttributes": {"c": "1"}}, None)) for _ in range(5)}
    assert len(results) == 1


# --- attribute_types ------------------------------------------------------------------------------


def test_attribute_types_lists_the_namespaces_used_sorted() -> None:
    content = email(
        subject="{{Attributes.System.Name}}",
        plain="{{Attributes.Customer.FirstName}} {{Attributes.Agent.FirstName}}",
        html="{{Attributes.Custom.x}}",
        headers=[("X", "{{Attributes.Case.y}}")],
    )
    assert attribute_types(content) == ["AGENT", "CASE", "CUSTOM", "CUSTOMER_PROFILE", "SYSTEM"]


def test_attribute_types_ignores_text_malformed_and_non_rendered_parts() -> None:
    content = email(
        plain="{{{Attributes.Agent.FirstName}}} {{Name}} {{Attributes.Bogus.x}}",
        headers=[("{{Attributes.Case.y}}", "v")],
    )
    assert attribute_types(content) == []
    assert attribute_types(sms("{{Attributes.Customer.Recommendations.[0].CatalogItem.Name}}")) == [
        "CUSTOMER_PROFILE"
    ]
    assert attribute_types({}) == []
