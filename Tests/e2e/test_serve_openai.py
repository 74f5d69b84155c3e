"""The OpenAI-compatible routes, through the official `openai` Python client and raw HTTP."""
import json

import openai
import pytest

from conftest import REFERENCE, assert_openai_error, sse_events

MESSAGES = [{"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Hello! What is 2+2?"}]


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server.url("/v1"), api_key="sk-no-key-required")


def test_chat_completion(client):
    c = client.chat.completions.create(model="gpt-3.5-turbo", messages=MESSAGES, max_tokens=8, temperature=0)
    assert c.object == "chat.completion" and c.id.startswith("chatcmpl-")
    assert c.choices[0].message.role == "assistant"
    assert isinstance(c.choices[0].message.content, str)
    assert c.choices[0].finish_reason in ("stop", "length")
    assert c.usage.completion_tokens <= 8 and c.usage.prompt_tokens > 20
    assert c.usage.total_tokens == c.usage.prompt_tokens + c.usage.completion_tokens


def test_chat_stream_matches_non_stream(client):
    full = client.chat.completions.create(model="m", messages=MESSAGES, max_tokens=8, temperature=0)
    chunks = list(client.chat.completions.create(model="m", messages=MESSAGES, max_tokens=8, temperature=0,
                                                 stream=True, stream_options={"include_usage": True}))
    assert all(ch.object == "chat.completion.chunk" for ch in chunks)
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert text == full.choices[0].message.content
    finishes = [ch.choices[0].finish_reason for ch in chunks if ch.choices and ch.choices[0].finish_reason]
    assert finishes == [full.choices[0].finish_reason]
    assert chunks[-1].usage.completion_tokens == full.usage.completion_tokens and chunks[-1].choices == []


def test_chat_stream_raw_ends_with_done(server):
    r = server.post("/v1/chat/completions", {"messages": MESSAGES, "max_tokens": 4, "stream": True}, stream=True)
    events = sse_events(r)
    assert events[-1] == "[DONE]"
    assert events[0]["choices"][0]["delta"]["role"] == "assistant"


def test_chat_uses_chatml_fallback_template(server):
    ref = json.loads((REFERENCE / "chat_template_default-no-template-chatml-fallback.json").read_text())
    r = server.post("/apply-template", {"messages": ref["messages"]})
    assert r.json()["prompt"] == ref["apply_template_prompt"]


CHATML_TURN = [{"role": "user", "content": "What is 2+2?"}]


def test_chatml_fallback_stops_at_im_end(server):
    """The test model has no template: ChatML's `<|im_end|>`, which it writes as plain text, ends
    the reply (not in content, not even in part in a stream delta) with finish_reason stop."""
    body = {"messages": CHATML_TURN, "max_tokens": 60, "temperature": 0}
    full = server.post("/v1/chat/completions", {**body, "verbose": True}).json()
    content = full["choices"][0]["message"]["content"]
    assert full["choices"][0]["finish_reason"] == "stop" and "<|" not in content and content.strip()
    assert full["usage"]["completion_tokens"] < 60
    assert full["__verbose"]["stopping_word"] == "<|im_end|>"
    events = [e for e in sse_events(server.post("/v1/chat/completions", {**body, "stream": True}, stream=True))
              if e != "[DONE]"]
    deltas = [e["choices"][0]["delta"].get("content") or "" for e in events]
    assert "".join(deltas) == content and not any("<" in d for d in deltas)
    assert events[-1]["choices"][0]["finish_reason"] == "stop"
    # The stop is added once, beside the request's own.
    own = server.post("/v1/chat/completions", {**body, "stop": ["zzz"], "verbose": True}).json()
    assert own["__verbose"]["generation_settings"]["stop"] == ["zzz", "<|im_end|>"]


def test_im_end_stop_only_for_chatml(start_server):
    named = start_server("-t", "2", "--chat-template", "chatml")
    r = named.post("/v1/chat/completions", {"messages": CHATML_TURN, "max_tokens": 60, "temperature": 0}).json()
    assert r["choices"][0]["finish_reason"] == "stop" and "<|im_end|>" not in r["choices"][0]["message"]["content"]
    named.stop()
    # The same format given as a template of one's own is left alone: it stops only where asked.
    jinja = ("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
             "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
    own = start_server("-t", "2", "--chat-template", jinja)
    r = own.post("/v1/chat/completions", {"messages": CHATML_TURN, "max_tokens": 60, "temperature": 0,
                                          "verbose": True}).json()
    assert r["__verbose"]["generation_settings"]["stop"] == []
    assert "<|im_end|>" in r["choices"][0]["message"]["content"]


def test_chat_stop_and_seed(client):
    a = client.chat.completions.create(model="m", messages=MESSAGES, max_tokens=8, temperature=1, seed=7)
    b = client.chat.completions.create(model="m", messages=MESSAGES, max_tokens=8, temperature=1, seed=7)
    assert a.choices[0].message.content == b.choices[0].message.content
    text = client.chat.completions.create(model="m", messages=MESSAGES, max_tokens=8, temperature=0).choices[0].message.content
    if len(text) > 2:
        stopped = client.chat.completions.create(model="m", messages=MESSAGES, max_tokens=8, temperature=0, stop=[text[2:]])
        assert stopped.choices[0].message.content == text[:2] and stopped.choices[0].finish_reason == "stop"


def test_chat_logprobs(client):
    c = client.chat.completions.create(model="m", messages=MESSAGES, max_tokens=3, temperature=0, logprobs=True,
                                       top_logprobs=2)
    content = c.choices[0].logprobs.content
    assert len(content) == c.usage.completion_tokens
    for entry in content:
        assert entry.logprob <= 0 and len(entry.top_logprobs) == 2
        assert entry.top_logprobs[0].logprob >= entry.top_logprobs[1].logprob


@pytest.mark.parametrize("fmt", [
    {"type": "json_object"},
    {"type": "json_object", "schema": {"type": "object", "properties": {"a": {"type": "string"}}}},
    {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "array", "items": {"type": "integer"}}}},
])
def test_response_format(client, fmt):
    c = client.chat.completions.create(model="m", messages=MESSAGES, max_tokens=12, temperature=0, response_format=fmt)
    content = c.choices[0].message.content
    opener = "[" if fmt.get("json_schema", {}).get("schema", {}).get("type") == "array" else "{"
    assert content.startswith(opener)
    if c.choices[0].finish_reason == "stop":
        json.loads(content)


def test_response_format_bad_schema_is_400(server):
    r = server.post("/v1/chat/completions", {"messages": MESSAGES, "response_format": {"type": "json_schema"}})
    assert_openai_error(r, 400)


def test_legacy_completions(client):
    c = client.completions.create(model="m", prompt="The old lighthouse keeper", max_tokens=6, temperature=0, logprobs=2)
    assert c.object == "text_completion"
    assert c.choices[0].finish_reason == "length" and c.usage.completion_tokens == 6
    assert len(c.choices[0].logprobs.tokens) == 6
    streamed = "".join(ch.choices[0].text for ch in client.completions.create(
        model="m", prompt="The old lighthouse keeper", max_tokens=6, temperature=0, stream=True))
    assert streamed == c.choices[0].text


def test_models(client):
    models = client.models.list().data
    assert len(models) == 1 and models[0].id.endswith("gemma-3-270m-q4_k_m.gguf")


def test_client_reports_api_errors(client):
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="m", messages=MESSAGES, max_tokens=-3)
    assert "max_tokens" in str(e.value)
