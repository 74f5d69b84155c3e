"""Generated text reaches the client scalar for scalar: a token that extends the previous
token's last character (`\\n` after `\\r`, a combining accent) used to be dropped, and a
streamed chat stalled for good after one; stop strings match scalar by scalar; logprobs carry
each token's own bytes."""
import base64
import json

from conftest import sse_events

CRLF = 'root ::= "line1\\r\\nline2 cafe\\u0301 ok"'
EXPECTED = "line1\r\nline2 cafe\u0301 ok"


def test_native_completion_keeps_every_scalar(server):
    body = {"prompt": "Write:", "n_predict": 32, "temperature": 0, "grammar": CRLF}
    assert server.post("/completion", body).json()["content"] == EXPECTED
    events = sse_events(server.post("/completion", {**body, "stream": True}, stream=True))
    assert "".join(e["content"] for e in events) == EXPECTED


def test_openai_routes_keep_every_scalar(server):
    body = {"prompt": "Write:", "max_tokens": 32, "temperature": 0, "grammar": CRLF}
    assert server.post("/v1/completions", body).json()["choices"][0]["text"] == EXPECTED
    chat = {"messages": [{"role": "user", "content": "Write"}], "max_tokens": 32, "temperature": 0, "grammar": CRLF}
    assert server.post("/v1/chat/completions", chat).json()["choices"][0]["message"]["content"] == EXPECTED
    chunks = [c for c in sse_events(server.post("/v1/chat/completions", {**chat, "stream": True}, stream=True))
              if isinstance(c, dict) and c["choices"]]
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks) == EXPECTED


def test_newline_stop_matches_inside_crlf(server):
    body = {"prompt": "Write:", "n_predict": 32, "temperature": 0, "grammar": CRLF, "stop": ["\n"]}
    r = server.post("/completion", body).json()
    assert r["content"] == "line1\r" and r["stopped_word"] and r["stopping_word"] == "\n"


def test_logprob_bytes_rebuild_characters_split_over_tokens(server):
    # U+10FFFD has no token of its own: it is generated as four byte tokens, each of which has
    # only its one byte (the token text is a replacement character).
    grammar = 'root ::= "A\\U0010FFFD B"'
    chat = {"messages": [{"role": "user", "content": "Write"}], "max_tokens": 16, "temperature": 0,
            "grammar": grammar, "logprobs": True, "top_logprobs": 2}
    choice = server.post("/v1/chat/completions", chat).json()["choices"][0]
    content = choice["message"]["content"]
    assert content == "A\U0010FFFD B"
    entries = choice["logprobs"]["content"]
    assert b"".join(bytes(e["bytes"]) for e in entries) == content.encode()
    assert any(len(e["bytes"]) == 1 and e["bytes"][0] >= 0x80 for e in entries)
    legacy = server.post("/v1/completions", {"prompt": "Write:", "max_tokens": 16, "temperature": 0,
                                             "grammar": grammar, "logprobs": 1}).json()["choices"][0]
    offsets = legacy["logprobs"]["text_offset"]
    assert legacy["text"] == content and offsets[0] == 0 and offsets == sorted(offsets)
    # Code points: "A" at 0, the four bytes of one character from 1, " " at 2, "B" at 3.
    assert offsets[-1] == len(content) - 1


def test_probabilities_end_where_a_stop_string_cuts_the_text(server):
    base = {"prompt": "The history of the printing press", "n_predict": 16, "temperature": 0, "n_probs": 1,
            "ignore_eos": True}
    free = server.post("/completion", base).json()
    pieces = [p["content"] for p in free["completion_probabilities"]]
    k = next(i for i in range(3, 12) if pieces[i].strip() and pieces[i + 1].strip()
             and (pieces[i] + pieces[i + 1]) not in "".join(pieces[:i + 1]))
    word = pieces[k] + pieces[k + 1]
    cut = server.post("/completion", {**base, "stop": [word]}).json()
    assert cut["stopped_word"] and cut["content"] == "".join(pieces[:k])
    assert [p["content"] for p in cut["completion_probabilities"]] == pieces[:k]
    legacy = server.post("/v1/completions", {"prompt": base["prompt"], "max_tokens": 16, "temperature": 0,
                                             "logprobs": 1, "stop": [word]}).json()["choices"][0]
    assert "".join(legacy["logprobs"]["tokens"]) == legacy["text"] == cut["content"]
