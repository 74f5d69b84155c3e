"""Today's llama-server samplers: top-n-sigma, XTC and DRY, each shown to change what the model
writes where it must, to leave it alone where it must not, to be range-checked and echoed."""
import time

import pytest

from conftest import assert_openai_error

PROMPT = "The old lighthouse keeper climbed the spiral stairs every evening, and"
# A prompt the model continues by repeating it (greedy: ", 1, 2, 3, 1, 2, 3 …").
LOOP = "1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3"
GREEDY = {"temperature": 0, "return_tokens": True}
# Every other truncation off, so only the sampler under test narrows the distribution.
OPEN = {"top_k": 0, "top_p": 1.0, "min_p": 0.0, "return_tokens": True}


def complete(server, prompt=PROMPT, **options):
    r = server.post("/completion", {"prompt": prompt, **options})
    assert r.status_code == 200, r.text
    return r.json()


def tokens(server, **options):
    return complete(server, **options)["tokens"]


def test_top_n_sigma_small_n_is_greedy_and_zero_is_off(server):
    greedy = tokens(server, n_predict=8, **GREEDY)
    for seed in (1, 2, 3):
        # Hot sampling over the whole vocabulary, but only the top logit is within 1e-4 σ of itself.
        assert tokens(server, n_predict=8, temperature=5.0, seed=seed, top_n_sigma=1e-4, **OPEN) == greedy
    # 0 disables it (llama.cpp builds no sampler for n ≤ 0): temperature 5 then wanders.
    assert tokens(server, n_predict=8, temperature=5.0, seed=1, top_n_sigma=0, **OPEN) != greedy
    # A moderate n narrows without forcing: still a seeded, reproducible draw.
    a = tokens(server, n_predict=8, temperature=1.5, seed=4, top_n_sigma=1.0, **OPEN)
    assert a == tokens(server, n_predict=8, temperature=1.5, seed=4, top_n_sigma=1.0, **OPEN)


def test_xtc_removes_the_top_choices(server):
    greedy = tokens(server, n_predict=8, **GREEDY)
    # Probability 1 and threshold 0: only the least probable survivor of top_k 40 / top_p / min_p
    # is left each step, so the output no longer depends on the seed, and it is not greedy.
    a = tokens(server, n_predict=8, temperature=1.0, seed=1, xtc_probability=1.0, xtc_threshold=0.0, return_tokens=True)
    b = tokens(server, n_predict=8, temperature=1.0, seed=2, xtc_probability=1.0, xtc_threshold=0.0, return_tokens=True)
    assert a == b and a != greedy
    # Off (probability 0, or threshold above 0.5): the same seeded output as without XTC.
    plain = tokens(server, n_predict=8, temperature=1.0, seed=3, return_tokens=True)
    assert tokens(server, n_predict=8, temperature=1.0, seed=3, xtc_probability=0.0, return_tokens=True) == plain
    assert tokens(server, n_predict=8, temperature=1.0, seed=3, xtc_probability=1.0, xtc_threshold=0.6,
                  return_tokens=True) == plain
    # Left out of `samplers`, it is not applied.
    listed = ["top_k", "top_p", "min_p", "temperature"]
    assert tokens(server, n_predict=8, temperature=1.0, seed=3, samplers=listed, return_tokens=True) == plain
    assert tokens(server, n_predict=8, temperature=1.0, seed=3, samplers=listed, xtc_probability=1.0,
                  xtc_threshold=0.0, return_tokens=True) == plain


def test_dry_breaks_a_repetition_loop(server):
    loop = complete(server, LOOP, n_predict=12, **GREEDY)
    assert loop["content"].startswith(", 1, 2, 3"), loop["content"]
    dry = complete(server, LOOP, n_predict=12, dry_multiplier=3.0, **GREEDY)
    assert dry["tokens"] != loop["tokens"]
    assert not dry["content"].startswith(", 1, 2, 3, 1, 2, 3")
    # Multiplier 0 is off; a sequence breaker that ends every repeat ("," comes every other token)
    # leaves nothing long enough to penalise.
    assert complete(server, LOOP, n_predict=12, dry_multiplier=0.0, **GREEDY)["tokens"] == loop["tokens"]
    assert complete(server, LOOP, n_predict=12, dry_multiplier=3.0, dry_sequence_breakers=[","],
                    **GREEDY)["tokens"] == loop["tokens"]
    # A large allowed length tolerates the repeat; a window of 2 tokens cannot see it.
    assert complete(server, LOOP, n_predict=12, dry_multiplier=3.0, dry_allowed_length=200,
                    **GREEDY)["tokens"] == loop["tokens"]
    assert complete(server, LOOP, n_predict=12, dry_multiplier=3.0, dry_penalty_last_n=2,
                    **GREEDY)["tokens"] == loop["tokens"]
    # Left out of `samplers`, DRY does not run.
    assert complete(server, LOOP, n_predict=12, temperature=0.5, seed=1, top_k=1, samplers=["top_k", "temperature"],
                    dry_multiplier=3.0, return_tokens=True)["tokens"] == loop["tokens"]


def test_openai_routes_take_the_samplers(server):
    base = {"model": "m", "max_tokens": 10, "temperature": 0}
    plain = server.post("/v1/completions", {**base, "prompt": LOOP}).json()["choices"][0]["text"]
    dry = server.post("/v1/completions", {**base, "prompt": LOOP, "dry_multiplier": 3.0})
    assert dry.status_code == 200, dry.text
    assert dry.json()["choices"][0]["text"] != plain
    chat = {**base, "messages": [{"role": "user", "content": "Count: " + LOOP}]}
    r = server.post("/v1/chat/completions", {**chat, "top_n_sigma": 1.0, "xtc_probability": 0.5,
                                             "dry_multiplier": 0.5, "dry_sequence_breakers": ["\n"]})
    assert r.status_code == 200, r.text
    for route, body in (("/v1/completions", {**base, "prompt": LOOP}), ("/v1/chat/completions", chat)):
        bad = server.post(route, {**body, "xtc_threshold": 1.5})
        assert_openai_error(bad, 400, "invalid_request_error")
        assert "xtc_threshold" in bad.text


@pytest.mark.parametrize("field,value", [
    ("xtc_probability", 1.5), ("xtc_probability", -0.1), ("xtc_threshold", 2), ("top_n_sigma", "x"),
    ("dry_multiplier", -1), ("dry_allowed_length", -1), ("dry_allowed_length", 2**31), ("dry_penalty_last_n", -2),
    ("dry_penalty_last_n", 2**40), ("dry_sequence_breakers", []), ("dry_sequence_breakers", "\n"),
    ("dry_sequence_breakers", [1]), ("dry_sequence_breakers", ["x"] * 100_000),
])
def test_out_of_range_values_are_400(server, field, value):
    r = server.post("/completion", {"prompt": "x", "n_predict": 1, field: value})
    assert r.status_code == 400, r.text
    assert field in r.json()["error"]["message"]


def test_hostile_values_stay_bounded(server):
    # A window far beyond the context is clamped to it; long breakers are cut to 40 bytes.
    started = time.monotonic()
    r = complete(server, n_predict=4, dry_multiplier=1.0, dry_penalty_last_n=2**31 - 1,
                 dry_sequence_breakers=["ab" * 5_000] * 64, samplers=["dry"] * 1000 + ["temperature"])
    assert time.monotonic() - started < 30
    assert r["generation_settings"]["dry_penalty_last_n"] == 2**31 - 1
    assert r["tokens_predicted"] == 4


def test_generation_settings_echo_the_new_options(server):
    options = {"top_n_sigma": 1.5, "xtc_probability": 0.25, "xtc_threshold": 0.2, "dry_multiplier": 0.8,
               "dry_base": 2.0, "dry_allowed_length": 3, "dry_penalty_last_n": 64,
               "dry_sequence_breakers": ["\n", "###"],
               "samplers": ["penalties", "dry", "top_n_sigma", "top_k", "typ_p", "top_p", "min_p", "xtc", "temperature"]}
    settings = complete(server, n_predict=2, **options)["generation_settings"]
    for key, value in options.items():
        assert settings[key] == (pytest.approx(value) if isinstance(value, float) else value), key
    # `samplers` as one string of letters, as today's llama-server.
    assert complete(server, n_predict=1, samplers="dkxt")["generation_settings"]["samplers"] == \
        ["dry", "top_k", "xtc", "temperature"]
    # llama-server replaces a base below 1 by the default.
    assert complete(server, n_predict=1, dry_base=0.5)["generation_settings"]["dry_base"] == 1.75
    defaults = server.get("/props").json()["default_generation_settings"]
    for key, value in {"top_n_sigma": -1.0, "xtc_probability": 0.0, "xtc_threshold": 0.1, "dry_multiplier": 0.0,
                       "dry_base": 1.75, "dry_allowed_length": 2, "dry_penalty_last_n": -1,
                       "dry_sequence_breakers": ["\n", ":", "\"", "*"]}.items():
        assert defaults[key] == (pytest.approx(value) if isinstance(value, float) else value), key
        assert defaults["params"][key] == defaults[key], key


def test_server_defaults_from_the_command_line(start_server):
    s = start_server("-np", "1", "-c", "512", "-t", "2", "--temp", "0", "--dry-multiplier", "3",
                     "--dry-sequence-breaker", "\n", "--xtc-threshold", "0.3", "--top-nsigma", "2")
    settings = s.get("/props").json()["default_generation_settings"]
    assert settings["dry_multiplier"] == 3 and settings["dry_sequence_breakers"] == ["\n"]
    assert settings["xtc_threshold"] == pytest.approx(0.3) and settings["top_n_sigma"] == 2
    looped = complete(s, LOOP, n_predict=12, dry_multiplier=0, return_tokens=True)
    assert complete(s, LOOP, n_predict=12, return_tokens=True)["tokens"] != looped["tokens"]
