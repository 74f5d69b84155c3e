"""Hostile input and connection handling: no request can take the server down or disturb another.

Each class of hostile body gets a 4xx with an OpenAI-style error object, and afterwards the same
server still answers a normal greedy request with exactly the tokens it gave before.
"""
import http.client
import json
import socket
import threading
import time

import openai
import pytest
import requests

from conftest import assert_openai_error

PROMPT = "The old lighthouse keeper climbed the spiral stairs every evening, and"
GREEDY = {"prompt": PROMPT, "n_predict": 8, "temperature": 0, "return_tokens": True}


@pytest.fixture(scope="module")
def baseline(server):
    """The greedy answer before any hostile request."""
    r = server.post("/completion", GREEDY)
    assert r.status_code == 200
    return r.json()["tokens"]


def still_same(server, baseline):
    r = server.post("/completion", GREEDY)
    assert r.status_code == 200, r.text
    assert r.json()["tokens"] == baseline


def post_raw(server, path, data: bytes):
    return requests.post(server.url(path), data=data, headers={"Content-Type": "application/json"}, timeout=120)


CHAT = {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}

# Integers that do not fit the type they would be converted to, or would size an allocation:
# (path, body, the field the error must name).
OUT_OF_RANGE = [
    ("/completion", {"prompt": "x", "n_predict": 2**63}, "n_predict"),
    ("/completion", {"prompt": "x", "n_predict": 2**31}, "n_predict"),
    ("/completion", {"prompt": "x", "n_keep": 2**31}, "n_keep"),
    ("/completion", {"prompt": "x", "n_keep": -2**40}, "n_keep"),
    ("/completion", {"prompt": "x", "seed": 2**64}, "seed"),
    ("/completion", {"prompt": "x", "seed": -2**63}, "seed"),
    ("/completion", {"prompt": "x", "id_slot": 2**31}, "id_slot"),
    ("/completion", {"prompt": "x", "id_slot": 2**62}, "id_slot"),
    ("/completion", {"prompt": "x", "repeat_last_n": 2**40}, "repeat_last_n"),
    ("/completion", {"prompt": "x", "top_k": -2**40}, "top_k"),
    ("/completion", {"prompt": "x", "min_keep": 2**33}, "min_keep"),
    ("/completion", {"prompt": "x", "n_probs": 2**31}, "n_probs"),
    ("/completion", {"prompt": "x", "mirostat": 2**31}, "mirostat"),
    ("/completion", {"prompt": [2**31]}, "prompt"),
    ("/completion", {"prompt": ["a", -2**63]}, "prompt"),
    ("/completion", {"prompt": "x", "logit_bias": [[2**40, 1.0]]}, "logit_bias"),
    ("/completion", {"prompt": "x", "logit_bias": {str(2**70): 1.0}}, "logit_bias"),
    ("/completion", {"prompt": "x", "penalty_prompt": [2**40]}, "penalty_prompt"),
    ("/detokenize", {"tokens": [2**63]}, "tokens"),
    ("/detokenize", {"tokens": [2**31]}, "tokens"),
    ("/detokenize", {"tokens": [-1]}, "tokens"),
    ("/embedding", {"content": [2**40]}, "content"),
    ("/v1/chat/completions", {**CHAT, "max_tokens": 2**40}, "max_tokens"),
    ("/v1/chat/completions", {**CHAT, "max_completion_tokens": -1}, "max_completion_tokens"),
    ("/v1/chat/completions", {**CHAT, "top_logprobs": 2**40, "logprobs": True}, "top_logprobs"),
    ("/v1/chat/completions", {**CHAT, "seed": 2**64}, "seed"),
    ("/v1/completions", {"prompt": "x", "max_tokens": -2**40}, "max_tokens"),
    ("/v1/completions", {"prompt": [2**33], "max_tokens": 1}, "prompt"),
    ("/v1/completions", {"prompt": "x", "logprobs": 2**31}, "logprobs"),
]


@pytest.mark.parametrize("path,body,field", OUT_OF_RANGE)
def test_integers_out_of_range_are_400(server, baseline, path, body, field):
    # Bounded, so that a body wrongly accepted fails fast instead of generating to the context's end.
    bound = {"max_tokens": 2} if path.startswith("/v1/") else {"n_predict": 2}
    r = server.post(path, {**bound, **body}, timeout=120)
    assert_openai_error(r, 400, contains=field)
    still_same(server, baseline)


# Numbers JSON can spell but no float or integer holds.
@pytest.mark.parametrize("raw", [
    b'{"prompt": "x", "temperature": 1e400}',
    b'{"prompt": "x", "top_p": -1e400}',
    b'{"prompt": "x", "n_predict": 123456789012345678901234567890}',
    b'{"prompt": "x", "seed": 1e19}',
    b'{"prompt": [1e300]}',
])
def test_unrepresentable_numbers_are_400(server, baseline, raw):
    assert_openai_error(post_raw(server, "/completion", raw), 400)
    still_same(server, baseline)


# Sizes the server clamps to what the vocabulary or the context allows, as llama-server does.
@pytest.mark.parametrize("extra", [
    {"repeat_last_n": 2**31 - 1},
    {"top_k": 2**31 - 1},
    {"min_keep": 2**31 - 1},
    {"n_probs": 1024},
    {"stop": [f"never-{i}" for i in range(5000)]},
    {"logit_bias": [[i, 0.0] for i in range(20000)]},
])
def test_huge_sizes_are_clamped(server, baseline, extra):
    r = server.post("/completion", {"prompt": PROMPT, "n_predict": 2, **extra})
    assert r.status_code == 200, r.text
    assert r.json()["tokens_predicted"] == 2
    still_same(server, baseline)


# Deep nesting handed to a recursive parser: the request JSON itself, GBNF, a JSON schema, a
# schema's regex `pattern`, and chat messages/tools.
def nested(depth, open_, close, inner):
    return open_ * depth + inner + close * depth


NESTED = [
    ("/completion", b'{"prompt": ' + nested(100000, "[", "]", "").encode() + b'}'),
    ("/completion", b'{"prompt": "x", "x": ' + nested(100000, '{"a":', "}", "1").encode() + b'}'),
    ("/completion", json.dumps({"prompt": "x", "grammar": "root ::= " + nested(100000, "(", ")", '"a"')}).encode()),
    # Within the JSON parser's depth, beyond the schema converter's.
    ("/completion", b'{"prompt": "x", "json_schema": ' + nested(300, '{"type": "array", "items": ', "}", "{}").encode()
     + b'}'),
    ("/completion", b'{"prompt": "x", "json_schema": ' + nested(5000, '{"type": "array", "items": ', "}", "{}").encode()
     + b'}'),
    ("/completion", json.dumps({"prompt": "x", "json_schema": {"type": "string",
                                                                "pattern": nested(100000, "(", ")", "a")}}).encode()),
    ("/v1/chat/completions", json.dumps({**CHAT, "response_format": {
        "type": "json_object", "schema": {"type": "string", "pattern": nested(100000, "(?:", ")", "a")}}}).encode()),
    ("/v1/chat/completions", b'{"messages": [{"role": "user", "content": "x", "extra": '
     + nested(100000, "[", "]", "").encode() + b'}]}'),
]


@pytest.mark.parametrize("path,raw", NESTED, ids=[f"nested-{i}" for i in range(len(NESTED))])
def test_deep_nesting_is_400(server, baseline, path, raw):
    r = post_raw(server, path, raw)
    assert_openai_error(r, 400)
    message = r.json()["error"]["message"].lower()
    assert "deep" in message or "nest" in message, message
    still_same(server, baseline)


@pytest.mark.parametrize("raw", [
    b'{"prompt": "caf\xe9", "n_predict": 1}',            # Latin-1, not UTF-8
    b'{"prompt": "\xed\xa0\x80", "n_predict": 1}',       # an encoded surrogate
    b'{"prompt": "\xc0\xaf", "n_predict": 1}',           # overlong encoding
    b'{"prompt": "x\xf4\x90\x80\x80", "n_predict": 1}',  # beyond U+10FFFF
    b'{"prompt": "\\ud800", "n_predict": 1}',           # a lone surrogate escape
])
def test_ill_formed_utf8_is_400(server, baseline, raw):
    r = post_raw(server, "/completion", raw)
    assert_openai_error(r, 400)
    still_same(server, baseline)


# ---------------------------------------------------------------------------------------------
# Connections


def test_keep_alive_after_every_kind_of_response(server):
    """One connection takes a streamed and a non-streamed request on every generating route."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    requests_ = [
        ("/completion", {"prompt": "Hi", "n_predict": 2}),
        ("/completion", {"prompt": "Hi", "n_predict": 2, "stream": True}),
        ("/v1/chat/completions", {**CHAT}),
        ("/v1/chat/completions", {**CHAT, "stream": True}),
        ("/v1/completions", {"prompt": "Hi", "max_tokens": 2}),
        ("/v1/completions", {"prompt": "Hi", "max_tokens": 2, "stream": True}),
        ("/tokenize", {"content": "Hi"}),
        ("/completion", {"prompt": "x", "n_predict": -7}),  # an error response too
        ("/completion", {"prompt": "Hi", "n_predict": 2}),
    ]
    conn.connect()
    sock = conn.sock
    for path, body in requests_:
        conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        assert response.status in (200, 400), (path, response.status)
        assert not response.will_close, f"{path} closed the connection"
        assert response.getheader("Connection", "").lower() != "close"
        assert conn.sock is sock, f"the connection was replaced after {path}"
    conn.close()


def test_openai_client_pool_without_retries(server):
    """50 mixed streamed and non-streamed requests over the client's pooled connections."""
    client = openai.OpenAI(base_url=server.url("/v1"), api_key="sk-no-key-required", max_retries=0, timeout=120)
    for i in range(50):
        if i % 4 == 0:
            r = client.chat.completions.create(model="x", messages=[{"role": "user", "content": "Hi"}], max_tokens=2)
            assert r.choices[0].message.content is not None
        elif i % 4 == 1:
            stream = client.chat.completions.create(model="x", messages=[{"role": "user", "content": "Hi"}],
                                                    max_tokens=2, stream=True)
            assert any(chunk.choices and chunk.choices[0].finish_reason for chunk in stream)
        elif i % 4 == 2:
            r = client.completions.create(model="x", prompt="Hi", max_tokens=2)
            assert r.choices[0].finish_reason == "length"
        else:
            stream = client.completions.create(model="x", prompt="Hi", max_tokens=2, stream=True)
            assert len(list(stream)) >= 1


def test_disconnect_during_prompt_processing_frees_the_slot(start_server):
    # Small micro-batches make a long prompt take many engine steps.
    s = start_server("-np", "1", "-c", "4096", "-b", "32", "-ub", "32", "-t", "2")
    prompt = s.post("/tokenize", {"content": "Once upon a time, " * 500}).json()["tokens"]
    assert len(prompt) > 2000
    body = json.dumps({"prompt": prompt, "n_predict": 4}).encode()
    sock = socket.create_connection(("127.0.0.1", s.port))
    sock.sendall(b"POST /completion HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n" % len(body) + body)
    deadline = time.time() + 60
    while s.get("/health").json()["slots_processing"] != 1:
        assert time.time() < deadline
        time.sleep(0.01)
    time.sleep(0.3)
    sock.close()
    while s.get("/health").json()["slots_idle"] != 1:
        assert time.time() < deadline, "slot not freed after the client disconnected"
        time.sleep(0.01)
    # It stopped part-way through the prompt instead of finishing it first.
    assert s.get("/slots").json()[0]["n_cached"] < len(prompt)
    r = s.post("/completion", {"prompt": "Hello", "n_predict": 2})
    assert r.status_code == 200 and r.json()["tokens_predicted"] == 2


# ---------------------------------------------------------------------------------------------
# Long prompts and the system prompt file


def test_prompt_longer_than_context_is_truncated(start_server):
    s = start_server("-np", "1", "-c", "256", "-t", "2")
    head = "Keep this head. "
    r = s.post("/completion", {"prompt": head + "word " * 600, "n_predict": 4, "n_keep": 8, "temperature": 0})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["truncated"] is True
    assert out["tokens_evaluated"] < 256 and out["tokens_predicted"] == 4
    # The chat route truncates the same way instead of refusing.
    r = s.post("/v1/chat/completions", {"messages": [{"role": "user", "content": "word " * 600}], "max_tokens": 2})
    assert r.status_code == 200, r.text
    # A prompt that fits is untouched.
    out = s.post("/completion", {"prompt": "Hello", "n_predict": 1}).json()
    assert out["truncated"] is False


def test_system_prompt_file_in_the_spec_format(start_server, tmp_path):
    spf = tmp_path / "system.json"
    spf.write_text(json.dumps({"system_prompt": {"prompt": "Transcript of a dialog.\nUser:", "anti_prompt": "User:",
                                                 "assistant_name": "Assistant:"}}))
    s = start_server("-np", "1", "-c", "512", "-spf", spf)
    props = s.get("/props").json()
    assert props["system_prompt"] == "Transcript of a dialog.\nUser:"
    assert props["assistant_name"] == "Assistant:" and props["user_name"] == "User:"



def test_hostile_slot_files_are_400(server, baseline):
    """A slot file is read back only if it is whole and names tokens of this model."""
    assert server.post("/completion", {"prompt": "Hello there", "n_predict": 1, "id_slot": 0}).status_code == 200
    r = server.post("/slots/0?action=save", {"filename": "good.bin"})
    assert r.status_code == 200, r.text
    good = (server.slot_dir / "good.bin").read_bytes()
    magic = b"CRIASLT1"  # then the token count (u32), the token ids (i32 each), the cache cells
    assert good.startswith(magic)
    count_at, tokens_at = len(magic), len(magic) + 4
    cases = {
        "huge-count.bin": good[:count_at] + (2**32 - 1).to_bytes(4, "little") + good[tokens_at:],
        "bad-token.bin": good[:tokens_at] + (2**31 - 1).to_bytes(4, "little") + good[tokens_at + 4:],
        "cut-cells.bin": good[:-7],
        "short.bin": good[:10],
        "garbage.bin": b"\xff" * 64,
    }
    # The cells start with a 24-byte header, then one Int32 position per token.
    n = int.from_bytes(good[count_at:tokens_at], "little")
    positions_at = tokens_at + 4 * n + 24
    far = (2**31 - 1).to_bytes(4, "little") * n
    backwards = b"".join((n - 1 - i).to_bytes(4, "little") for i in range(n))
    cases["far-positions.bin"] = good[:positions_at] + far + good[positions_at + 4 * n:]
    cases["backward-positions.bin"] = good[:positions_at] + backwards + good[positions_at + 4 * n:]
    for name, data in cases.items():
        (server.slot_dir / name).write_bytes(data)
        r = server.post("/slots/1?action=restore", {"filename": name})
        assert_openai_error(r, 400)
    # A file far larger than any slot could write is refused without being read (a sparse 3 GB
    # file: reading it took the engine and 9 GB of memory).
    with open(server.slot_dir / "huge.bin", "wb") as f:
        f.write(good)
        f.truncate(3 << 30)
    assert_openai_error(server.post("/slots/1?action=restore", {"filename": "huge.bin"}), 400, contains="larger")
    (server.slot_dir / "huge.bin").unlink()
    r = server.post("/slots/1?action=restore", {"filename": "good.bin"})
    assert r.status_code == 200, r.text
    still_same(server, baseline)


def test_slot_file_names_are_plain_and_errors_do_not_show_the_folder(server):
    # 255 bytes at most (a name of 200 emoji passed as 200 characters, then failed to write),
    # no control characters.
    for name in ["\U0001F600" * 200, "a\nb.bin", "tab\there", "x" * 256]:
        assert_openai_error(server.post("/slots/0?action=save", {"filename": name}), 400, contains="filename")
    assert server.post("/slots/0?action=save", {"filename": "\U0001F600" * 60}).status_code == 200  # 240 bytes
    r = server.post("/slots/0?action=restore", {"filename": "never-saved.bin"})
    assert_openai_error(r, 400, contains="never-saved.bin")
    assert str(server.slot_dir) not in r.text
