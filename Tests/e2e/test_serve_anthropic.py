"""Anthropic's Messages API (POST /v1/messages, /v1/messages/count_tokens), as today's
llama-server serves it: Anthropic requests run through the chat pipeline and come back as
Anthropic messages or event streams; errors keep llama-server's (OpenAI) error shape.

The test model is a tiny base model with no template of its own: the server uses Gemma's
template, replies are greedy (temperature 0) where two replies are compared, and tool calls are
forced with `tool_choice` (the grammar built from the schema makes every reply a valid call).
"""
import json
import random

import jsonschema
import pytest
import requests

from conftest import assert_openai_error

WEATHER = {"type": "object",
           "properties": {"city": {"type": "string", "maxLength": 12},
                          "days": {"type": "integer", "minimum": 1, "maximum": 7}},
           "required": ["city", "days"]}
TOOLS = [{"name": "get_weather", "description": "Weather forecast", "input_schema": WEATHER},
         {"name": "add", "description": "Adds two numbers",
          "input_schema": {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                           "required": ["a", "b"]}}]
ASK = [{"role": "user", "content": "What is the weather in Paris for the next 3 days?"}]
HELLO = [{"role": "user", "content": "Write a short story about a cat."}]


@pytest.fixture(scope="module")
def anthropic_server(start_server):
    return start_server("-np", "2", "-c", "4096", "-t", "2", "--chat-template", "gemma")


def post(server, body, path="/v1/messages", **kw):
    return server.post(path, body, **kw)


def message(server, **body):
    body.setdefault("model", "test")
    body.setdefault("max_tokens", 24)
    r = post(server, body)
    assert r.status_code == 200, r.text
    return r.json()


def count(server, **body):
    r = post(server, body, "/v1/messages/count_tokens")
    assert r.status_code == 200, r.text
    assert list(r.json()) == ["input_tokens"]
    return r.json()["input_tokens"]


def stream(server, **body):
    """The (event name, data) pairs of a streamed request; each name must be its data's type."""
    body.setdefault("model", "test")
    body.setdefault("max_tokens", 24)
    r = post(server, {**body, "stream": True}, stream=True)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/event-stream")
    r.encoding = "utf-8"
    events, name = [], None
    for line in r.iter_lines(decode_unicode=True):
        if not line:
            continue
        if line.startswith("event: "):
            assert name is None, "an event name without data"
            name = line[len("event: "):]
            continue
        assert line.startswith("data: "), line
        data = json.loads(line[len("data: "):])
        assert name == data["type"], (name, data)
        events.append((name, data))
        name = None
    assert name is None
    return events


def text_of(reply):
    return "".join(b["text"] for b in reply["content"] if b["type"] == "text")


def streamed_text(events):
    return "".join(d["delta"]["text"] for n, d in events if n == "content_block_delta" and d["delta"]["type"] == "text_delta")


def test_basic_message_shape(anthropic_server):
    reply = message(anthropic_server, messages=HELLO)
    assert reply["id"].startswith("msg_")
    assert reply["type"] == "message" and reply["role"] == "assistant"
    assert isinstance(reply["model"], str) and reply["model"]
    assert [b["type"] for b in reply["content"]] == ["text"]
    assert reply["content"][0]["text"]
    assert reply["stop_reason"] in ("end_turn", "max_tokens")
    assert reply["stop_sequence"] is None
    usage = reply["usage"]
    assert set(usage) == {"input_tokens", "output_tokens", "cache_read_input_tokens"}
    assert all(isinstance(v, int) for v in usage.values())
    assert usage["input_tokens"] + usage["cache_read_input_tokens"] > 0 and usage["output_tokens"] > 0
    assert "timings" not in reply and "choices" not in reply


def test_max_tokens_is_the_limit(anthropic_server):
    reply = message(anthropic_server, messages=HELLO, max_tokens=3, temperature=0)
    assert reply["stop_reason"] == "max_tokens"
    assert reply["usage"]["output_tokens"] == 3


def test_sampling_fields_are_read(anthropic_server):
    r = post(anthropic_server, {"messages": HELLO, "max_tokens": 8, "temperature": 0.5, "top_p": 0.9, "top_k": 40,
                                "metadata": {"user_id": "u-1"}})
    assert r.status_code == 200, r.text
    assert r.json()["type"] == "message"
    # Read, not ignored: the same values out of range are refused.
    assert_openai_error(post(anthropic_server, {"messages": HELLO, "max_tokens": 8, "top_p": -1}), 400, contains="top_p")


def test_system_string_and_text_blocks(anthropic_server):
    plain = count(anthropic_server, messages=HELLO)
    as_string = count(anthropic_server, system="You are terse. Answer briefly.", messages=HELLO)
    # Text blocks are joined with nothing between them, as llama-server joins them.
    as_blocks = count(anthropic_server, messages=HELLO, system=[{"type": "text", "text": "You are terse."},
                                                                {"type": "text", "text": " Answer briefly."}])
    assert as_string == as_blocks > plain
    reply = message(anthropic_server, system=[{"type": "text", "text": "You are terse."}], messages=HELLO)
    assert reply["content"][0]["type"] == "text"


def test_prompt_is_the_chat_routes_prompt(anthropic_server):
    """Text blocks, turns and the system prompt render as the same OpenAI chat would."""
    anthropic = [{"role": "user", "content": [{"type": "text", "text": "What is"}, {"type": "text", "text": " the answer?"}]},
                 {"role": "assistant", "content": "Forty-two."},
                 {"role": "user", "content": "Why?"}]
    openai = [{"role": "system", "content": "Be kind."},
              {"role": "user", "content": [{"type": "text", "text": "What is"}, {"type": "text", "text": " the answer?"}]},
              {"role": "assistant", "content": "Forty-two."},
              {"role": "user", "content": "Why?"}]
    r = anthropic_server.post("/v1/chat/completions/input_tokens", {"messages": openai})
    assert r.status_code == 200, r.text
    assert count(anthropic_server, system="Be kind.", messages=anthropic) == r.json()["input_tokens"]
    assert count(anthropic_server, system="Be kind.", messages=anthropic[:1]) < r.json()["input_tokens"]
    assert message(anthropic_server, system="Be kind.", messages=anthropic)["type"] == "message"


def test_count_tokens_is_the_usage(anthropic_server):
    body = dict(system="You answer questions.", messages=HELLO + [{"role": "assistant", "content": "Once"},
                                                                  {"role": "user", "content": "Go on."}])
    n = count(anthropic_server, **body)
    # count_tokens needs no max_tokens; the reply's usage splits the same prompt into cached and not.
    for _ in range(2):
        usage = message(anthropic_server, **body, max_tokens=4)["usage"]
        assert usage["input_tokens"] + usage["cache_read_input_tokens"] == n


def test_stream_event_sequence_matches_the_message(anthropic_server):
    body = dict(messages=HELLO, max_tokens=24, temperature=0)
    full = message(anthropic_server, **body)
    events = stream(anthropic_server, **body)
    names = [n for n, _ in events]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    assert names[1] == "content_block_start" and names[-3] == "content_block_stop"
    assert set(names[2:-3]) == {"content_block_delta"}
    start = events[0][1]["message"]
    assert start["id"].startswith("msg_") and start["content"] == [] and start["stop_reason"] is None
    assert start["role"] == "assistant" and start["type"] == "message"
    assert start["usage"]["output_tokens"] == 0
    prompt = count(anthropic_server, messages=HELLO)
    assert start["usage"]["input_tokens"] + start["usage"]["cache_read_input_tokens"] == prompt
    assert events[1][1] == {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
    assert all(d["index"] == 0 and d["delta"]["type"] == "text_delta" for n, d in events[2:-3])
    assert events[-3][1] == {"type": "content_block_stop", "index": 0}
    delta = events[-2][1]
    assert delta["delta"] == {"stop_reason": full["stop_reason"], "stop_sequence": None}
    assert delta["usage"] == {"output_tokens": full["usage"]["output_tokens"]}
    assert events[-1][1] == {"type": "message_stop"}
    assert streamed_text(events) == text_of(full)
    assert not any("timings" in d for _, d in events)


def test_stop_sequence_is_reported(anthropic_server):
    body = dict(messages=HELLO, max_tokens=24, temperature=0)
    text = text_of(message(anthropic_server, **body))
    words = text.split()
    assert len(words) >= 3, text
    stop = words[2]
    reply = message(anthropic_server, **body, stop_sequences=["@@never@@", stop])
    assert reply["stop_reason"] == "stop_sequence" and reply["stop_sequence"] == stop
    assert text_of(reply) == text[:text.index(stop)]
    events = stream(anthropic_server, **body, stop_sequences=[stop])
    assert events[-2][1]["delta"] == {"stop_reason": "stop_sequence", "stop_sequence": stop}
    assert streamed_text(events) == text_of(reply)


@pytest.mark.parametrize("choice", [{"type": "tool", "name": "get_weather"}, {"type": "any"}])
def test_forced_tool_call(anthropic_server, choice):
    reply = message(anthropic_server, messages=ASK, tools=TOOLS, tool_choice=choice, max_tokens=120, temperature=0)
    assert reply["stop_reason"] == "tool_use"
    uses = [b for b in reply["content"] if b["type"] == "tool_use"]
    assert len(uses) == 1
    use = uses[0]
    assert set(use) == {"type", "id", "name", "input"} and use["id"]
    assert use["name"] in {"get_weather", "add"}
    if choice["type"] == "tool":
        assert use["name"] == "get_weather"
    schema = next(t["input_schema"] for t in TOOLS if t["name"] == use["name"])
    jsonschema.validate(use["input"], schema)


def test_forced_tool_call_streamed(anthropic_server):
    body = dict(messages=ASK, tools=TOOLS, tool_choice={"type": "tool", "name": "get_weather"}, max_tokens=120,
                temperature=0)
    full = next(b for b in message(anthropic_server, **body)["content"] if b["type"] == "tool_use")
    events = stream(anthropic_server, **body)
    starts = [d for n, d in events if n == "content_block_start"]
    assert [s["content_block"]["type"] for s in starts] == ["tool_use"]
    block = starts[0]["content_block"]
    assert block["name"] == "get_weather" and block["id"] and block["input"] == {}
    pieces = [d["delta"]["partial_json"] for n, d in events
              if n == "content_block_delta" and d["delta"]["type"] == "input_json_delta"]
    assert all(d["index"] == starts[0]["index"] for n, d in events if n == "content_block_delta")
    assert len(pieces) > 1, "the input arrives in pieces"
    assert json.loads("".join(pieces)) == full["input"]
    assert [d["index"] for n, d in events if n == "content_block_stop"] == [starts[0]["index"]]
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"


def tool_round_trip(result_content, text_after=None):
    user = [{"type": "tool_result", "tool_use_id": "toolu_1", "content": result_content}]
    if text_after:
        user.append({"type": "text", "text": text_after})
    return ASK + [{"role": "assistant", "content": [{"type": "text", "text": "Let me look."},
                                                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather",
                                                     "input": {"city": "Paris", "days": 3}}]},
                  {"role": "user", "content": user}]


def test_tool_result_round_trip(anthropic_server):
    short = tool_round_trip("Sunny.")
    reply = message(anthropic_server, messages=short, tools=TOOLS)
    assert reply["type"] == "message" and reply["content"][0]["type"] == "text"
    # The result's text reaches the prompt, whether a string or text blocks, with text after it too.
    long_text = "Sunny, 25 degrees, light wind from the west, no rain expected at all."
    n_short = count(anthropic_server, messages=short, tools=TOOLS)
    n_long = count(anthropic_server, messages=tool_round_trip(long_text), tools=TOOLS)
    n_blocks = count(anthropic_server, messages=tool_round_trip([{"type": "text", "text": long_text}]), tools=TOOLS)
    assert n_long == n_blocks > n_short
    with_text = tool_round_trip(long_text, "Thanks, and tomorrow?")
    assert count(anthropic_server, messages=with_text, tools=TOOLS) > n_long
    errored = tool_round_trip("City not found")
    errored[-1]["content"][0]["is_error"] = True
    assert message(anthropic_server, messages=errored, tools=TOOLS)["type"] == "message"


def test_thinking_and_empty_messages_are_accepted(anthropic_server):
    # As llama-server: thinking sets the thinking budget; an empty conversation still renders.
    reply = message(anthropic_server, messages=HELLO, thinking={"type": "enabled", "budget_tokens": 50})
    assert reply["type"] == "message"
    history = [{"role": "user", "content": "2+2?"},
               {"role": "assistant", "content": [{"type": "thinking", "thinking": "Easy.", "signature": ""},
                                                 {"type": "redacted_thinking", "data": "opaque"},
                                                 {"type": "text", "text": "4"}]},
               {"role": "user", "content": "And 3+3?"}]
    assert message(anthropic_server, messages=history)["type"] == "message"
    assert message(anthropic_server, messages=[])["type"] == "message"


# Opens a thinking block in the generation prompt and renders earlier thoughts (reasoning_content).
THINKING_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m.role }}\n"
    "{% if m.reasoning_content %}<think>{{ m.reasoning_content }}</think>{% endif %}{{ m.content }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n<think>\n{% endif %}")


@pytest.fixture(scope="module")
def thinking_server(start_server, tmp_path_factory):
    template = tmp_path_factory.mktemp("anthropic") / "thinking.jinja"
    template.write_text(THINKING_TEMPLATE)
    return start_server("-np", "1", "-c", "2048", "-t", "2", "--chat-template-file", template)


def test_thinking_budget_gives_a_thinking_block_then_text(thinking_server):
    # The budget forces the end of thinking after a few tokens, so the reply has both blocks.
    body = dict(messages=HELLO, max_tokens=20, temperature=0, thinking={"type": "enabled", "budget_tokens": 4})
    reply = message(thinking_server, **body)
    assert [b["type"] for b in reply["content"]] == ["thinking", "text"]
    thinking = reply["content"][0]
    assert thinking["thinking"] and thinking["signature"] == ""
    assert "</think>" not in text_of(reply)
    events = stream(thinking_server, **body)
    starts = [(d["index"], d["content_block"]["type"]) for n, d in events if n == "content_block_start"]
    assert starts == [(0, "thinking"), (1, "text")]
    deltas = [(d["index"], d["delta"]["type"]) for n, d in events if n == "content_block_delta"]
    signature = deltas.index((0, "signature_delta"))
    assert set(deltas[:signature]) == {(0, "thinking_delta")} and set(deltas[signature + 1:]) == {(1, "text_delta")}
    # Each block stops before the next starts.
    names = [(n, d.get("index")) for n, d in events]
    assert names.index(("content_block_stop", 0)) < names.index(("content_block_start", 1))
    assert "".join(d["delta"]["thinking"] for n, d in events
                   if n == "content_block_delta" and d["delta"]["type"] == "thinking_delta") == thinking["thinking"]
    assert streamed_text(events) == text_of(reply)
    # Without the budget the tiny model never closes its thoughts: all of the reply is thinking.
    unbounded = message(thinking_server, messages=HELLO, max_tokens=6, temperature=0)
    assert [b["type"] for b in unbounded["content"]] == ["thinking"]


def test_thinking_blocks_in_history_reach_the_template(thinking_server):
    def turns(thinking):
        assistant = ([{"type": "thinking", "thinking": thinking, "signature": "sig"}] if thinking else []) + [
            {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris", "days": 1}}]
        return ASK + [{"role": "assistant", "content": assistant},
                      {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_1", "content": "Rain."}]}]
    without = count(thinking_server, messages=turns(None), tools=TOOLS)
    with_thoughts = count(thinking_server, messages=turns("I should check the forecast for Paris first."), tools=TOOLS)
    assert with_thoughts > without


HOSTILE = [
    ({"max_tokens": 10}, "messages"),
    ({"messages": "hello"}, "messages"),
    ({"messages": ["hello"]}, "messages"),
    ({"messages": [{"content": "hi"}]}, "role"),
    ({"messages": [{"role": "system", "content": "hi"}]}, "role"),
    ({"messages": [{"role": "robot", "content": "hi"}]}, "role"),
    ({"messages": [{"role": "user", "content": 7}]}, "content"),
    ({"messages": [{"role": "user"}]}, "content"),
    ({"messages": [{"role": "user", "content": [{"type": "video", "url": "x"}]}]}, "video"),
    ({"messages": [{"role": "user", "content": [{"text": "no type"}]}]}, "type"),
    ({"messages": [{"role": "user", "content": [{"type": "text"}]}]}, "text"),
    ({"messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                                              "data": "iVBORw0KGgo="}}]}]},
     "image input is not supported"),
    ({"messages": [{"role": "user", "content": [{"type": "tool_use", "id": "a", "name": "b", "input": {}}]}]}, "tool_use"),
    ({"messages": [{"role": "assistant", "content": [{"type": "tool_use", "id": "a", "name": "b", "input": "{}"}]}]},
     "input"),
    ({"messages": [{"role": "user", "content": [{"type": "tool_result", "content": "x"}]}]}, "tool_use_id"),
    ({"messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "a",
                                                 "content": [{"type": "image", "source": {}}]}]}]},
     "image input is not supported"),
    ({"messages": HELLO, "max_tokens": 10 ** 12}, "max_tokens"),
    ({"messages": HELLO, "max_tokens": -1}, "max_tokens"),
    ({"messages": HELLO, "max_tokens": "50"}, "max_tokens"),
    ({"messages": HELLO, "max_tokens": 1.5}, "max_tokens"),
    ({"messages": HELLO, "temperature": "hot"}, "temperature"),
    ({"messages": HELLO, "top_k": 10 ** 15}, "top_k"),
    ({"messages": HELLO, "system": 42}, "system"),
    ({"messages": HELLO, "system": [{"type": "image"}]}, "system"),
    ({"messages": HELLO, "stop_sequences": [1, 2]}, "stop_sequences"),
    ({"messages": HELLO, "stream": "yes"}, "stream"),
    ({"messages": HELLO, "metadata": "me"}, "metadata"),
    ({"messages": HELLO, "thinking": {"type": "enabled", "budget_tokens": "lots"}}, "budget_tokens"),
    ({"messages": HELLO, "thinking": {"type": "maybe"}}, "thinking"),
    ({"messages": HELLO, "thinking": True}, "thinking"),
    ({"messages": HELLO, "tools": [{"description": "no name"}]}, "name"),
    ({"messages": HELLO, "tools": [{"name": "t", "input_schema": "object"}]}, "input_schema"),
    ({"messages": HELLO, "tools": [{"type": "web_search_20250305", "name": "web_search"}]}, "custom tools"),
    ({"messages": HELLO, "tools": TOOLS, "tool_choice": {"type": "sometimes"}}, "tool_choice"),
    ({"messages": HELLO, "tools": TOOLS, "tool_choice": {"type": "tool"}}, "name"),
    ({"messages": HELLO, "tools": TOOLS, "tool_choice": {"type": "tool", "name": "nope"}}, "nope"),
    ({"messages": HELLO, "tools": TOOLS, "tool_choice": "auto"}, "tool_choice"),
    ({"messages": HELLO, "tool_choice": {"type": "any"}}, "tools"),
]


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/messages/count_tokens"])
@pytest.mark.parametrize("body,words", HOSTILE)
def test_bad_input_is_a_400(anthropic_server, path, body, words):
    r = post(anthropic_server, {"model": "test", **body}, path)
    assert_openai_error(r, 400, contains=words)


@pytest.mark.parametrize("raw", [b"[]", b"{", b'"text"', b"\xff\xfe"])
def test_bad_body_is_a_400(anthropic_server, raw):
    r = requests.post(anthropic_server.url("/v1/messages"), data=raw, headers={"Content-Type": "application/json"},
                      timeout=60)
    assert_openai_error(r, 400)


def test_bad_streamed_request_is_a_400_and_the_server_goes_on(anthropic_server):
    for body, words in HOSTILE:
        r = post(anthropic_server, {"model": "test", "stream": True, **body})
        assert_openai_error(r, 400, contains=words)
    assert anthropic_server.get("/health").status_code == 200
    assert message(anthropic_server, messages=HELLO, max_tokens=2)["usage"]["output_tokens"] == 2


def test_tools_need_jinja(start_server):
    server = start_server("-np", "1", "-c", "1024", "-t", "2", "--no-jinja", "--chat-template", "gemma")
    r = post(server, {"messages": ASK, "tools": TOOLS, "max_tokens": 4})
    assert_openai_error(r, 400, contains="--jinja")
    assert message(server, messages=ASK, max_tokens=2)["type"] == "message"


def test_api_key_applies_and_x_api_key_is_accepted(start_server):
    server = start_server("-np", "1", "-c", "1024", "-t", "2", "--api-key", "sekrit", "--chat-template", "gemma")
    body = {"messages": HELLO, "max_tokens": 2}
    for path in ("/v1/messages", "/v1/messages/count_tokens"):
        assert_openai_error(post(server, body, path), 401, kind="authentication_error")
        assert_openai_error(post(server, body, path, headers={"x-api-key": "wrong"}), 401, kind="authentication_error")
        assert post(server, body, path, headers={"x-api-key": "sekrit", "anthropic-version": "2023-06-01"}).status_code == 200
        assert post(server, body, path, headers={"Authorization": "Bearer sekrit"}).status_code == 200


WEIRD = [None, True, False, 0, -1, 7, 2**31, 2**64, 10**400, 1e308, 0.5, "", "x" * 2000, "\ud800", "\u0000", [], {},
         [[]], [None], {"a": [1, {"b": None}]}, "text", "tool_use", "image", "user", "assistant"]
BLOCKS = [{"type": "text", "text": "Hi"}, {"type": "thinking", "thinking": "Hmm", "signature": "s"},
          {"type": "redacted_thinking", "data": "d"},
          {"type": "tool_use", "id": "t1", "name": "get_weather", "input": {"city": "Paris", "days": 2}},
          {"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "text", "text": "Rain"}], "is_error": False},
          {"type": "image", "source": {"type": "url", "url": "http://x/y.png"}}, {"type": "document"}]


def weird_anthropic_body(rng):
    def block():
        b = dict(rng.choice(BLOCKS))
        if rng.random() < 0.3:
            b[rng.choice(list(b) + ["type", "text", "input", "content"])] = rng.choice(WEIRD)
        return b

    messages = []
    for _ in range(rng.randint(0, 4)):
        m = {"role": rng.choice(["user", "assistant"] * 4 + ["system", "tool", 5]),
             "content": [block() for _ in range(rng.randint(0, 3))] if rng.random() < 0.7 else "Hello"}
        if rng.random() < 0.1:
            m[rng.choice(["role", "content"])] = rng.choice(WEIRD)
        messages.append(m)
    body = {"messages": messages, "max_tokens": rng.randint(0, 4), "temperature": 0,
            "system": rng.choice(["Be brief.", [{"type": "text", "text": "Be brief."}]]),
            "tools": TOOLS, "tool_choice": rng.choice([{"type": "auto"}, {"type": "any"}, {"type": "none"},
                                                       {"type": "tool", "name": "add"}]),
            "stop_sequences": ["\n\n"], "stream": rng.random() < 0.3,
            "thinking": {"type": "enabled", "budget_tokens": rng.randint(0, 8)}, "metadata": {"user_id": "u"}}
    for _ in range(rng.randint(0, 3)):
        key = rng.choice(list(body))
        if key != "max_tokens" or rng.random() < 0.3:
            body[key] = rng.choice(WEIRD)
    if not isinstance(body.get("max_tokens"), int) or isinstance(body["max_tokens"], bool) or body["max_tokens"] > 4:
        body["max_tokens"] = 4  # a missing or huge length is a legal request for a long generation
    return body


@pytest.mark.parametrize("seed", [1, 2])
def test_random_anthropic_bodies_are_answered_or_refused(anthropic_server, seed):
    rng = random.Random(seed)
    statuses = {}
    for i in range(150):
        body = weird_anthropic_body(rng)
        path = rng.choice(["/v1/messages", "/v1/messages/count_tokens"])
        data = json.dumps(body).encode("utf-8", "surrogatepass")
        r = requests.post(anthropic_server.url(path), data=data, headers={"Content-Type": "application/json"}, timeout=60)
        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        assert r.status_code in (200, 400), (i, path, data[:500], r.status_code, r.text[:300])
        if r.status_code == 400:
            assert r.json()["error"]["message"], r.text
        elif path == "/v1/messages" and not body.get("stream"):
            assert r.json()["type"] == "message", r.text
    print(f"seed {seed}: {statuses}")
    assert statuses.get(200, 0) > 0 and statuses.get(400, 0) > 0, statuses
    assert message(anthropic_server, messages=HELLO, max_tokens=2)["usage"]["output_tokens"] == 2
