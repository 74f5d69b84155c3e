"""Tool calls and reasoning on /v1/chat/completions, through the official `openai` client.

The test model is a tiny base model, so calls are forced with `tool_choice` (the grammar built
from the tools' schemas makes every reply a valid call) and thoughts with a grammar.
"""
import json

import jsonschema
import openai
import pytest

from conftest import assert_openai_error, sse_events

WEATHER = {"type": "object",
           "properties": {"city": {"type": "string", "maxLength": 12},
                          "days": {"type": "integer", "minimum": 1, "maximum": 7}},
           "required": ["city", "days"]}
ADD = {"type": "object", "properties": {"a": {"type": "integer", "minimum": 0, "maximum": 99},
                                        "b": {"type": "integer", "minimum": 0, "maximum": 99}},
       "required": ["a", "b"]}
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Weather forecast", "parameters": WEATHER}},
         {"type": "function", "function": {"name": "add", "description": "Adds two numbers", "parameters": ADD}}]
SCHEMAS = {"get_weather": WEATHER, "add": ADD}
ASK = [{"role": "user", "content": "What is the weather in Paris for the next 3 days?"}]

THINKING_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n"
    "{% if enable_thinking is defined and not enable_thinking %}<think>\n\n</think>\n\n{% else %}<think>\n{% endif %}{% endif %}")


@pytest.fixture(scope="module")
def tool_server(start_server):
    return start_server("-np", "2", "-c", "4096", "-t", "2")


@pytest.fixture(scope="module")
def client(tool_server):
    return openai.OpenAI(base_url=tool_server.url("/v1"), api_key="sk-no-key-required")


def check_call(name, arguments):
    assert name in SCHEMAS
    jsonschema.validate(json.loads(arguments), SCHEMAS[name])


def test_required_call_is_valid(client):
    c = client.chat.completions.create(model="m", messages=ASK, tools=TOOLS, tool_choice="required",
                                       max_tokens=120, temperature=0)
    choice = c.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    calls = choice.message.tool_calls
    assert len(calls) == 1
    assert calls[0].type == "function" and calls[0].id
    check_call(calls[0].function.name, calls[0].function.arguments)


def test_required_call_streamed_matches(client):
    kw = dict(model="m", messages=ASK, tools=TOOLS, tool_choice="required", max_tokens=120, temperature=0)
    full = client.chat.completions.create(**kw).choices[0].message.tool_calls[0]
    chunks = list(client.chat.completions.create(stream=True, **kw))
    name, arguments, ids, pieces = None, "", set(), 0
    finish = None
    for chunk in chunks:
        if not chunk.choices:
            continue
        delta = chunk.choices[0].delta
        assert not delta.content, "a call must not leak as content"
        for tc in delta.tool_calls or []:
            assert tc.index == 0
            if tc.id:
                ids.add(tc.id)
                name = tc.function.name
            arguments += tc.function.arguments or ""
            pieces += 1
        finish = chunk.choices[0].finish_reason or finish
    assert finish == "tool_calls"
    assert len(ids) == 1 and pieces > 1, "arguments arrive in pieces after the name"
    assert (name, arguments) == (full.function.name, full.function.arguments)
    check_call(name, arguments)


def test_named_function_is_called(client):
    c = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "Add 2 and 3"}], tools=TOOLS,
                                       tool_choice={"type": "function", "function": {"name": "add"}},
                                       max_tokens=80, temperature=0)
    call = c.choices[0].message.tool_calls[0]
    assert call.function.name == "add"
    check_call("add", call.function.arguments)


def test_parallel_calls(client):
    c = client.chat.completions.create(model="m", messages=ASK, tools=TOOLS, tool_choice="required",
                                       parallel_tool_calls=True, max_tokens=200, temperature=0)
    # The tiny model keeps calling until the token limit; the calls it completed are returned.
    calls = c.choices[0].message.tool_calls
    assert len(calls) >= 2
    for call in calls:
        check_call(call.function.name, call.function.arguments)
    assert len({call.id for call in calls}) == len(calls)


def test_tool_result_renders_and_continues(client, tool_server):
    first = client.chat.completions.create(model="m", messages=ASK, tools=TOOLS, tool_choice="required",
                                           max_tokens=120, temperature=0).choices[0].message
    call = first.tool_calls[0]
    messages = ASK + [
        {"role": "assistant", "content": None,
         "tool_calls": [{"id": call.id, "type": "function",
                         "function": {"name": call.function.name, "arguments": call.function.arguments}}]},
        {"role": "tool", "tool_call_id": call.id, "content": "Sunny, 21 C"},
    ]
    c = client.chat.completions.create(model="m", messages=messages, tools=TOOLS, tool_choice="none",
                                       max_tokens=8, temperature=0)
    assert isinstance(c.choices[0].message.content, str)
    assert c.choices[0].finish_reason in ("stop", "length")
    assert not c.choices[0].message.tool_calls
    prompt = tool_server.post("/apply-template", {"messages": messages, "tools": TOOLS}).json()["prompt"]
    assert "Sunny, 21 C" in prompt and call.function.name in prompt


def test_auto_with_generic_format_answers_or_calls(client):
    c = client.chat.completions.create(model="m", messages=ASK, tools=TOOLS, max_tokens=60, temperature=0)
    choice = c.choices[0]
    if choice.message.tool_calls:
        assert choice.finish_reason == "tool_calls"
        for call in choice.message.tool_calls:
            check_call(call.function.name, call.function.arguments)
    else:
        assert isinstance(choice.message.content, str)


def test_tool_choice_errors(tool_server):
    r = tool_server.post("/v1/chat/completions", {"messages": ASK, "tool_choice": "required"})
    assert_openai_error(r, 400, contains="tools")
    r = tool_server.post("/v1/chat/completions", {"messages": ASK, "tools": TOOLS,
                                                        "tool_choice": {"type": "function", "function": {"name": "nope"}}})
    assert_openai_error(r, 400, contains="nope")
    r = tool_server.post("/v1/chat/completions", {"messages": ASK, "tools": TOOLS, "tool_choice": "sometimes"})
    assert_openai_error(r, 400, contains="tool_choice")
    r = tool_server.post("/v1/chat/completions", {"messages": ASK, "tools": TOOLS, "tool_choice": "required",
                                                        "grammar": "root ::= \"x\""})
    assert_openai_error(r, 400, contains="grammar")


# Reasoning

@pytest.fixture(scope="module")
def thinking_server(start_server, tmp_path_factory):
    path = tmp_path_factory.mktemp("tpl") / "thinking.jinja"
    path.write_text(THINKING_TEMPLATE)
    return start_server("-np", "1", "-c", "1024", "-t", "2", "--jinja", "--chat-template-file", str(path))


FORCED = {"messages": [{"role": "user", "content": "What is 2+2?"}], "max_tokens": 40, "temperature": 0,
          "grammar": 'root ::= "Two and two." "\\n</think>\\n\\n" "It is 4."'}


def test_reasoning_is_split(thinking_server):
    c = openai.OpenAI(base_url=thinking_server.url("/v1"), api_key="x").chat.completions.create(
        model="m", messages=FORCED["messages"], max_tokens=40, temperature=0, extra_body={"grammar": FORCED["grammar"]})
    message = c.choices[0].message
    assert message.content == "It is 4."
    assert message.model_extra["reasoning_content"] == "Two and two."


def test_reasoning_streamed(thinking_server):
    r = thinking_server.post("/v1/chat/completions", dict(FORCED, stream=True), stream=True)
    events = [e for e in sse_events(r) if e != "[DONE]"]
    deltas = [e["choices"][0]["delta"] for e in events if e["choices"]]
    assert "".join(d.get("reasoning_content") or "" for d in deltas) == "Two and two."
    assert "".join(d.get("content") or "" for d in deltas) == "It is 4."
    assert not any("think>" in (d.get("content") or "") for d in deltas)


def test_reasoning_format_none_keeps_thoughts_in_content(thinking_server):
    r = thinking_server.post("/v1/chat/completions", dict(FORCED, reasoning_format="none"))
    message = r.json()["choices"][0]["message"]
    assert "reasoning_content" not in message
    assert message["content"] == "Two and two.\n</think>\n\nIt is 4."


def test_chat_template_kwargs_reach_the_template(thinking_server):
    on = thinking_server.post("/apply-template", {"messages": FORCED["messages"]}).json()["prompt"]
    off = thinking_server.post("/apply-template", {"messages": FORCED["messages"],
                                                         "chat_template_kwargs": {"enable_thinking": False}}).json()["prompt"]
    assert on.endswith("<think>\n") and off.endswith("<think>\n\n</think>\n\n")
