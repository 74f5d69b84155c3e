"""/completion options the spec documents, each shown to change what the server does."""
import pytest

from conftest import assert_openai_error, sse_events

PROMPT = "The old lighthouse keeper climbed the spiral stairs every evening, and"
GREEDY = {"temperature": 0, "return_tokens": True}
EOS = 1  # Gemma's <eos>
END_OF_TURN = 106


def complete(server, **options):
    r = server.post("/completion", {"prompt": PROMPT, **options})
    assert r.status_code == 200, r.text
    return r.json()


def test_generation_settings_echo_every_option(server):
    tokens = server.post("/tokenize", {"content": "lighthouse"}).json()["tokens"]
    options = {
        "temperature": 0.7, "dynatemp_range": 0.25, "dynatemp_exponent": 1.5, "top_k": 12, "top_p": 0.75, "min_p": 0.1,
        "n_predict": 2, "n_keep": 3, "stop": ["\n\n", "END"], "tfs_z": 0.9, "typical_p": 0.8, "repeat_penalty": 1.3,
        "repeat_last_n": 32, "penalize_nl": False, "presence_penalty": 0.2, "frequency_penalty": 0.3,
        "penalty_prompt": "lighthouse", "mirostat": 2, "mirostat_tau": 4.0, "mirostat_eta": 0.2,
        "grammar": "root ::= [a-z ]+", "seed": 99, "ignore_eos": True, "logit_bias": [[15, -1.5], [16, False]],
        "n_probs": 2, "min_keep": 4, "samplers": ["min_p", "temperature", "top_k"],
    }
    body = complete(server, **options)
    settings = body["generation_settings"]
    assert "prompt" not in settings
    assert settings["n_ctx"] == 1024 and settings["model"] == body["model"]
    assert settings["penalty_prompt_tokens"] == tokens and settings["use_penalty_prompt_tokens"] is True
    assert settings["grammar"] == options["grammar"] and settings["logit_bias"] == [[15, -1.5], [16, False]]
    for key in ("dynatemp_range", "dynatemp_exponent", "top_p", "min_p", "tfs_z", "typical_p", "repeat_penalty",
                "presence_penalty", "frequency_penalty", "mirostat_tau", "mirostat_eta", "temperature"):
        assert settings[key] == pytest.approx(options[key]), key
    for key in ("top_k", "n_predict", "n_keep", "stop", "repeat_last_n", "penalize_nl", "mirostat", "seed", "ignore_eos",
                "n_probs", "min_keep", "samplers"):
        assert settings[key] == options[key], key
    assert settings["stream"] is False


def test_eos_stops_generation_unless_ignore_eos(server):
    eos_first = complete(server, n_predict=5, logit_bias=[[EOS, 100]], **GREEDY)
    assert eos_first["stopped_eos"] and not eos_first["stopped_limit"] and eos_first["content"] == ""
    ignored = complete(server, n_predict=5, logit_bias=[[EOS, 100]], ignore_eos=True, **GREEDY)
    assert ignored["stopped_limit"] and not ignored["stopped_eos"] and ignored["tokens_predicted"] == 5
    assert EOS not in ignored["tokens"]


def test_samplers_list_decides_which_samplers_run(server):
    greedy = complete(server, n_predict=6, **GREEDY)["tokens"]
    hot = {"n_predict": 6, "temperature": 5.0, "top_k": 1, "seed": 7, "return_tokens": True}
    # top_k 1 leaves one candidate whatever the temperature: greedy output.
    assert complete(server, samplers=["top_k", "temperature"], **hot)["tokens"] == greedy
    # Without top_k in the list, temperature 5 samples from the whole vocabulary.
    assert complete(server, samplers=["temperature"], **hot)["tokens"] != greedy


def test_repetition_penalties_and_penalty_prompt(server):
    prompt = "1 1 1 1 1 1 1 1 1 1 1 1"
    base = {"prompt": prompt, "n_predict": 3, **GREEDY}
    plain = server.post("/completion", base).json()["tokens"]
    for penalty in ({"repeat_penalty": 20.0}, {"presence_penalty": 30.0}, {"frequency_penalty": 5.0}):
        assert server.post("/completion", {**base, **penalty}).json()["tokens"][0] != plain[0], penalty
    # penalty_prompt replaces the prompt as the penalty's history: "1" is no longer penalized.
    swapped = server.post("/completion", {**base, "repeat_penalty": 20.0, "penalty_prompt": "a b c"}).json()
    assert swapped["tokens"][0] == plain[0]
    # repeat_last_n 0 disables the penalty.
    assert server.post("/completion", {**base, "repeat_penalty": 20.0, "repeat_last_n": 0}).json()["tokens"] == plain


def test_logit_bias_forms(server):
    first = complete(server, n_predict=1, **GREEDY)["tokens"][0]
    piece = server.post("/detokenize", {"tokens": [first]}).json()["content"]
    by_text = complete(server, n_predict=1, logit_bias=[[piece, False]], **GREEDY)
    assert by_text["tokens"][0] != first
    # The settings list the tokens a string stands for (the spec: "strings converted to tokens").
    assert by_text["generation_settings"]["logit_bias"] == [[first, False]]
    two = server.post("/tokenize", {"content": "Hello, World!"}).json()["tokens"]
    echoed = complete(server, n_predict=1, logit_bias=[["Hello, World!", -2.5], [7, 1]], **GREEDY)
    assert len(two) > 1 and echoed["generation_settings"]["logit_bias"] == [[t, -2.5] for t in two] + [[7, 1.0]]
    forced = server.post("/tokenize", {"content": " banana"}).json()["tokens"][0]
    assert complete(server, n_predict=1, logit_bias=[[forced, 100]], **GREEDY)["tokens"] == [forced]
    assert complete(server, n_predict=1, logit_bias={str(forced): 100}, **GREEDY)["tokens"] == [forced]


def test_logit_bias_false_or_null_means_none(server):
    """The spec's server ignored a logit_bias that was not an array: `false` and null mean no bias,
    on the native and the OpenAI routes."""
    plain = complete(server, n_predict=3, **GREEDY)
    for value in (False, None):
        body = complete(server, n_predict=3, logit_bias=value, **GREEDY)
        assert body["tokens"] == plain["tokens"] and body["generation_settings"]["logit_bias"] == []
        chat = server.post("/v1/chat/completions", {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2,
                                                    "logit_bias": value})
        legacy = server.post("/v1/completions", {"prompt": PROMPT, "max_tokens": 2, "logit_bias": value})
        assert chat.status_code == 200 and legacy.status_code == 200, (chat.text, legacy.text)
    assert server.post("/completion", {"prompt": PROMPT, "logit_bias": True}).status_code == 400


@pytest.mark.parametrize("sampling", [
    {"mirostat": 1, "mirostat_tau": 3.0},
    {"mirostat": 2, "mirostat_eta": 0.5},
    {"dynatemp_range": 0.7, "dynatemp_exponent": 2.0},
    {"tfs_z": 0.5},
    {"typical_p": 0.5},
    {"min_p": 0.3, "min_keep": 3},
])
def test_stochastic_samplers_follow_the_seed(server, sampling):
    req = {"n_predict": 4, "temperature": 1.0, "seed": 4242, "return_tokens": True, **sampling}
    a, b = complete(server, **req), complete(server, **req)
    assert a["tokens"] == b["tokens"] and a["tokens_predicted"] == 4


def test_streamed_probabilities(server):
    events = sse_events(server.post("/completion", {"prompt": PROMPT, "n_predict": 3, "temperature": 0, "n_probs": 2,
                                                    "stream": True}, stream=True))
    tokens = events[:-1]
    assert len(tokens) == 3
    for e in tokens:
        [p] = e["completion_probabilities"]
        assert len(p["probs"]) == 2 and p["probs"][0]["tok_str"] == p["content"]
    assert events[-1]["stop"] is True


def test_n_probs_list_the_top_candidates(server):
    body = complete(server, n_predict=2, temperature=0.8, top_k=5, seed=3, n_probs=5)
    for entry in body["completion_probabilities"]:
        probs = [p["prob"] for p in entry["probs"]]
        assert len(probs) == 5 and probs == sorted(probs, reverse=True) and sum(probs) == pytest.approx(1.0, abs=1e-3)


def test_mixed_prompt_array_gets_one_bos(server):
    hello = server.post("/tokenize", {"content": "Hello"}).json()["tokens"]
    world = server.post("/tokenize", {"content": " world"}).json()["tokens"]
    body = server.post("/completion", {"prompt": ["Hello", 1234, " world"], "n_predict": 1, **GREEDY}).json()
    assert body["tokens_evaluated"] == 1 + len(hello) + 1 + len(world)  # BOS only before the first string
    as_ids = server.post("/completion", {"prompt": [2, *hello, 1234, *world], "n_predict": 1, **GREEDY}).json()
    assert as_ids["tokens"] == body["tokens"]


def test_image_data_is_refused(server):
    r = server.post("/completion", {"prompt": "[img-1] describe", "image_data": [{"data": "AAAA", "id": 1}]})
    assert_openai_error(r, 400, contains="image_data")


def test_context_shift_marks_truncated(start_server):
    s = start_server("-np", "1", "-c", "64")
    body = s.post("/completion", {"prompt": "Count: 1, 2, 3,", "n_predict": 90, "n_keep": 4, "ignore_eos": True,
                                  **GREEDY}).json()
    assert body["truncated"] is True and body["tokens_predicted"] == 90 and body["stopped_limit"]
    assert body["generation_settings"]["n_keep"] == 4
    short = s.post("/completion", {"prompt": "Count: 1, 2, 3,", "n_predict": 4, **GREEDY}).json()
    assert short["truncated"] is False
