"""POST /completion over HTTP: result fields, streaming, stop strings, grammar, caching, slots."""
import json

import pytest
import requests

from conftest import REFERENCE, assert_openai_error, sse_events

PROMPT = "The old lighthouse keeper climbed the spiral stairs every evening, and"
GREEDY = {"temperature": 0, "n_predict": 8, "return_tokens": True}


def reference_prompts():
    return json.loads((REFERENCE / "completions.json").read_text())["completions"]


def test_completion_result_fields(server):
    r = server.post("/completion", {"prompt": PROMPT, **GREEDY})
    assert r.status_code == 200, r.text
    body = r.json()
    for key in ("content", "id_slot", "model", "tokens_predicted", "tokens_evaluated", "generation_settings",
                "prompt", "truncated", "stopped_eos", "stopped_word", "stopped_limit", "stopping_word",
                "tokens_cached", "timings"):
        assert key in body, key
    assert body["stop"] is True
    assert body["stopped_limit"] and not body["stopped_eos"] and not body["stopped_word"]
    assert body["tokens_predicted"] == 8
    assert body["tokens_evaluated"] == 13  # BOS + 12 tokens, as llama-server recorded
    assert body["prompt"] == PROMPT
    assert len(body["tokens"]) == 8 and body["content"]
    settings = body["generation_settings"]
    assert settings["n_ctx"] == 1024 and settings["n_predict"] == 8 and settings["temperature"] == 0
    timings = body["timings"]
    assert timings["prompt_n"] == 13 and timings["predicted_n"] == 8 and timings["predicted_per_second"] > 0


def test_tokenized_prompt_matches_reference(server):
    for case in reference_prompts():
        ids = [t["id"] for t in case["prompt_tokens_with_bos"]]
        r = server.post("/tokenize", {"content": case["prompt"]})
        assert r.json()["tokens"] == ids[1:], case["name"]  # /tokenize never adds BOS


@pytest.fixture(scope="module")
def llama_numerics_server(start_server):
    """The shared server's shape, with llama.cpp's batch-dependent numerics."""
    return start_server("-np", "4", "-c", "4096", "-t", "2", "--numerics", "llama.cpp")


def test_greedy_matches_llama_server_recording(llama_numerics_server):
    """All 48 greedy tokens of each recorded llama-server continuation, with the recording's own
    request (llama.cpp's numerics reproduced bit for bit, prompt cut where llama-server cuts it),
    sent one at a time and then all at once: concurrency changes nothing."""
    import concurrent.futures
    server = llama_numerics_server
    data = json.loads((REFERENCE / "completions.json").read_text())
    template = data["request_template"]

    def run(case):
        # the spec's default repeat_penalty is 1.1; the recording server's was 1.0 (in its settings)
        penalty = case["generation_settings"]["repeat_penalty"]
        r = server.post("/completion", {**template, "prompt": case["prompt"], "repeat_penalty": penalty})
        assert r.status_code == 200, r.text
        return r.json()["tokens"]  # return_tokens is set in the recorded request

    for case in data["completions"]:
        assert run(case) == case["tokens"], case["name"]
    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(run, data["completions"]))
    for case, tokens in zip(data["completions"], results):
        assert tokens == case["tokens"], case["name"] + " (concurrent)"


def test_greedy_is_deterministic_and_matches_stream(server):
    a = server.post("/completion", {"prompt": PROMPT, **GREEDY}).json()
    b = server.post("/completion", {"prompt": PROMPT, **GREEDY}).json()
    assert a["tokens"] == b["tokens"] and a["content"] == b["content"]
    r = server.post("/completion", {"prompt": PROMPT, **GREEDY, "stream": True}, stream=True)
    assert r.headers["content-type"].startswith("text/event-stream")
    events = sse_events(r)
    assert all(not e["stop"] for e in events[:-1]) and events[-1]["stop"] is True
    streamed = "".join(e["content"] for e in events)
    assert streamed == a["content"]
    assert [t for e in events[:-1] for t in e["tokens"]] == a["tokens"]
    assert events[-1]["tokens_predicted"] == 8
    # As today's llama-server: every streamed piece names its token even without return_tokens,
    # and `tokens` is always in the result, empty unless asked for (and in a stream's last event).
    plain = {k: v for k, v in GREEDY.items() if k != "return_tokens"}
    events = sse_events(server.post("/completion", {"prompt": PROMPT, **plain, "stream": True}, stream=True))
    assert [t for e in events[:-1] for t in e["tokens"]] == a["tokens"] and events[-1]["tokens"] == []
    assert server.post("/completion", {"prompt": PROMPT, **plain}).json()["tokens"] == []


def test_token_array_prompt_equals_text_prompt(server):
    ids = server.post("/tokenize", {"content": PROMPT}).json()["tokens"]
    text = server.post("/completion", {"prompt": PROMPT, **GREEDY}).json()
    tokens = server.post("/completion", {"prompt": [2] + ids, **GREEDY}).json()
    assert tokens["tokens"] == text["tokens"]


def test_n_predict_zero_generates_nothing(server):
    body = server.post("/completion", {"prompt": PROMPT, "n_predict": 0}).json()
    assert body["content"] == "" and body["tokens_predicted"] == 0 and body["stopped_limit"]


def test_stop_string_ends_generation_and_is_not_returned(server):
    full = server.post("/completion", {"prompt": PROMPT, **GREEDY, "n_predict": 12}).json()["content"]
    word = full.split()[2]  # a word from the middle of the greedy continuation
    body = server.post("/completion", {"prompt": PROMPT, **GREEDY, "n_predict": 12, "stop": [word]}).json()
    assert body["stopped_word"] and body["stopping_word"] == word
    assert word not in body["content"]
    assert full.startswith(body["content"])
    events = sse_events(server.post("/completion", {"prompt": PROMPT, **GREEDY, "n_predict": 12, "stop": [word],
                                                    "stream": True}, stream=True))
    assert "".join(e["content"] for e in events) == body["content"]  # held-back partial matches never leak


def test_n_probs_lists_candidates(server):
    body = server.post("/completion", {"prompt": PROMPT, "temperature": 0, "n_predict": 3, "n_probs": 3}).json()
    probs = body["completion_probabilities"]
    assert len(probs) == 3
    for entry in probs:
        assert len(entry["probs"]) <= 3 and entry["probs"][0]["tok_str"] == entry["content"]
        assert all(0 <= p["prob"] <= 1 for p in entry["probs"])


def test_seeded_sampling_is_reproducible(server):
    req = {"prompt": PROMPT, "n_predict": 8, "temperature": 1.0, "seed": 1234, "return_tokens": True}
    a = server.post("/completion", req).json()
    b = server.post("/completion", req).json()
    assert a["tokens"] == b["tokens"] and a["generation_settings"]["seed"] == 1234


def test_random_seed_reported_repeats_the_run(server):
    # A random seed (-1) is reported in generation_settings; sending that number back must be
    # accepted (llama-server's 32-bit range, below 4294967295 which means random) and repeat the run.
    req = {"prompt": PROMPT, "n_predict": 12, "temperature": 1.5, "return_tokens": True}
    first = server.post("/completion", {**req, "seed": -1}).json()
    seed = first["generation_settings"]["seed"]
    assert 0 <= seed < 4294967295
    again = server.post("/completion", {**req, "seed": seed})
    assert again.status_code == 200, again.text
    assert again.json()["tokens"] == first["tokens"] and again.json()["generation_settings"]["seed"] == seed


def test_logit_bias_false_bans_token(server):
    first = server.post("/completion", {"prompt": PROMPT, **GREEDY, "n_predict": 1}).json()["tokens"][0]
    body = server.post("/completion", {"prompt": PROMPT, **GREEDY, "n_predict": 1, "logit_bias": [[first, False]]}).json()
    assert body["tokens"][0] != first


def test_grammar_constrains_output(server):
    body = server.post("/completion", {"prompt": "Answer yes or no:", "temperature": 0, "n_predict": 8,
                                       "grammar": 'root ::= ("yes" | "no") "."'}).json()
    assert body["content"] in ("yes.", "no.")


def test_finished_grammar_with_end_banned_stops_without_more_tokens(server):
    # The grammar is done after "a" and its only way on, end of generation, is banned by
    # ignore_eos: nothing may follow, so the answer is "a", ended as at EOS, not filler tokens up
    # to n_predict (llama-server answers a 500 here). Greedy and sampled, plain and streamed.
    for extra in ({"temperature": 0}, {"temperature": 0.8, "seed": 4}):
        request = {"prompt": "Say a:", "grammar": 'root ::= "a"', "n_predict": 20, "ignore_eos": True, **extra}
        body = server.post("/completion", request).json()
        assert body["content"] == "a" and body["tokens_predicted"] == 1, (extra, body)
        assert body["stop_type"] == "eos" and body["stopped_eos"] is True, (extra, body)
        events = sse_events(server.post("/completion", {**request, "stream": True}, stream=True))
        assert "".join(e.get("content", "") for e in events) == "a", (extra, events)
        assert events[-1]["stop"] is True and events[-1]["stop_type"] == "eos", (extra, events[-1])


def test_grammar_cut_off_by_logit_bias_stops_as_at_a_limit(server):
    # After "a" the grammar wants "b", which the logit bias bans (the "b" token and the test model's
    # byte token for it, and "ab" so that "a" comes first): nothing may follow and the grammar is
    # unfinished, so the generation ends as at a limit with "a".
    byte_b = 336
    assert server.post("/detokenize", {"tokens": [byte_b]}).json()["content"] == "b"
    request = {"prompt": "Say ab:", "grammar": 'root ::= "a" "b"', "n_predict": 20, "temperature": 0,
               "logit_bias": [["b", False], ["ab", False], [byte_b, False]]}
    body = server.post("/completion", request).json()
    assert body["content"] == "a" and body["tokens_predicted"] == 1, body
    assert body["stop_type"] == "limit" and body["stopped_limit"] is True and body["stopped_eos"] is False, body


def test_json_schema_constrains_output(server):
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    body = server.post("/completion", {"prompt": "A JSON object:", "temperature": 0, "n_predict": 16,
                                       "json_schema": schema}).json()
    assert body["content"].startswith('{')
    if body["stopped_eos"]:
        assert isinstance(json.loads(body["content"])["n"], int)


def test_bad_grammar_is_400(server):
    r = server.post("/completion", {"prompt": "x", "grammar": "root ::= (", "n_predict": 1})
    assert_openai_error(r, 400, contains="Failed to parse grammar")


def test_cache_prompt_reuses_prefix(server):
    req = {"prompt": PROMPT, **GREEDY, "cache_prompt": True, "id_slot": 2}
    first = server.post("/completion", req).json()
    second = server.post("/completion", req).json()
    assert first["id_slot"] == 2 and second["id_slot"] == 2
    assert second["tokens_cached"] == 12  # every prompt token but the last comes from the cache
    assert second["timings"]["prompt_n"] == 1
    assert second["tokens"] == first["tokens"]


def test_system_prompt_is_prepended(start_server, tmp_path):
    spf = tmp_path / "system.json"
    spf.write_text(json.dumps({"prompt": "You are a lighthouse.", "anti_prompt": "User:", "assistant_name": "Keeper:"}))
    s = start_server("-np", "1", "-c", "512", "-spf", spf)
    props = s.get("/props").json()
    assert props["system_prompt"] == "You are a lighthouse."
    assert props["user_name"] == "User:" and props["assistant_name"] == "Keeper:"
    system_tokens = len(s.post("/tokenize", {"content": "You are a lighthouse."}).json()["tokens"]) + 1
    body = s.post("/completion", {"prompt": " Hello", "n_predict": 1}).json()
    prompt_tokens = len(s.post("/tokenize", {"content": " Hello"}).json()["tokens"])
    assert body["tokens_evaluated"] == system_tokens + prompt_tokens  # BOS only once, before the system prompt
    s.post("/completion", {"prompt": "x", "n_predict": 0, "system_prompt": {"prompt": "Other.", "anti_prompt": "",
                                                                           "assistant_name": ""}})
    assert s.get("/props").json()["system_prompt"] == "Other."


def test_response_fields_cut_the_result_down(server):
    # Today's llama-server option: named fields only, a slash path moved to the top under its
    # whole name, a path naming nothing left out without an error.
    fields = ["content", "generation_settings/n_predict", "timings/predicted_n", "no/such", "tokens_predicted"]
    full = server.post("/completion", {"prompt": PROMPT, **GREEDY}).json()
    cut = server.post("/completion", {"prompt": PROMPT, **GREEDY, "response_fields": fields}).json()
    assert cut == {"content": full["content"], "generation_settings/n_predict": 8, "timings/predicted_n": 8,
                   "tokens_predicted": 8}
    events = sse_events(server.post("/completion", {"prompt": PROMPT, **GREEDY, "stream": True,
                                                    "response_fields": ["stop", "tokens_predicted"]}, stream=True))
    assert events[-1] == {"stop": True, "tokens_predicted": 8} and all("content" in e for e in events[:-1])
    several = server.post("/completion", {"prompt": [[2, 818, 5279], [2, 1018]], **GREEDY, "response_fields": ["tokens_predicted"]}).json()
    assert several == [{"tokens_predicted": 8}, {"tokens_predicted": 8}]
    for bad in ("content", ["content", 3], {"a": 1}):
        r = server.post("/completion", {"prompt": PROMPT, **GREEDY, "response_fields": bad})
        assert r.status_code == 400 and "response_fields" in r.json()["error"]["message"], r.text

