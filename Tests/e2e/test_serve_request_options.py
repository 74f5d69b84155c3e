"""Request options of today's llama-server: timings_per_token on every stream. (with_pieces and
several prompts in one /completion: test_serve_compat_shapes.py; input_extra: test_serve_infill.py.)"""
from conftest import sse_events


def test_timings_per_token_on_native_stream(server):
    body = {"prompt": "Once upon a time", "n_predict": 5, "temperature": 0, "stream": True, "ignore_eos": True}
    events = sse_events(server.post("/completion", {**body, "timings_per_token": True}, stream=True))
    tokens = [e for e in events if not e["stop"]]
    assert len(tokens) == 5 and all("timings" in e for e in tokens)
    assert [e["timings"]["predicted_n"] for e in tokens] == [1, 2, 3, 4, 5]
    assert all(e["timings"]["prompt_n"] > 0 and e["timings"]["prompt_ms"] > 0 for e in tokens)
    assert events[-1]["stop"] and events[-1]["timings"]["predicted_n"] == 5
    plain = sse_events(server.post("/completion", body, stream=True))
    assert not any("timings" in e for e in plain if not e["stop"])


def test_timings_per_token_on_openai_streams(server):
    chat = {"messages": [{"role": "user", "content": "Count to ten"}], "max_tokens": 4, "temperature": 0,
            "stream": True, "timings_per_token": True}
    chunks = [e for e in sse_events(server.post("/v1/chat/completions", chat, stream=True)) if isinstance(e, dict)]
    content = [c for c in chunks if c["choices"] and c["choices"][0]["delta"].get("content")]
    assert content and all("timings" in c for c in content)
    text = {"prompt": "Once upon a time", "max_tokens": 3, "temperature": 0, "stream": True, "timings_per_token": True}
    legacy = [e for e in sse_events(server.post("/v1/completions", text, stream=True)) if isinstance(e, dict)]
    assert any("timings" in e for e in legacy if e["choices"] and e["choices"][0]["text"])
