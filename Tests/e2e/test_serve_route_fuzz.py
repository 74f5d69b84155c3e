"""Seeded random bodies against every POST route: no 5xx (only 501, for what this server does not
offer), no dropped connection, and afterwards the server gives the same greedy tokens as before.

test_serve_hostile.py checks each known class of bad input by name; this one mixes them at random
(numbers at and past every limit, wrong types, nested containers, broken bytes, bad messages and
grammars) into otherwise valid requests, as a client with a bug would. (Longer runs of the same
generator, 1,500 bodies for each of four seeds with unbounded lengths, gave no 5xx; their only
finding was a finished grammar with end of generation banned generating token 0 without end,
now test_serve_completion.py's test_finished_grammar_with_end_banned_stops_without_more_tokens.)
Generation lengths are held to a few tokens here so that no body asks for an endless generation
(`n_predict` −1 with `ignore_eos` is a legal request that only ends when the client leaves).
"""
import json
import random

import pytest
import requests

ROUTES = ["/completion", "/completions", "/infill", "/embedding", "/v1/embeddings", "/v1/chat/completions",
          "/chat/completions", "/v1/completions", "/apply-template", "/props", "/tokenize", "/detokenize",
          "/slots/0?action=save", "/slots/1?action=restore", "/slots/0?action=erase", "/lora-adapters",
          "/v1/rerank", "/v1/messages/count_tokens", "/v1/messages", "/v1/responses", "/v1/responses/input_tokens"]
BASE = {"prompt": "Hi there", "n_predict": 3, "messages": [{"role": "user", "content": "Hello"}], "max_tokens": 3,
        "content": "hello world", "tokens": [1, 2, 3], "input_prefix": "a", "input_suffix": "b", "input": "hi",
        "temperature": 0.5, "top_k": 5, "top_p": 0.9, "min_p": 0.1, "n_probs": 2, "logit_bias": [[1, -1]],
        "stop": ["x"], "seed": 3, "samplers": ["top_k", "temperature"], "grammar": "root ::= \"a\"",
        "json_schema": {"type": "string"}, "response_format": {"type": "json_object"}, "stream": False,
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
        "tool_choice": "auto", "logprobs": True, "top_logprobs": 2, "n": 1, "id_slot": 0, "cache_prompt": True,
        "filename": "x.bin", "documents": ["a", "b"], "query": "q", "lora": [{"id": 0, "scale": 1}],
        "mirostat": 0, "dry_multiplier": 0.5, "xtc_probability": 0.1, "typical_p": 0.9, "repeat_last_n": 8,
        "penalty_last_n": 8, "dynatemp_range": 0.1, "n_keep": 2, "t_max_predict_ms": 1000,
        "post_sampling_probs": True, "return_tokens": True, "with_pieces": True, "add_special": True,
        "reasoning_format": "deepseek", "chat_template_kwargs": {"enable_thinking": False},
        "encoding_format": "float", "min_keep": 1, "top_n": 1, "parse_special": True, "timings_per_token": True,
        "return_progress": True, "ignore_eos": True, "max_output_tokens": 3, "instructions": "Be brief.",
        "previous_response_id": ""}
WEIRD = [None, True, False, 0, -1, 1, 2**31, -2**31, 2**63, -2**63 - 1, 2**64, 10**400, 1e308, -1e308, 1e-320, 0.5,
         -0.0, "", "x" * 3000, "\ud800", "\u0000", "1e999", "NaN", [], {}, [[]], [None], [1e400], [-5, 2**40],
         {"a": {"b": [1, {"c": None}]}}, [[1, "x"], ["y", 1e9]], "[" * 50, {"type": "array", "items": {"$ref": "#"}}]
LENGTHS = ("n_predict", "max_tokens", "max_completion_tokens", "max_output_tokens")
GREEDY = {"prompt": "The old lighthouse keeper climbed the spiral stairs every evening, and", "n_predict": 8,
          "temperature": 0, "return_tokens": True}


def body_for(rng):
    body = {k: v for k, v in BASE.items() if rng.random() < 0.4}
    for _ in range(rng.randint(1, 6)):
        key = rng.choice(list(BASE))
        r = rng.random()
        if r < 0.55:
            body[key] = rng.choice(WEIRD)
        elif r < 0.7:
            body.pop(key, None)
        elif r < 0.85 and isinstance(body.get(key), list) and body[key]:
            body[key] = [rng.choice(WEIRD) for _ in body[key]]
        else:
            body["messages"] = [{"role": rng.choice(["user", "system", "assistant", "tool", "x", 5]),
                                 "content": rng.choice(WEIRD + ["hi"])} for _ in range(rng.randint(0, 4))]
    # a few tokens at most, whatever else the body says (a missing or huge length is a legal
    # request for a long generation)
    for key in LENGTHS:
        value = body.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value > 4:
            if rng.random() < 0.8 or not (isinstance(value, int) and not isinstance(value, bool)):
                body[key] = rng.randint(0, 4)
    if isinstance(body.get("n"), int) and not isinstance(body["n"], bool) and 2 < body["n"] < 10**6:
        body["n"] = 2
    return body


@pytest.fixture(scope="module")
def fuzz_server(start_server, tmp_path_factory):
    slots = tmp_path_factory.mktemp("fuzz-slots")
    return start_server("-np", "2", "-c", "4096", "--slot-save-path", str(slots))


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_random_bodies_on_every_route_never_5xx(fuzz_server, seed):
    before = fuzz_server.post("/completion", GREEDY)
    assert before.status_code == 200, before.text
    rng = random.Random(seed)
    statuses = {}
    for i in range(400):
        path, body = rng.choice(ROUTES), body_for(rng)
        try:
            data = json.dumps(body).encode("utf-8", "surrogatepass")
        except (ValueError, OverflowError):
            continue
        if rng.random() < 0.1:  # damaged bytes
            broken = bytearray(data)
            for _ in range(rng.randint(1, 4)):
                broken[rng.randrange(len(broken))] = rng.randrange(256)
            data = bytes(broken)
        r = requests.post(fuzz_server.url(path), data=data, headers={"Content-Type": "application/json"}, timeout=60)
        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        assert r.status_code < 500 or r.status_code == 501, (i, path, data[:500], r.status_code, r.text[:300])
        if r.status_code >= 400:
            error = r.json().get("error")
            assert isinstance(error, dict) and error.get("message"), (path, data[:300], r.text[:300])
    print(f"seed {seed}: {statuses}")
    assert statuses.get(200, 0) > 0 and statuses.get(400, 0) > 0, statuses  # both sides were reached
    after = fuzz_server.post("/completion", GREEDY)
    assert after.status_code == 200 and after.json()["tokens"] == before.json()["tokens"]
