"""`cria serve -m` with one tiny random-weight model per architecture (llama with Llama 3 RoPE
factors, Mistral-style llama, qwen3 (also with YaRN), gemma2, phi3, granite, olmo2, smollm3; written by
scripts/make-architecture-fixtures.py): the server loads each and its greedy completions are
llama.cpp's recorded tokens. The logit-level comparison is Tests/ModelsTests/ArchitectureFixtureTests.swift."""
import json

import pytest

from conftest import ROOT

FIXTURES = ROOT / "Tests" / "ModelsTests" / "Fixtures" / "Architectures"
MODELS = ["llama3", "mistral", "qwen3", "gemma2", "phi3", "granite", "olmo2", "smollm3", "qwen3-yarn"]


@pytest.mark.parametrize("name", MODELS)
def test_greedy_completions_are_llama_cpps(start_server, name):
    recording = json.loads((FIXTURES / f"{name}.llama-cpp.json").read_text())
    # The recording's context (256): phi3 picks its LongRoPE factors by it.
    s = start_server("-c", str(recording["n_ctx"]), "-np", "1", "-t", "2", "--numerics", "llama.cpp",
                     model=FIXTURES / f"{name}.gguf")
    for p in (p for p in recording["prompts"] if "shift" not in p):  # the shift entry: ModelsTests
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
    assert ("unsupported model architecture 'mamba' (supported: bert, gemma2, gemma3, granite, llama, nomic-bert, olmo2, "
            "phi3, qwen2, qwen3, smollm3)") in result.stdout + result.stderr, result.stdout + result.stderr
