"""Today's llama-server request and response shapes that extend the spec's, on `cria serve`."""
import json

import requests

from conftest import sse_events

CHAT = [{"role": "system", "content": "Book"}, {"role": "user", "content": "What is the best book"}]


def test_chat_choices_prefill_and_token_count(server):
    body = server.post("/v1/chat/completions", {"messages": CHAT, "max_tokens": 3, "n": 3, "id_slot": 0}).json()
    assert [c["index"] for c in body["choices"]] == [0, 1, 2]
    assert all(c["finish_reason"] == "length" for c in body["choices"])
    assert body["usage"]["completion_tokens"] == 9
    # A final assistant message is continued: the prompt ends with its text, not a new turn.
    prefill = [*CHAT, {"role": "assistant", "content": [{"type": "text", "text": "Wh"}, {"type": "text", "text": "ill"}]}]
    opened = server.post("/apply-template", {"messages": CHAT}).json()["prompt"]  # ends with the assistant opener
    r = server.post("/v1/chat/completions", {"messages": prefill, "max_tokens": 1, "verbose": True})
    assert r.json()["__verbose"]["prompt"] == opened + "Wh\n\nill"
    explicit = server.post("/v1/chat/completions", {"messages": [*CHAT, {"role": "assistant", "content": "Whill"}],
                                                    "max_tokens": 1, "verbose": True, "continue_final_message": True,
                                                    "add_generation_prompt": False}).json()
    assert explicit["__verbose"]["prompt"] == opened + "Whill"
    both = server.post("/v1/chat/completions", {"messages": prefill, "continue_final_message": True,
                                                "add_generation_prompt": True})
    assert both.status_code == 400
    two = server.post("/v1/chat/completions", {"messages": [*prefill, {"role": "assistant", "content": "x"}]})
    assert two.status_code == 400 and "assistant" in two.json()["error"]["message"]
    count = server.post("/chat/completions/input_tokens", {"messages": CHAT}).json()["input_tokens"]
    usage = server.post("/v1/chat/completions", {"messages": CHAT, "max_tokens": 1}).json()["usage"]
    assert count == usage["prompt_tokens"]
    assert server.post("/v1/chat/completions", {"messages": [{"role": "user", "content": 123}]}).status_code == 400


def test_chat_stream_opening_delta_and_usage_timings(server):
    r = server.post("/v1/chat/completions", {"messages": CHAT, "max_tokens": 3, "stream": True,
                                             "stream_options": {"include_usage": True}}, stream=True)
    events = [e for e in sse_events(r) if e != "[DONE]"]
    assert events[0]["choices"][0]["delta"] == {"role": "assistant", "content": None}
    assert events[-1]["choices"] == [] and events[-1]["timings"]["predicted_n"] == 3


def test_completion_probabilities_today_and_spec_fields(server):
    body = server.post("/completion", {"prompt": "I believe the meaning of life is", "n_probs": 4,
                                       "temperature": 0, "n_predict": 2}).json()
    for entry in body["completion_probabilities"]:
        assert entry["probs"][0]["tok_str"] == entry["content"] == entry["token"]  # spec and today's side by side
        assert entry["logprob"] <= 0 and len(entry["top_logprobs"]) == 4 and entry["bytes"] == list(entry["token"].encode())
    post = server.post("/completion", {"prompt": "I believe the meaning of life is", "n_probs": 4, "temperature": 1,
                                       "n_predict": 2, "post_sampling_probs": True}).json()
    for entry in post["completion_probabilities"]:
        assert 0 < entry["prob"] <= 1 and all(0 < p["prob"] <= 1 for p in entry["top_probs"])
        assert "logprob" not in entry


def test_several_prompts_and_prompt_objects(server):
    tokens = server.post("/tokenize", {"content": "Once upon a time", "add_special": True}).json()["tokens"]
    greedy = {"temperature": 0, "n_predict": 4}
    one = server.post("/completion", {"prompt": {"prompt_string": "Once upon a time"}, **greedy}).json()
    both = server.post("/completion", {"prompt": [tokens, {"prompt_string": "Once upon a time"}], **greedy}).json()
    assert isinstance(both, list) and [b["content"] for b in both] == [one["content"]] * 2
    # A flat list of strings and ids is still one mixed prompt, as in the spec.
    mixed = server.post("/completion", {"prompt": ["Once upon", " a time"], **greedy}).json()
    assert isinstance(mixed, dict)
    media = server.post("/completion", {"prompt": {"prompt_string": "x", "multimodal_data": ["AAAA"]}})
    assert media.status_code == 400
    pieces = server.post("/tokenize", {"content": "Hi 🤗", "with_pieces": True}).json()["tokens"]
    assert all(p["id"] >= 0 and len(p["piece"]) > 0 for p in pieces)


def test_prompt_progress_and_timings(start_server):
    s = start_server("-np", "1", "-c", "512", "-t", "2", "-b", "16")
    r = s.post("/completion", {"prompt": "the quick brown fox jumps over the lazy dog " * 4, "n_predict": 2,
                               "stream": True, "return_progress": True}, stream=True)
    progress = [e["prompt_progress"] for e in sse_events(r) if "prompt_progress" in e]
    assert len(progress) > 2 and progress[0]["processed"] == 0 and progress[0]["time_ms"] == 0
    assert progress[-1]["processed"] == progress[-1]["total"]
    assert all(a["processed"] < b["processed"] for a, b in zip(progress, progress[1:]))
    one = s.post("/completion", {"prompt": "Hi", "n_predict": 1}).json()["timings"]
    assert one["predicted_per_second"] == 0 and one["predicted_per_token_ms"] == 0
    many = s.post("/completion", {"prompt": "Hi", "n_predict": 6, "ignore_eos": True}).json()["timings"]
    assert abs(many["predicted_per_second"] - 1e3 / many["predicted_ms"] * 5) < 1e-6


def test_context_error_and_metrics(start_server):
    # Without context shift a long prompt is refused in today's shape (with it, it is truncated).
    s = start_server("-np", "2", "-c", "128", "-t", "2", "--metrics", "--no-context-shift")
    r = s.post("/completion", {"prompt": "word " * 200})
    error = r.json()["error"]
    assert r.status_code == 400 and error["type"] == "exceed_context_size_error"
    assert error["n_ctx"] == 64 and error["n_prompt_tokens"] > 64
    for _ in range(2):
        body = s.post("/completion", {"prompt": "the quick brown fox", "n_predict": 3, "cache_prompt": True}).json()
    assert body["timings"]["cache_n"] > 0 and body["stop_type"] == "limit"
    m = s.get("/metrics")
    assert int(m.headers["Process-Start-Time-Unix"]) > 0
    values = {line.split()[0]: float(line.split()[1]) for line in m.text.splitlines() if line.startswith("llamacpp:")}
    assert values["llamacpp:prompt_tokens_cached_total"] == body["timings"]["cache_n"]
    assert values["llamacpp:n_decode_total"] > 0 and values["llamacpp:spec_decode_num_drafts_total"] == 0
    assert 0 < values["llamacpp:n_busy_slots_per_decode"] <= 2
    assert all(slot["is_processing"] is False for slot in s.get("/slots").json())


def test_v1_completions_several_prompts(server):
    """OpenAI's prompt arrays: strings or token arrays are one prompt each (one choice each, usage
    summed); a flat array of token ids is one prompt."""
    greedy = {"temperature": 0, "max_tokens": 4}
    texts = ["Once upon a time", "The capital of France is"]
    alone = [server.post("/v1/completions", {"prompt": t, **greedy}).json() for t in texts]
    expected = [a["choices"][0]["text"] for a in alone]
    assert expected[0] != expected[1]
    tokens = [server.post("/tokenize", {"content": t, "add_special": True}).json()["tokens"] for t in texts]
    for prompt in (texts, tokens):
        body = server.post("/v1/completions", {"prompt": prompt, **greedy}).json()
        assert [c["index"] for c in body["choices"]] == [0, 1]
        assert [c["text"] for c in body["choices"]] == expected
        assert all(c["finish_reason"] == "length" for c in body["choices"])
        assert body["usage"]["prompt_tokens"] == sum(a["usage"]["prompt_tokens"] for a in alone)
        assert body["usage"]["completion_tokens"] == 8
    one = server.post("/v1/completions", {"prompt": tokens[0], **greedy}).json()
    assert [c["text"] for c in one["choices"]] == expected[:1]
    # Streamed: chunks name their choice, the stop text never mixes prompts, usage sums both.
    r = server.post("/v1/completions", {"prompt": texts, **greedy, "stream": True, "logprobs": 1,
                                        "stream_options": {"include_usage": True}}, stream=True)
    events = [e for e in sse_events(r) if e != "[DONE]"]
    streamed, finishes = ["", ""], [None, None]
    for e in events:
        for c in e["choices"]:
            streamed[c["index"]] += c["text"]
            if c["finish_reason"]:
                finishes[c["index"]] = c["finish_reason"]
    assert streamed == expected and finishes == ["length", "length"]
    assert events[-1]["usage"]["completion_tokens"] == 8
    assert events[-1]["usage"]["prompt_tokens"] == sum(a["usage"]["prompt_tokens"] for a in alone)
    assert sum(1 for e in events if e.get("usage")) == 1
    assert server.post("/v1/completions", {"prompt": ["x", {"text": "y"}]}).status_code == 400
