"""AI prompt templates (engine/prompt_templates.py docstring), as executable examples.

Valid prompts parse and expose their variables; every rule violation is a PromptTemplateError whose
message starts with the request field and names the YAML field or variable; rendering substitutes
once, never re-scans, and leaves missing values empty.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qconnect_local.engine.prompt_templates import (
    ALLOWED_VARIABLES,
    FIELD,
    MAX_NODES,
    MAX_TEXT_CHARS,
    PROMPT_TYPES,
    PromptTemplate,
    PromptTemplateError,
    parse_prompt,
)
from qconnect_local.engine.system_prompts import all_system_prompts, system_prompt
from qconnect_local.spec import service_model

# The admin guide's two examples (facts §9.4), as a user would paste them.
QUERY_REFORMULATION_EXAMPLE = """\
system: You are an intelligent assistant that assists with query construction.
messages:
- role: user
  content: |
    Here is a conversation between a customer support agent and a customer
    <conversation>
    {{$.transcript}}
    </conversation>
    Please read through the full conversation carefully and use it to formulate a query ...
    <query>search query</query>
    and don't output anything else.
"""

ANSWER_GENERATION_EXAMPLE = """\
prompt: |
  You are an experienced multi-lingual assistant ...
  Input:
  {{$.contentExcerpt}}
  <query>{{$.query}}</query>
  <locale>{{$.locale}}</locale>
  Begin your answer with "<malice>"
"""

SELF_SERVICE_EXAMPLE = """\
system: You are an experienced assistant ...
tools:
- name: ESCALATION
  description: Escalate to a human contact center agent.
  input_schema:
    type: object
    properties:
      message: {type: string, description: message to return to the customer}
    required: [message]
messages:
- role: user
  content: "{{$.transcript}}"
"""


def messages_prompt(content: str, **extra: str) -> str:
    lines = [f"{key}: {value}" for key, value in extra.items()]
    return "\n".join([*lines, "messages:", "- role: user", f"  content: '{content}'", ""])


def rejected(text: str, prompt_type: str = "QUERY_REFORMULATION", api_format: str = "MESSAGES") -> str:
    with pytest.raises(PromptTemplateError) as caught:
        parse_prompt(text, prompt_type=prompt_type, api_format=api_format)
    message = str(caught.value)
    assert message.startswith(FIELD + ": ")
    return message


# --- the documented examples ---------------------------------------------------------------------------


def test_the_query_reformulation_example_parses() -> None:
    template = parse_prompt(
        QUERY_REFORMULATION_EXAMPLE, prompt_type="QUERY_REFORMULATION", api_format="MESSAGES"
    )
    assert template.format == "MESSAGES"
    assert template.variables == {"transcript"}
    assert template.system == "You are an intelligent assistant that assists with query construction."
    assert [m["role"] for m in template.messages if isinstance(m, dict)] == ["user"]


def test_the_answer_generation_example_parses() -> None:
    template = parse_prompt(
        ANSWER_GENERATION_EXAMPLE, prompt_type="ANSWER_GENERATION", api_format="TEXT_COMPLETIONS"
    )
    assert template.format == "TEXT_COMPLETIONS"
    assert template.variables == {"contentExcerpt", "query", "locale"}


def test_a_self_service_prompt_with_tools_parses() -> None:
    template = parse_prompt(
        SELF_SERVICE_EXAMPLE, prompt_type="SELF_SERVICE_PRE_PROCESSING", api_format="MESSAGES"
    )
    assert [tool["name"] for tool in template.tools] == ["ESCALATION"]
    assert template.tools[0]["input_schema"]["required"] == ["message"]


@pytest.mark.parametrize(
    ("old", "new"),
    [("ANTHROPIC_CLAUDE_MESSAGES", "MESSAGES"), ("ANTHROPIC_CLAUDE_TEXT_COMPLETIONS", "TEXT_COMPLETIONS")],
)
def test_the_anthropic_claude_formats_are_the_same_formats(old: str, new: str) -> None:
    text = QUERY_REFORMULATION_EXAMPLE if new == "MESSAGES" else ANSWER_GENERATION_EXAMPLE
    prompt_type = "QUERY_REFORMULATION" if new == "MESSAGES" else "ANSWER_GENERATION"
    template = parse_prompt(text, prompt_type=prompt_type, api_format=old)
    assert template.format == new
    assert template.api_format == old


def test_anthropic_version_is_accepted_in_both_formats() -> None:
    text = "anthropic_version: bedrock-2023-05-31\n" + ANSWER_GENERATION_EXAMPLE
    template = parse_prompt(text, prompt_type="ANSWER_GENERATION", api_format="TEXT_COMPLETIONS")
    assert template.anthropic_version == "bedrock-2023-05-31"
    text = "anthropic_version: bedrock-2023-05-31\n" + QUERY_REFORMULATION_EXAMPLE
    assert parse_prompt(text, prompt_type="QUERY_REFORMULATION", api_format="MESSAGES").anthropic_version


def test_the_enums_match_the_api_model() -> None:
    shapes = service_model().shape_for("AIPromptType")
    assert tuple(shapes.enum) == PROMPT_TYPES
    assert set(ALLOWED_VARIABLES) == set(PROMPT_TYPES)


# --- structure errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "names"),
    [
        (
            "messages:\n- role: user\n  content: hi\n- role: bot\n  content: x\n",
            "messages[1].role must be user or assistant",
        ),
        ("messages:\n- role: user\n", "messages[0].content must be a non-empty string"),
        ("messages:\n- role: user\n  content: 12\n", "messages[0].content must be a non-empty string"),
        ("messages:\n- role: user\n  content: hi\n  name: x\n", "messages[0].name is not supported"),
        ("messages:\n- just text\n", "messages[0] must be a mapping"),
        ("messages: []\n", "messages must be a non-empty list"),
        ("messages: hello\n", "messages must be a non-empty list"),
        ("system: hi\n", "messages is required for apiFormat MESSAGES"),
        ("system: [a]\nmessages:\n- {role: user, content: hi}\n", "system must be a string"),
        (
            "prompt: hi\nmessages:\n- {role: user, content: hi}\n",
            "'prompt' is not supported for apiFormat MESSAGES",
        ),
        ("temperature: 1\nmessages:\n- {role: user, content: hi}\n", "'temperature' is not supported"),
        (
            "anthropic_version: 2023\nmessages:\n- {role: user, content: hi}\n",
            "anthropic_version must be a string",
        ),
    ],
)
def test_messages_structure_errors_name_the_field(text: str, names: str) -> None:
    assert names in rejected(text)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("anthropic_version: v\n", "prompt is required for apiFormat TEXT_COMPLETIONS"),
        (
            "messages:\n- {role: user, content: '{{$.contentExcerpt}}'}\n",
            "'messages' belongs to apiFormat MESSAGES",
        ),
        ("prompt: ['{{$.contentExcerpt}}']\n", "prompt must be a non-empty string"),
        (
            "prompt: '{{$.contentExcerpt}}'\nsystem: x\n",
            "'system' is not supported for apiFormat TEXT_COMPLETIONS",
        ),
    ],
)
def test_text_completions_structure_errors_name_the_field(text: str, names: str) -> None:
    assert names in rejected(text, "ANSWER_GENERATION", "TEXT_COMPLETIONS")


def tool(schema: str, name: str = "ESCALATION", description: str = "Escalate.") -> str:
    return (
        f"tools:\n- name: {name}\n  description: {description}\n  input_schema: {schema}\n"
        "messages:\n- {role: user, content: '{{$.transcript}}'}\n"
    )


GOOD_SCHEMA = "{type: object, properties: {message: {type: string}}, required: [message]}"


@pytest.mark.parametrize(
    ("text", "names"),
    [
        (tool(GOOD_SCHEMA, name="'has space'"), "tools[0].name must be 1-64 letters"),
        (tool(GOOD_SCHEMA, description="''"), "tools[0].description must be a non-empty string"),
        (
            tool("{properties: {m: {type: integer}}, required: []}"),
            "tools[0].input_schema.properties.m.type must be string",
        ),
        (tool("{properties: {m: {type: string}}}"), "tools[0].input_schema.required is required"),
        (tool("{required: []}"), "tools[0].input_schema.properties is required"),
        (tool("{type: array, properties: {}, required: []}"), "tools[0].input_schema.type must be object"),
        (
            tool("{properties: {m: {type: string}}, required: [x]}"),
            "required names 'x', which is not a property",
        ),
        (
            tool("{properties: {m: {type: string, enum: [a], default: b}}, required: []}"),
            "default must be one of its enum",
        ),
        (tool("{properties: {m: {type: string, enum: []}}, required: []}"), "enum must be a non-empty list"),
        (
            tool("{properties: {m: {type: string, pattern: x}}, required: []}"),
            "properties.m.pattern is not supported",
        ),
        (tool("{properties: {}, required: [], anyOf: []}"), "input_schema.anyOf is not supported"),
        ("tools: x\nmessages:\n- {role: user, content: hi}\n", "tools must be a list"),
        (
            "tools:\n- {name: A, description: d}\nmessages:\n- {role: user, content: hi}\n",
            "tools[0].input_schema is required",
        ),
    ],
)
def test_tool_errors_name_the_field(text: str, names: str) -> None:
    assert names in rejected(text, "SELF_SERVICE_PRE_PROCESSING")


def test_tool_names_are_unique() -> None:
    entry = f"- name: A\n  description: d\n  input_schema: {GOOD_SCHEMA}\n"
    text = "tools:\n" + entry + entry + "messages:\n- {role: user, content: hi}\n"
    assert "tools[1].name 'A' is used by an earlier tool" in rejected(text, "SELF_SERVICE_PRE_PROCESSING")


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("", "must be a YAML document"),
        ("   \n", "must be a YAML document"),
        ("just a string", "the top level must be a mapping"),
        ("- a\n- b\n", "the top level must be a mapping"),
        ("messages: [\n", "not in expected YAML format"),
        ("a: 1\n---\nb: 2\n", "not in expected YAML format"),
        ("!!python/object/apply:os.system [ls]\n", "not in expected YAML format"),
        ("messages:\n- role: user\n\tcontent: hi\n", "not in expected YAML format"),
    ],
)
def test_yaml_errors(text: str, names: str) -> None:
    assert names in rejected(text)


def test_unknown_type_or_format_is_refused() -> None:
    assert "type 'NOPE'" in rejected(QUERY_REFORMULATION_EXAMPLE, prompt_type="NOPE")
    assert "apiFormat 'JSON'" in rejected(QUERY_REFORMULATION_EXAMPLE, api_format="JSON")


# --- variables ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("prompt_type", [t for t in PROMPT_TYPES if t != "ORCHESTRATION"])
def test_each_type_accepts_exactly_its_variables(prompt_type: str) -> None:
    fmt = "TEXT_COMPLETIONS"
    required = "{{$.contentExcerpt}}" if "contentExcerpt" in ALLOWED_VARIABLES[prompt_type] else ""
    for name in ALLOWED_VARIABLES[prompt_type]:
        text = f"prompt: '{required} {{{{$.{name}}}}} {{{{$.Custom.tier}}}}'\n"
        template = parse_prompt(text, prompt_type=prompt_type, api_format=fmt)
        assert name in template.variables
        assert "Custom.tier" in template.variables
    for name in {"transcript", "contentExcerpt", "query", "dateTime", "conversationHistory", "nope"}:
        if name in ALLOWED_VARIABLES[prompt_type]:
            continue
        message = rejected(f"prompt: '{required} {{{{$.{name}}}}}'\n", prompt_type, fmt)
        assert f"prompt: variable {{{{$.{name}}}}} is not available to {prompt_type} prompts" in message


def test_the_error_lists_the_allowed_variables() -> None:
    message = rejected(messages_prompt("{{$.query}}"))
    assert "use {{$.locale}}, {{$.transcript}} or {{$.Custom.<key>}}" in message
    assert "messages[0].content: variable {{$.query}}" in message


def test_a_variable_in_system_is_named_by_field() -> None:
    assert "system: variable {{$.foo}}" in rejected(messages_prompt("hi", system="'{{$.foo}}'"))


@pytest.mark.parametrize("prompt_type", ["ANSWER_GENERATION", "SELF_SERVICE_ANSWER_GENERATION"])
def test_answer_generation_must_use_content_excerpt(prompt_type: str) -> None:
    message = rejected("prompt: 'Answer {{$.query}}'\n", prompt_type, "TEXT_COMPLETIONS")
    assert f"{prompt_type} prompts must use the variable {{{{$.contentExcerpt}}}}" in message
    message = rejected(messages_prompt("Answer {{$.query}}"), prompt_type, "MESSAGES")
    assert "must use the variable {{$.contentExcerpt}}" in message


@pytest.mark.parametrize(
    "placeholder", ["{{$.query }}", "{{$. query}}", "{{$.}}", "{{$.Custom.}}", "{{$.1abc}}", "{{$.query}"]
)
def test_malformed_placeholders_are_refused(placeholder: str) -> None:
    text = f"prompt: '{{{{$.contentExcerpt}}}} {placeholder}'\n"
    assert "is malformed" in rejected(text, "ANSWER_GENERATION", "TEXT_COMPLETIONS")


def test_other_braces_are_plain_text() -> None:
    text = "prompt: '{{$.contentExcerpt}} {{name}} {$.query} {{ x }}'\n"
    template = parse_prompt(text, prompt_type="ANSWER_GENERATION", api_format="TEXT_COMPLETIONS")
    assert template.variables == {"contentExcerpt"}


def test_tools_are_not_scanned_for_variables() -> None:
    text = SELF_SERVICE_EXAMPLE.replace("Escalate to", "Escalate {{$.query}} to")
    template = parse_prompt(text, prompt_type="SELF_SERVICE_PRE_PROCESSING", api_format="MESSAGES")
    assert template.variables == {"transcript"}
    assert "{{$.query}}" in template.render({}).tools[0]["description"]


# --- ORCHESTRATION -----------------------------------------------------------------------------------------

ORCHESTRATION = """\
system: |
  Tools: {{$.toolConfigurationList}} at {{$.dateTime}} for {{$.contactId}}
messages:
- "{{$.conversationHistory}}"
"""


def test_orchestration_takes_the_bare_history_entry() -> None:
    template = parse_prompt(ORCHESTRATION, prompt_type="ORCHESTRATION", api_format="MESSAGES")
    assert template.variables == {"toolConfigurationList", "dateTime", "contactId", "conversationHistory"}
    prefill = ORCHESTRATION + "- role: assistant\n  content: <message>\n"
    assert len(parse_prompt(prefill, prompt_type="ORCHESTRATION", api_format="MESSAGES").messages) == 2


@pytest.mark.parametrize(
    ("text", "names"),
    [
        (
            "messages:\n- {role: user, content: hi}\n",
            "messages[0] of an ORCHESTRATION prompt must be the bare entry",
        ),
        (
            ORCHESTRATION + "- role: user\n  content: hi\n",
            "messages[1].role of an ORCHESTRATION prompt must be assistant",
        ),
        (
            ORCHESTRATION + "- {role: assistant, content: a}\n- {role: user, content: b}\n",
            "only the history entry and one",
        ),
        (
            "system: '{{$.conversationHistory}}'\nmessages:\n- '{{$.conversationHistory}}'\n",
            "system: {{$.conversationHistory}} may appear only as the bare entry",
        ),
    ],
)
def test_orchestration_message_rules(text: str, names: str) -> None:
    assert names in rejected(text, "ORCHESTRATION")


def test_orchestration_needs_messages_format() -> None:
    assert "must use apiFormat MESSAGES" in rejected("prompt: hi\n", "ORCHESTRATION", "TEXT_COMPLETIONS")


def test_the_bare_history_entry_is_only_for_orchestration() -> None:
    text = "messages:\n- '{{$.conversationHistory}}'\n"
    assert "only available to ORCHESTRATION prompts" in rejected(text)


def test_orchestration_history_expands_on_render() -> None:
    prefill = ORCHESTRATION + "- role: assistant\n  content: <message>\n"
    template = parse_prompt(prefill, prompt_type="ORCHESTRATION", api_format="MESSAGES")
    history = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    rendered = template.render({"contactId": "c-1"}, {}, history=history)
    assert rendered.messages == [*history, {"role": "assistant", "content": "<message>"}]
    assert rendered.system == "Tools:  at  for c-1\n"
    fallback = template.render({"conversationHistory": "customer: hi"})
    assert fallback.messages[0] == {"role": "user", "content": "customer: hi"}
    assert template.render({}).messages == [{"role": "assistant", "content": "<message>"}]


# --- bounds -----------------------------------------------------------------------------------------------


def test_text_over_the_model_limit_is_refused() -> None:
    text = "prompt: '" + "a" * MAX_TEXT_CHARS + "'\n"
    assert f"the limit is {MAX_TEXT_CHARS}" in rejected(text, "ANSWER_GENERATION", "TEXT_COMPLETIONS")


def test_a_one_megabyte_prompt_parses_quickly() -> None:
    body = ("word " * 199_990)[: MAX_TEXT_CHARS - 40]
    text = f"prompt: '{{{{$.contentExcerpt}}}} {body}'\n"
    assert len(text) <= MAX_TEXT_CHARS
    started = time.perf_counter()
    template = parse_prompt(text, prompt_type="ANSWER_GENERATION", api_format="TEXT_COMPLETIONS")
    rendered = template.render({"contentExcerpt": "x"})
    assert time.perf_counter() - started < 5
    assert rendered.prompt is not None and rendered.prompt.startswith("x word")


def test_an_alias_bomb_is_refused_fast() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    started = time.perf_counter()
    assert "YAML aliases" in rejected("\n".join(lines) + "\n")
    assert time.perf_counter() - started < 1


def test_a_megabyte_of_tiny_values_is_refused_fast() -> None:
    text = "messages:\n" + "- {role: user, content: '{{$.transcript}} x'}\n" * 21_700
    assert len(text) <= MAX_TEXT_CHARS
    started = time.perf_counter()
    assert f"more than {MAX_NODES} values" in rejected(text)
    assert time.perf_counter() - started < 1


def test_a_thousand_messages_are_fine() -> None:
    text = "messages:\n" + "- {role: user, content: '{{$.transcript}}'}\n" * 1000
    template = parse_prompt(text, prompt_type="QUERY_REFORMULATION", api_format="MESSAGES")
    assert len(template.render({"transcript": "t"}).messages) == 1000


def test_any_alias_is_refused() -> None:
    text = "system: &s hello\nmessages:\n- {role: user, content: *s}\n"
    assert "YAML aliases (*name) are not supported" in rejected(text)


def test_deep_nesting_is_refused_fast() -> None:
    started = time.perf_counter()
    assert "nest" in rejected("messages: " + "[" * 200_000)  # libyaml's own limit may answer first
    assert "nested more than" in rejected("a:\n" + "".join(" " * i + "- \n" for i in range(1, 60)))
    assert time.perf_counter() - started < 2


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(max_size=300),
    prompt_type=st.sampled_from(PROMPT_TYPES),
    api_format=st.sampled_from(["MESSAGES", "TEXT_COMPLETIONS"]),
)
def test_arbitrary_text_only_ever_raises_prompt_template_error(
    text: str, prompt_type: str, api_format: str
) -> None:
    try:
        parse_prompt(text, prompt_type=prompt_type, api_format=api_format)
    except PromptTemplateError as error:
        assert str(error).startswith(FIELD)


_yaml_ish = st.lists(
    st.sampled_from(
        [
            "messages:",
            "prompt:",
            "system:",
            "tools:",
            "- ",
            "  ",
            "role: user",
            "role: assistant",
            "content: ",
            "{{$.transcript}}",
            "{{$.contentExcerpt}}",
            "{{$.conversationHistory}}",
            "'",
            '"',
            "[",
            "]",
            "{",
            "}",
            "&a",
            "*a",
            "!!str",
            ":",
            "\n",
            "name: X",
            "input_schema:",
            "properties:",
            "required: []",
            "type: string",
            "|",
            "- role: user\n  content: hi\n",
        ]
    ),
    max_size=40,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(
    text=_yaml_ish,
    prompt_type=st.sampled_from(PROMPT_TYPES),
    api_format=st.sampled_from(["MESSAGES", "TEXT_COMPLETIONS"]),
)
def test_yaml_like_text_only_ever_raises_prompt_template_error(
    text: str, prompt_type: str, api_format: str
) -> None:
    try:
        template = parse_prompt(text, prompt_type=prompt_type, api_format=api_format)
    except PromptTemplateError:
        return
    template.render({"transcript": "t"}, {"k": "v"})


# --- rendering ----------------------------------------------------------------------------------------------


def test_render_substitutes_values_and_custom_data() -> None:
    text = messages_prompt(
        "{{$.transcript}} / {{$.Custom.tier}} / {{$.locale}}", system="'Locale {{$.locale}}'"
    )
    template = parse_prompt(text, prompt_type="QUERY_REFORMULATION", api_format="MESSAGES")
    rendered = template.render({"transcript": "hi", "locale": "en_US"}, {"tier": "gold"})
    assert rendered.system == "Locale en_US"
    assert rendered.messages == [{"role": "user", "content": "hi / gold / en_US"}]
    assert rendered.tools == []
    assert rendered.prompt is None


def test_missing_values_render_empty() -> None:
    template = parse_prompt(
        messages_prompt("[{{$.transcript}}|{{$.Custom.x}}]"),
        prompt_type="QUERY_REFORMULATION",
        api_format="MESSAGES",
    )
    assert template.render({}, {}).messages[0]["content"] == "[|]"


def test_substituted_values_are_never_rescanned() -> None:
    template = parse_prompt(
        ANSWER_GENERATION_EXAMPLE, prompt_type="ANSWER_GENERATION", api_format="TEXT_COMPLETIONS"
    )
    rendered = template.render(
        {"contentExcerpt": "see {{$.query}} and {{$.Custom.k}}", "query": "Q"}, {"k": "K"}
    )
    assert rendered.prompt is not None
    assert "see {{$.query}} and {{$.Custom.k}}" in rendered.prompt
    assert "<query>Q</query>" in rendered.prompt


def test_text_completions_render_as_one_user_message() -> None:
    template = parse_prompt(
        "prompt: 'Use {{$.contentExcerpt}}'\n", prompt_type="ANSWER_GENERATION", api_format="TEXT_COMPLETIONS"
    )
    rendered = template.render({"contentExcerpt": "facts"})
    assert rendered.prompt == "Use facts"
    assert rendered.to_messages() == [{"role": "user", "content": "Use facts"}]


def test_render_leaves_the_template_unchanged() -> None:
    template = parse_prompt(
        SELF_SERVICE_EXAMPLE, prompt_type="SELF_SERVICE_PRE_PROCESSING", api_format="MESSAGES"
    )
    rendered = template.render({"transcript": "t"})
    rendered.tools[0]["name"] = "CHANGED"
    assert template.tools[0]["name"] == "ESCALATION"
    assert isinstance(template, PromptTemplate)


# --- system prompts ------------------------------------------------------------------------------------


def test_there_is_one_system_prompt_per_type_with_a_stable_name() -> None:
    prompts = all_system_prompts()
    assert [p.type for p in prompts] == list(PROMPT_TYPES)
    assert system_prompt("ANSWER_GENERATION").name == "QConnectLocal-AnswerGeneration"
    assert system_prompt("SELF_SERVICE_PRE_PROCESSING").name == "QConnectLocal-SelfServicePreProcessing"
    assert len({p.name for p in prompts}) == len(prompts)
    assert all(p.description and len(p.name) <= 255 for p in prompts)


@pytest.mark.parametrize("prompt_type", PROMPT_TYPES)
def test_every_system_prompt_parses_and_renders(prompt_type: str) -> None:
    prompt = system_prompt(prompt_type)
    template = parse_prompt(prompt.text, prompt_type=prompt.type, api_format=prompt.api_format)
    values = {name: f"<{name}>" for name in ALLOWED_VARIABLES[prompt_type]}
    rendered = template.render(values, {}, history=[{"role": "user", "content": "hello"}])
    text = " ".join(
        [rendered.system or "", rendered.prompt or "", *(m["content"] for m in rendered.to_messages())]
    )
    assert "{{$." not in text
    for name in template.variables - {"conversationHistory"}:
        assert f"<{name}>" in text
    assert rendered.to_messages()


def test_the_self_service_system_prompt_offers_the_documented_tools() -> None:
    prompt = system_prompt("SELF_SERVICE_PRE_PROCESSING")
    template = parse_prompt(prompt.text, prompt_type=prompt.type, api_format=prompt.api_format)
    assert {t["name"] for t in template.tools} == {
        "QUESTION",
        "ESCALATION",
        "CONVERSATION",
        "COMPLETE",
        "FOLLOW_UP_QUESTION",
    }
