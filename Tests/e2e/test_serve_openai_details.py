"""Details of the OpenAI routes that clients depend on: retrieving a model, seeded choices, the
legacy stream's text offsets and usage chunk."""
from urllib.parse import quote

import openai
import pytest

from conftest import sse_events


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server.url("/v1"), api_key="sk-no-key-required")


def test_models_retrieve_by_id(client, server):
    listed = client.models.list().data[0]
    got = client.models.retrieve(listed.id)  # the default id is the model's path, slashes and all
    assert got.id == listed.id and got.object == "model"
    assert server.get("/v1/models/" + quote(listed.id, safe="")).json()["id"] == listed.id
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("no-such-model")


def test_seeded_choices_differ_and_repeat(client):
    args = dict(model="m", messages=[{"role": "user", "content": "Tell me a story"}], n=3, temperature=1.2,
                seed=11, max_tokens=12)
    first = [c.message.content for c in client.chat.completions.create(**args).choices]
    again = [c.message.content for c in client.chat.completions.create(**args).choices]
    assert first == again
    assert len(set(first)) > 1, first


def test_legacy_stream_offsets_and_usage_chunk(server):
    body = {"prompt": "The history of the printing press", "max_tokens": 10, "temperature": 0, "logprobs": 1,
            "stream": True, "stream_options": {"include_usage": True}}
    chunks = [c for c in sse_events(server.post("/v1/completions", body, stream=True)) if isinstance(c, dict)]
    plain = server.post("/v1/completions", {**body, "stream": False}).json()
    streamed = [o for c in chunks if c["choices"] and c["choices"][0].get("logprobs")
                for o in c["choices"][0]["logprobs"]["text_offset"]]
    assert streamed == plain["choices"][0]["logprobs"]["text_offset"] and streamed[-1] > 0
    # Usage in a last chunk of its own with no choices, as OpenAI sends it.
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == plain["usage"]
    assert all("usage" not in c or c["usage"] is None for c in chunks[:-1])


def test_json_schema_without_a_schema_is_any_json(server):
    # OpenAI makes json_schema.schema optional; as llama-server, none means {} (any JSON value).
    import json
    body = {"messages": [{"role": "user", "content": "Give me data"}], "max_tokens": 40, "temperature": 0,
            "response_format": {"type": "json_schema", "json_schema": {"name": "anything"}}}
    r = server.post("/v1/chat/completions", body)
    assert r.status_code == 200, r.text
    choice = r.json()["choices"][0]
    assert choice["message"]["content"].lstrip()[:1] in list('{["-0123456789tfn')  # constrained to JSON
    if choice["finish_reason"] == "stop":
        json.loads(choice["message"]["content"])
    missing = server.post("/v1/chat/completions", {**body, "response_format": {"type": "json_schema"}})
    assert missing.status_code == 400


def test_prompt_count_is_bounded(server):
    # Each prompt becomes a queued generation: a body of tiny prompts must not queue a million.
    many = [[2, 9259]] * 1025
    for path in ("/completion", "/v1/completions"):
        r = server.post(path, {"prompt": many, "n_predict": 1, "max_tokens": 1})
        assert r.status_code == 400 and "at most 1024 prompts" in r.json()["error"]["message"], r.text
    ok = server.post("/v1/completions", {"prompt": [[2, 9259]] * 3, "max_tokens": 1})
    assert ok.status_code == 200 and len(ok.json()["choices"]) == 3


def test_developer_role_is_the_system_role(server):
    # OpenAI clients send `developer` where older ones sent `system` (o1 and later); templates
    # know only `system`, and strict ones reject other roles.
    def render(role):
        r = server.post("/apply-template", {"messages": [{"role": role, "content": "Be brief."},
                                                         {"role": "user", "content": "Hi"}]})
        assert r.status_code == 200, r.text
        return r.json()["prompt"]
    assert render("developer") == render("system")
    assert "system" in render("developer") and "developer" not in render("developer")
