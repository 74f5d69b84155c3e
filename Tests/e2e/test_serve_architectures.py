"""`cria serve -m` with one tiny random-weight model per architecture (llama with Llama 3 RoPE
factors, Mistral-style llama, qwen3 (also with YaRN), gemma2, phi3, granite, olmo2, smollm3, and the
mixture-of-experts qwen3moe, qwen2moe, Mixtral-style llama and gpt-oss (MXFP4 experts, attention sinks); written by
scripts/make-architecture-fixtures.py): the server loads each and its greedy completions are
llama.cpp's recorded tokens. The logit-level comparison is Tests/ModelsTests/ArchitectureFixtureTests.swift."""
import json

import pytest

from conftest import ROOT

FIXTURES = ROOT / "Tests" / "ModelsTests" / "Fixtures" / "Architectures"
# Sliding-window models: the server cuts the 70-token prompt as llama-server does (66 rows, then
# the last 4 as one step, its window checkpoint), where the recording fed it as one batch; those
# 4 rows then attend in the one-row order instead of llama.cpp's tiled one. gemma2's tokens
# survive that rounding difference; gpt-oss's random model parts after 15 tokens, so only its
# prompts shorter than one attention tile (64 rows) are compared here (ArchitectureFixtureTests
# compares all of them, fed as recorded).
ONE_TILE_ONLY = {"gpt-oss"}
MODELS = ["llama3", "mistral", "qwen3", "gemma2", "phi3", "granite", "olmo2", "smollm3", "qwen3-yarn", "qwen3moe", "qwen2moe", "mixtral",
          "gpt-oss"]


@pytest.mark.parametrize("name", MODELS)
def test_greedy_completions_are_llama_cpps(start_server, name):
    recording = json.loads((FIXTURES / f"{name}.llama-cpp.json").read_text())
    # The recording's context (256): phi3 picks its LongRoPE factors by it.
    s = start_server("-c", str(recording["n_ctx"]), "-np", "1", "-t", "2", "--numerics", "llama.cpp",
                     model=FIXTURES / f"{name}.gguf")
    for p in (p for p in recording["prompts"] if "shift" not in p):  # the shift entry: ModelsTests
        if name in ONE_TILE_ONLY and len(p["prompt"]) >= 64:
            continue
        body = {"prompt": p["prompt"], "n_predict": len(p["generated"]), "temperature": 0,
                "return_tokens": True, "cache_prompt": False,
                "repeat_penalty": 1.0}  # the recording is plain argmax (the default penalty is 1.1)
        # The recording went on past </s> (id 2); the server stops there without returning it.
        expected = p["generated"][:p["generated"].index(2)] if 2 in p["generated"] else p["generated"]
        r = s.post("/completion", body)
        assert r.status_code == 200, r.text
        assert r.json()["tokens"] == expected, (name, len(p["prompt"]))
    s.stop()


def test_unknown_architecture_is_refused_with_the_supported_list(cria, tmp_path):
    # qwen3.gguf with every "qwen3" (the architecture and its key prefix) renamed to "mamba"
    path = tmp_path / "mamba.gguf"
    path.write_bytes((FIXTURES / "qwen3.gguf").read_bytes().replace(b"qwen3", b"mamba"))
    result = cria("serve", "-m", path, check=False, timeout=60)
    assert result.returncode != 0
    assert ("unsupported model architecture 'mamba' (supported: bert, gemma2, gemma3, gpt-oss, granite, llama, nomic-bert, olmo2, "
            "phi3, qwen2, qwen2moe, qwen3, qwen3moe, smollm3)") in result.stdout + result.stderr, result.stdout + result.stderr


def test_mixture_of_experts_model_is_named_with_its_experts_at_startup(start_server):
    # qwen3moe: 8 experts, 2 per token; the default invariant numerics give llama.cpp's tokens on
    # prompts under 64 rows too (ArchitectureFixtureTests), and the startup log says what was loaded.
    recording = json.loads((FIXTURES / "qwen3moe.llama-cpp.json").read_text())
    s = start_server("-c", "256", "-np", "2", "-t", "2", model=FIXTURES / "qwen3moe.gguf")
    loaded = [json.loads(line) for line in s.output().splitlines() if '"model loaded"' in line]
    assert len(loaded) == 1, s.output()
    entry = loaded[0]
    assert entry["architecture"] == "qwen3moe"
    assert (entry["n_expert"], entry["n_expert_used"]) == ("8", "2")
    # 4 layers × 3 expert tensors × 8 experts × 32 × 64, of which 6 experts' share is inactive
    assert int(entry["n_params"]) - int(entry["n_params_active"]) == 4 * 3 * 6 * 32 * 64
    p = recording["prompts"][1]
    r = s.post("/completion", {"prompt": p["prompt"], "n_predict": 16, "temperature": 0, "return_tokens": True,
                               "cache_prompt": False, "repeat_penalty": 1.0})
    assert r.status_code == 200, r.text
    expected = p["generated"][:16]
    expected = expected[:expected.index(2)] if 2 in expected else expected
    assert r.json()["tokens"] == expected
    s.stop()
