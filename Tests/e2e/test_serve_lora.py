"""LoRA adapters (--lora, --lora-scaled, /lora-adapters, a request's `lora`), with an adapter
written by scripts/make-lora-adapter.py and llama-server's tokens for it recorded in
Tests/Fixtures/reference/gemma3-270m/lora.json (scripts/record-lora-reference.py)."""
import concurrent.futures
import json
import subprocess
import sys

import pytest

from conftest import MODEL, REFERENCE, ROOT, cria_binary, free_port

SERVER = ("-np", "4", "-c", "4096", "-t", "2", "--numerics", "llama.cpp")
GREEDY = {"n_predict": 48, "temperature": 0, "top_k": 1, "cache_prompt": False, "return_tokens": True,
          "repeat_penalty": 1.0}


def make_adapter(path, variant="default"):
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make-lora-adapter.py"), str(path), "--variant", variant],
                   check=True)
    return path


@pytest.fixture(scope="module")
def adapter(tmp_path_factory):
    return make_adapter(tmp_path_factory.mktemp("lora") / "lora.gguf")


@pytest.fixture(scope="module")
def lora_server(start_server, adapter):
    return start_server("--lora", adapter, *SERVER)


@pytest.fixture(scope="module")
def base_server(start_server):
    return start_server(*SERVER)


def prompts():
    return {c["name"]: c["prompt"] for c in json.loads((REFERENCE / "completions.json").read_text())["completions"]}


def recorded():
    return json.loads((REFERENCE / "lora.json").read_text())["completions"]


def complete(server, prompt, **extra):
    r = server.post("/completion", {**GREEDY, "prompt": prompt, **extra})
    assert r.status_code == 200, r.text
    return r.json()


def agreement(a, b):
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))


# llama.cpp-exact numerics reproduce llama.cpp's float orders for the adapter's f32/f16 products
# too (LlamaFloatProducts): every prompt at both scales gives llama-server's 48 tokens.
def test_greedy_tokens_against_llama_server(lora_server):
    text = prompts()
    report = []
    for case in recorded():
        extra = {} if case["scale"] == 1.0 else {"lora": [{"id": 0, "scale": case["scale"]}]}
        tokens = complete(lora_server, text[case["name"]], **extra)["tokens"]
        report.append((case["name"], case["scale"], agreement(tokens, case["tokens"])))
    print(report)
    assert len(report) == 12
    assert all(n == 48 for _, _, n in report), report


def test_adapter_changes_the_output_and_scale_zero_is_bit_for_bit_no_adapter(lora_server, base_server):
    text = prompts()["english_prose"]
    base = complete(base_server, text, n_probs=3)
    applied = complete(lora_server, text, n_probs=3)
    off = complete(lora_server, text, n_probs=3, lora=[{"id": 0, "scale": 0}])
    assert applied["tokens"] != base["tokens"]
    assert off["tokens"] == base["tokens"]
    assert off["completion_probabilities"] == base["completion_probabilities"]  # the same floats, not just tokens


def test_concurrent_requests_with_different_scales_match_each_alone(lora_server):
    text = prompts()
    cases = [(text["english_prose"], 1.0), (text["list"], 0.5), (text["code"], 0.0), (text["english_prose"], 0.5)]

    def run(case):
        prompt, scale = case
        return complete(lora_server, prompt, n_predict=24, lora=[{"id": 0, "scale": scale}])["tokens"]

    alone = [run(c) for c in cases]
    assert alone[0] != alone[3]  # the scale matters for the same prompt
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(run, cases))
    assert together == alone


def test_lora_adapters_routes(start_server, adapter, tmp_path):
    other = make_adapter(tmp_path / "other.gguf", "other")
    server = start_server("--lora", adapter, "--lora-scaled", f"{other}:0.5", "-np", "2", "-c", "1024", "-t", "2")
    listed = server.get("/lora-adapters").json()
    assert listed == [{"id": 0, "path": str(adapter), "scale": 1.0}, {"id": 1, "path": str(other), "scale": 0.5}]
    prompt = prompts()["english_prose"]
    default = complete(server, prompt, n_predict=16)["tokens"]
    explicit = complete(server, prompt, n_predict=16, lora=[{"id": 0, "scale": 1}, {"id": 1, "scale": 0.5}])["tokens"]
    assert default == explicit
    # POST sets every scale (ids left out: 0) for requests without their own `lora`
    r = server.post("/lora-adapters", [{"id": 1, "scale": 0.25}])
    assert r.status_code == 200 and r.json() == {"success": True}
    assert [a["scale"] for a in server.get("/lora-adapters").json()] == [0.0, 0.25]
    after = complete(server, prompt, n_predict=16)["tokens"]
    assert after == complete(server, prompt, n_predict=16, lora=[{"id": 1, "scale": 0.25}])["tokens"]
    assert after != default


@pytest.mark.parametrize("body, message", [
    ({"id": 0, "scale": 1}, "must be an array"),
    ([{"id": 2, "scale": 1}], "invalid adapter id 2"),
    ([{"id": -1, "scale": 1}], "invalid adapter id -1"),
    ([{"id": 0, "scale": 1e39}], "finite"),
    ([{"id": 0, "scale": "x"}], "scale"),
    ([3], "must be an object"),
])
def test_bad_lora_lists_are_400(lora_server, body, message):
    for r in [lora_server.post("/lora-adapters", body),
              lora_server.post("/completion", {"prompt": "Hi", "n_predict": 1, "lora": body}),
              lora_server.post("/v1/chat/completions", {"messages": [{"role": "user", "content": "Hi"}],
                                                          "max_tokens": 1, "lora": body})]:
        if r.request.path_url != "/lora-adapters" and not isinstance(body, list):
            assert r.status_code == 400  # a non-array `lora` field
            continue
        assert r.status_code == 400, r.text
        assert message in r.json()["error"]["message"], r.text
    assert [a["scale"] for a in lora_server.get("/lora-adapters").json()] == [1.0]


def refused(*args, timeout=120):
    r = subprocess.run([str(cria_binary()), "serve", "-m", str(MODEL), "--port", str(free_port()), "-c", "256",
                        *map(str, args)], capture_output=True, text=True, timeout=timeout)
    assert r.returncode != 0, r.stdout
    return r.stdout + r.stderr


def test_bad_adapters_stop_the_server_naming_the_problem(tmp_path):
    mismatch = make_adapter(tmp_path / "mismatch.gguf", "mismatch")
    out = refused("--lora", mismatch)
    assert "tensor 'blk.1.attn_k.weight'" in out and "[640, 8]" in out and "wrong base model" in out
    out = refused("--lora", MODEL)
    assert "is not a LoRA adapter" in out and "general.type" in out
    assert "no such readable file" in refused("--lora", tmp_path / "missing.gguf")
    (tmp_path / "empty.gguf").write_bytes(b"")
    assert "cannot read it" in refused("--lora", tmp_path / "empty.gguf")
    assert "not a finite number" in refused("--lora-scaled", f"{mismatch}:nan")
    assert "give a scale" in refused("--lora-scaled", mismatch)


def test_init_without_apply_starts_at_scale_zero(start_server, base_server, adapter):
    server = start_server("--lora", adapter, "--lora-init-without-apply", *SERVER)
    assert server.get("/lora-adapters").json() == [{"id": 0, "path": str(adapter), "scale": 0.0}]
    text = prompts()["code"]
    assert complete(server, text, n_predict=16)["tokens"] == complete(base_server, text, n_predict=16)["tokens"]
    chat = {"messages": [{"role": "user", "content": "Name a colour."}], "max_tokens": 12, "temperature": 0}
    off = server.post("/v1/chat/completions", chat).json()["choices"][0]["message"]["content"]
    on = server.post("/v1/chat/completions", {**chat, "lora": [{"id": 0, "scale": 1.5}]}).json()
    assert on["choices"][0]["message"]["content"] != off  # chat honours a request's `lora`
