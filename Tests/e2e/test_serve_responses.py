"""OpenAI's Responses API (POST /v1/responses, /responses, /v1/responses/input_tokens), as today's
llama-server serves it: requests run through the chat pipeline and come back as `response`
objects or Responses stream events; the official `openai` client reads both.

The test model has no template of its own: the server uses Gemma's; replies compared with each
other are greedy (temperature 0); tool calls are forced with `tool_choice` (the grammar makes
every reply a valid call).
"""
import json

import jsonschema
import pytest
from openai import OpenAI

from conftest import assert_openai_error

WEATHER = {"type": "object",
           "properties": {"city": {"type": "string", "maxLength": 12},
                          "days": {"type": "integer", "minimum": 1, "maximum": 7}},
           "required": ["city", "days"]}
TOOL = {"type": "function", "name": "get_weather", "description": "Weather forecast", "parameters": WEATHER}
BOOK = [{"role": "system", "content": "Book"}, {"role": "user", "content": "What is the best book"}]


@pytest.fixture(scope="module")
def responses_server(start_server):
    return start_server("-np", "2", "-c", "4096", "-t", "2", "--chat-template", "gemma")


@pytest.fixture(scope="module")
def client(responses_server):
    return OpenAI(api_key="none", base_url=responses_server.url("/v1"))


def test_a_response_with_the_openai_client(client):
    r = client.responses.create(model="any", input=BOOK, max_output_tokens=8, temperature=0)
    assert r.id.startswith("resp_") and r.object == "response" and r.status == "completed"
    assert len(r.output) == 1 and r.output[0].type == "message" and r.output[0].id.startswith("msg_")
    assert r.output_text and r.output[0].content[0].type == "output_text"
    assert r.usage.output_tokens == 8 and r.usage.total_tokens == r.usage.input_tokens + 8
    # Cut by its limit: llama-server's `completed`, with OpenAI's reason.
    assert r.incomplete_details.reason == "max_output_tokens"


def test_the_stream_spells_the_same_reply(client):
    whole = client.responses.create(model="any", input=BOOK, max_output_tokens=12, temperature=0).output_text
    events = list(client.responses.create(model="any", input=BOOK, max_output_tokens=12, temperature=0, stream=True))
    types = [e.type for e in events]
    assert types[:2] == ["response.created", "response.in_progress"] and types[-1] == "response.completed"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    added = next(e for e in events if e.type == "response.output_item.added")
    deltas = [e for e in events if e.type == "response.output_text.delta"]
    assert deltas and all(e.item_id == added.item.id for e in deltas)
    assert "".join(e.delta for e in deltas) == whole
    done = next(e for e in events if e.type == "response.output_text.done")
    assert done.text == whole
    assert events[-1].response.output_text == whole and events[-1].response.output[0].id == added.item.id
    with client.responses.stream(model="any", input=BOOK, max_output_tokens=12, temperature=0) as stream:
        for _ in stream:
            pass
        assert stream.get_final_response().output_text == whole


def test_instructions_and_items_make_the_conversation(responses_server):
    body = {"instructions": "Answer in French.",
            "input": [{"role": "developer", "content": "Be brief."},
                      {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]},
                      {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Bonjour"}]},
                      {"role": "user", "content": "Bye"}],
            "max_output_tokens": 4}
    r = responses_server.post("/v1/responses", body)
    assert r.status_code == 200, r.text
    counted = responses_server.post("/v1/responses/input_tokens", body).json()
    assert counted["object"] == "response.input_tokens"
    assert counted["input_tokens"] == r.json()["usage"]["input_tokens"]
    # The same conversation as a chat counts the same tokens.
    chat = responses_server.post("/v1/chat/completions/input_tokens", {"messages": [
        {"role": "system", "content": "Answer in French."}, {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Bonjour"},
        {"role": "user", "content": "Bye"}]}).json()
    assert chat["input_tokens"] == counted["input_tokens"]


def test_forced_function_call(client):
    r = client.responses.create(model="any", input="Weather in Paris for 3 days?", tools=[TOOL],
                                tool_choice="required", max_output_tokens=120, temperature=0)
    calls = [item for item in r.output if item.type == "function_call"]
    assert len(calls) == 1 and calls[0].name == "get_weather"
    assert calls[0].id.startswith("fc_") and calls[0].call_id
    jsonschema.validate(json.loads(calls[0].arguments), WEATHER)
    # Streamed: the argument pieces spell the same arguments.
    events = list(client.responses.create(model="any", input="Weather in Paris for 3 days?", tools=[TOOL],
                                          tool_choice="required", max_output_tokens=120, temperature=0, stream=True))
    added = next(e for e in events if e.type == "response.output_item.added" and e.item.type == "function_call")
    pieces = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")
    assert pieces == calls[0].arguments
    assert events[-1].response.output[-1].arguments == calls[0].arguments
    assert added.item.name == "get_weather"
    # The call and its output sent back continue the conversation.
    again = client.responses.create(model="any", input=[
        {"role": "user", "content": "Weather in Paris for 3 days?"},
        {"type": "function_call", "call_id": calls[0].call_id, "name": "get_weather", "arguments": calls[0].arguments},
        {"type": "function_call_output", "call_id": calls[0].call_id, "output": "Sunny, 20 C"}],
        tools=[TOOL], max_output_tokens=8)
    assert again.status == "completed"


def test_progress_and_timings_when_asked(responses_server):
    r = responses_server.post("/responses", {"input": "This is a test " * 10, "max_output_tokens": 8,
                                             "stream": True, "timings_per_token": True, "return_progress": True},
                              stream=True)
    events = [json.loads(line[6:]) for line in r.iter_lines(decode_unicode=True) if line.startswith("data: ")]
    progress = [e for e in events if "prompt_progress" in e]
    assert progress and all(e["type"] == "response.in_progress" for e in progress)
    assert progress[-1]["prompt_progress"]["processed"] == progress[-1]["prompt_progress"]["total"] > 0
    assert any("timings" in e for e in events if e["type"] == "response.output_text.delta")
    completed = events[-1]
    assert completed["type"] == "response.completed" and "usage" in completed["response"] and "timings" in completed


@pytest.mark.parametrize("body, says", [
    ({}, "input"),
    ({"input": 5}, "input"),
    ({"input": "Hi", "previous_response_id": "resp_1"}, "previous_response_id"),
    ({"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "data:,"}]}]}, "image"),
    ({"input": [{"type": "mystery"}]}, "input[0]"),
    ({"input": [{"type": "function_call", "name": "f"}]}, "call_id"),
    ({"input": "Hi", "max_output_tokens": -5}, "max_tokens"),
    ({"input": "Hi", "temperature": "hot"}, "temperature"),
])
def test_bad_requests_are_400(responses_server, body, says):
    assert_openai_error(responses_server.post("/v1/responses", body), 400, contains=says)
    assert responses_server.post("/v1/responses", {"input": "Hi", "max_output_tokens": 1}).status_code == 200
