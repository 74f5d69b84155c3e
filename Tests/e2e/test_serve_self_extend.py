"""Self-extend (--grp-attn-n/--grp-attn-w): a slot whose positions are regrouped during the prompt
and during decoding keeps generating, deterministically; bad values are refused at startup.
The bookkeeping itself is checked step by step in Tests/ServingTests/SelfExtendTests.swift."""
import pytest

FILLER = ("The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again. " * 40)


def test_self_extend_regroups_positions_and_keeps_generating(start_server):
    s = start_server("-c", "2048", "-np", "1", "-t", "2", "--grp-attn-n", "4", "--grp-attn-w", "128")
    prompt = "The pass key is 71432. Remember it. " + FILLER + " What is the pass key? The pass key is"
    n_prompt = len(s.post("/tokenize", {"content": prompt}).json()["tokens"])
    assert n_prompt > 4 * 128  # several windows regrouped while the prompt is read
    req = {"prompt": prompt, "n_predict": 160, "temperature": 0, "ignore_eos": True, "cache_prompt": True,
           "return_tokens": True}
    first = s.post("/completion", req).json()
    # 160 more tokens cross the window again while decoding.
    assert first["tokens_predicted"] == 160 and len(first["tokens"]) == 160
    assert first["tokens_evaluated"] in (n_prompt, n_prompt + 1)  # with BOS
    again = s.post("/completion", req).json()
    # A self-extend slot does not reuse its cache (positions were rearranged): all of the prompt
    # runs again, and gives the same tokens.
    assert again["tokens_cached"] == 0 and again["tokens_evaluated"] == first["tokens_evaluated"]
    assert again["tokens"] == first["tokens"]
    # With 4 old tokens per position the pass key near the start is still read back (greedy).
    short = s.post("/completion", {"prompt": prompt, "n_predict": 6, "temperature": 0}).json()
    assert "71432" in short["content"], short["content"]
    assert s.get("/health").status_code == 200


@pytest.mark.parametrize("args, message", [
    (["--grp-attn-n", "0"], "--grp-attn-n must be at least 1"),
    (["--grp-attn-n", "3", "--grp-attn-w", "100"], "must be a positive multiple of --grp-attn-n 3"),
    (["--grp-attn-n", "4", "--grp-attn-w", "2"], "must be a positive multiple of --grp-attn-n 4"),
])
def test_bad_self_extend_values_are_refused(cria, model_path, args, message):
    result = cria("serve", "-m", model_path, *args, check=False, timeout=60)
    assert result.returncode != 0 and message in result.stderr, result.stderr
