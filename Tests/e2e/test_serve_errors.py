"""Bad input gets a 4xx OpenAI-style error and leaves the server (and other requests) untouched."""
import threading

import pytest
import requests

from conftest import assert_openai_error

PROMPT = "The old lighthouse keeper climbed the spiral stairs every evening, and"


def still_serves(server):
    r = server.post("/completion", {"prompt": "Hello", "n_predict": 1, "temperature": 0})
    assert r.status_code == 200 and r.json()["tokens_predicted"] == 1


@pytest.mark.parametrize("path", ["/completion", "/v1/chat/completions", "/v1/completions", "/tokenize"])
def test_malformed_json(server, path):
    r = requests.post(server.url(path), data=b'{"prompt": "x",', headers={"Content-Type": "application/json"})
    assert_openai_error(r, 400, contains="Invalid JSON")


@pytest.mark.parametrize("body,field", [
    ({"prompt": "x", "n_predict": "8"}, "n_predict"),
    ({"prompt": "x", "temperature": "hot"}, "temperature"),
    ({"prompt": "x", "stream": 1}, "stream"),
    ({"prompt": 42}, "prompt"),
    ({"prompt": "x", "stop": [1, 2]}, "stop"),
    ({"prompt": "x", "logit_bias": "no"}, "logit_bias"),
])
def test_wrong_types(server, body, field):
    assert_openai_error(server.post("/completion", body), 400, contains=field)


@pytest.mark.parametrize("body,contains", [
    ({"prompt": "x", "n_predict": -2}, "n_predict"),
    ({"prompt": "x", "n_probs": 100000}, "n_probs"),
    ({"prompt": "x", "id_slot": 9}, "slot"),
    ({"prompt": "x", "top_p": -1}, "top_p"),
    ({"prompt": "x", "mirostat": 3}, "mirostat"),
    ({"prompt": "x", "samplers": ["top_k", "bogus"]}, "bogus"),
    ({"prompt": [2, 99999999]}, "token id"),
    ({}, "prompt"),
])
def test_out_of_range_values(server, body, contains):
    assert_openai_error(server.post("/completion", body), 400, contains=contains)


def test_prompt_longer_than_context(server):
    r = server.post("/completion", {"prompt": "word " * 1500, "n_predict": 1})
    assert_openai_error(r, 400, contains="context")
    still_serves(server)


def test_oversize_body_is_413(server):
    r = requests.post(server.url("/completion"), data=b'{"prompt": "' + b"a" * (9 << 20) + b'"}',
                      headers={"Content-Type": "application/json"})
    assert_openai_error(r, 413)
    still_serves(server)


def test_errors_do_not_disturb_a_running_request(server):
    result = {}

    def run():
        result["body"] = server.post("/completion", {"prompt": PROMPT, "n_predict": 8, "temperature": 0,
                                                     "return_tokens": True}).json()

    t = threading.Thread(target=run)
    t.start()
    for _ in range(5):
        assert server.post("/completion", {"prompt": "x", "n_predict": -5}).status_code == 400
        assert requests.post(server.url("/completion"), data=b"{", timeout=30).status_code == 400
    t.join()
    alone = server.post("/completion", {"prompt": PROMPT, "n_predict": 8, "temperature": 0, "return_tokens": True}).json()
    assert result["body"]["tokens"] == alone["tokens"]


def test_unknown_route_is_404(server):
    assert_openai_error(server.get("/nope"), 404, kind="not_found_error")


def test_infill_without_fim_tokens(server):
    r = server.post("/infill", {"input_prefix": "def f(", "input_suffix": "):", "n_predict": 4})
    assert_openai_error(r, 501, kind="not_supported_error", contains="infill")


def test_chat_without_messages(server):
    assert_openai_error(server.post("/v1/chat/completions", {"model": "x"}), 400, contains="messages")
    assert_openai_error(server.post("/v1/chat/completions", {"messages": [{"content": "hi"}]}), 400, contains="role")
