"""Bad input gets a 4xx OpenAI-style error and leaves the server (and other requests) untouched."""
import threading

import pytest
import requests

from conftest import assert_openai_error

PROMPT = "The old lighthouse keeper climbed the spiral stairs every evening, and"


def still_serves(server):
    r = server.post("/completion", {"prompt": "Hello", "n_predict": 1, "temperature": 0})
    assert r.status_code == 200 and r.json()["tokens_predicted"] == 1


JSON_ROUTES = ["/completion", "/completions", "/v1/chat/completions", "/v1/completions", "/tokenize", "/detokenize",
               "/embedding", "/v1/embeddings", "/infill", "/apply-template", "/props", "/slots/0?action=save"]


@pytest.mark.parametrize("path", JSON_ROUTES)
def test_malformed_json(server, path):
    r = requests.post(server.url(path), data=b'{"prompt": "x",', headers={"Content-Type": "application/json"})
    assert_openai_error(r, 400, contains="Invalid JSON")


@pytest.mark.parametrize("path", JSON_ROUTES)
def test_body_must_be_an_object(server, path):
    assert_openai_error(server.post(path, [1, 2]), 400, contains="JSON object")


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


MESSAGES = [{"role": "user", "content": "Hi"}]


@pytest.mark.parametrize("path,body,field", [
    ("/v1/chat/completions", {"messages": "hi"}, "messages"),
    ("/v1/chat/completions", {"messages": MESSAGES, "max_tokens": "5"}, "max_tokens"),
    ("/v1/chat/completions", {"messages": MESSAGES, "logprobs": "yes"}, "logprobs"),
    ("/v1/chat/completions", {"messages": MESSAGES, "response_format": "json"}, "response_format"),
    ("/v1/completions", {"prompt": "x", "logprobs": "yes"}, "logprobs"),
    ("/v1/completions", {"prompt": {"text": "x"}}, "prompt"),
    ("/tokenize", {"content": 5}, "content"),
    ("/detokenize", {"tokens": "abc"}, "tokens"),
    ("/embedding", {"content": 5}, "content"),
    ("/v1/embeddings", {"input": {"a": 1}}, "input"),
    ("/slots/0?action=save", {"filename": 5}, "filename"),
    ("/props", {"system_prompt": "be nice"}, "system_prompt"),
    ("/completion", {"prompt": "x", "system_prompt": {"prompt": 3}}, "prompt"),
])
def test_wrong_types_on_other_routes(server, path, body, field):
    assert_openai_error(server.post(path, body), 400, contains=field)


@pytest.mark.parametrize("body,contains", [
    ({"prompt": "x", "n_predict": -2}, "n_predict"),
    ({"prompt": "x", "n_probs": 100000}, "n_probs"),
    ({"prompt": "x", "id_slot": 9}, "slot"),
    ({"prompt": "x", "top_p": -1}, "top_p"),
    ({"prompt": "x", "mirostat": 3}, "mirostat"),
    ({"prompt": "x", "samplers": ["top_k", "bogus"]}, "bogus"),
    ({"prompt": [2, 99999999]}, "token id"),
    ({"prompt": [2, -1]}, "token id"),
    ({}, "prompt"),
    ({"prompt": "x", "n_probs": -1}, "n_probs"),
    ({"prompt": "x", "n_keep": -2}, "n_keep"),
    ({"prompt": "x", "repeat_last_n": -2}, "repeat_last_n"),
    ({"prompt": "x", "seed": -5}, "seed"),
    ({"prompt": "x", "min_keep": -1}, "min_keep"),
    ({"prompt": "x", "mirostat_tau": -1}, "mirostat_tau"),
    ({"prompt": "x", "repeat_penalty": 0}, "repeat_penalty"),
    ({"prompt": "x", "logit_bias": [[99999999, 1]]}, "logit_bias"),
    ({"prompt": "x", "penalty_prompt": [99999999]}, "penalty_prompt"),
    ({"prompt": "x", "id_slot": -3}, "slot"),
    ({"prompt": "x", "n_predict": 1.5}, "n_predict"),
])
def test_out_of_range_values(server, body, contains):
    assert_openai_error(server.post("/completion", body), 400, contains=contains)


@pytest.mark.parametrize("path,body,contains", [
    ("/v1/chat/completions", {"messages": MESSAGES, "top_logprobs": 30, "logprobs": True}, "top_logprobs"),
    ("/v1/chat/completions", {"messages": MESSAGES, "id_slot": 99}, "slot"),
    ("/v1/chat/completions", {"messages": MESSAGES, "n": 0}, "n must be between"),
    ("/v1/chat/completions", {"messages": MESSAGES, "n": 2, "stream": True}, "n > 1"),
    ("/v1/completions", {"prompt": "x", "logprobs": 30}, "logprobs"),
    ("/v1/completions", {"prompt": "x", "max_tokens": -1}, "max_tokens"),
    ("/detokenize", {"tokens": [99999999]}, "token id"),
    ("/slots/abc?action=erase", None, "slot id"),
    ("/slots/-1?action=erase", None, "slot"),
])
def test_out_of_range_values_on_other_routes(server, path, body, contains):
    assert_openai_error(server.post(path, body), 400, contains=contains)


@pytest.mark.parametrize("path,body", [
    ("/embedding", {"content": "word " * 1500}),
    ("/v1/embeddings", {"input": ["short", "word " * 1500]}),
])
def test_embedding_input_longer_than_context(server, path, body):
    # An embedding cannot drop part of its input, so it is refused (generation truncates instead).
    assert_openai_error(server.post(path, body), 400, kind="exceed_context_size_error", contains="context")


def test_prompt_longer_than_context_without_context_shift(start_server):
    # With context shift (the default) a long prompt is truncated, as the spec's server does;
    # --no-context-shift refuses it, as today's llama-server does.
    s = start_server("-np", "1", "-c", "256", "--no-context-shift")
    r = s.post("/completion", {"prompt": "word " * 600, "n_predict": 1})
    assert_openai_error(r, 400, kind="exceed_context_size_error", contains="context")
    still_serves(s)


def test_oversize_body_is_413(server):
    r = requests.post(server.url("/completion"), data=b'{"prompt": "' + b"a" * (9 << 20) + b'"}',
                      headers={"Content-Type": "application/json"})
    assert_openai_error(r, 413)
    still_serves(server)


# One of each kind of bad request, as (path, JSON body or raw bytes, expected status).
BAD_REQUESTS = [
    ("/completion", b'{"prompt": ', 400),                                    # malformed JSON
    ("/completion", {"prompt": "x", "temperature": "hot"}, 400),             # wrong type
    ("/completion", {"prompt": "x", "n_predict": -5}, 400),                  # out of range
    ("/completion", {"prompt": "x", "n_probs": 100000}, 400),                # n_probs too large
    ("/completion", {"prompt": "x", "id_slot": 17}, 400),                    # unknown slot
    ("/completion", {"prompt": "x", "n_keep": 2**40}, 400),                  # does not fit a 32-bit count
    ("/completion", b'{"prompt": "' + b"a" * (9 << 20) + b'"}', 413),        # oversize body
    ("/v1/chat/completions", {"messages": []}, 400),
    ("/slots/9?action=erase", None, 400),
]


def test_errors_do_not_disturb_a_running_request(server):
    req = {"prompt": PROMPT, "n_predict": 24, "temperature": 0, "return_tokens": True}
    result = {}

    def run():
        result["body"] = server.post("/completion", req).json()

    t = threading.Thread(target=run)
    t.start()
    for path, body, status, *kind in BAD_REQUESTS:
        if isinstance(body, bytes):
            r = requests.post(server.url(path), data=body, headers={"Content-Type": "application/json"}, timeout=60)
        else:
            r = server.post(path, body)
        assert_openai_error(r, status, *kind)
    t.join()
    alone = server.post("/completion", req).json()
    assert result["body"]["tokens"] == alone["tokens"] and result["body"]["tokens_predicted"] == 24


def test_unknown_route_is_404(server):
    assert_openai_error(server.get("/nope"), 404, kind="not_found_error")


def test_infill_without_fim_tokens(server):
    r = server.post("/infill", {"input_prefix": "def f(", "input_suffix": "):", "n_predict": 4})
    assert_openai_error(r, 501, kind="not_supported_error", contains="infill")


def test_chat_without_messages(server):
    assert_openai_error(server.post("/v1/chat/completions", {"model": "x"}), 400, contains="messages")
    assert_openai_error(server.post("/v1/chat/completions", {"messages": [{"content": "hi"}]}), 400, contains="role")
