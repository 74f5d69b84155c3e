"""The info and management routes: health, props, slots, tokenize, embeddings, metrics, keys, files."""
import math
import subprocess
import time

import pytest
import requests

from conftest import MODEL, CriaServer, assert_openai_error, cria_binary


def test_health_reports_slots(server):
    r = server.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "slots_idle": 4, "slots_processing": 0}
    slots = server.get("/health?include_slots").json()["slots"]
    assert [s["id"] for s in slots] == [0, 1, 2, 3]


def test_health_while_loading(model_path):
    s = CriaServer(["-np", "1", "-c", "256", "--no-mmap"], wait_ready=False)
    try:
        seen = []
        deadline = time.time() + 300
        while time.time() < deadline:
            try:
                r = requests.get(s.url("/health"), timeout=2)
            except requests.ConnectionError:
                time.sleep(0.005)
                continue
            seen.append((r.status_code, r.json()["status"]))
            if r.status_code == 200:
                break
            assert_openai_error(requests.post(s.url("/completion"), json={"prompt": "x"}), 503, kind="unavailable_error")
        assert seen[0] == (503, "loading model") and seen[-1] == (200, "ok")
    finally:
        s.stop()


def test_tokenize_detokenize_round_trip(server):
    tokens = server.post("/tokenize", {"content": "Hello, world! 🦙"}).json()["tokens"]
    assert tokens and tokens[0] != 2
    assert server.post("/detokenize", {"tokens": tokens}).json()["content"] == "Hello, world! 🦙"
    assert_openai_error(server.post("/detokenize", {"tokens": [-1]}), 400)


def test_props(server):
    props = server.get("/props").json()
    assert props["total_slots"] == 4
    assert props["default_generation_settings"]["n_ctx"] == 1024
    assert props["default_generation_settings"]["temperature"] == pytest.approx(0.8)
    assert props["assistant_name"] == "" and props["user_name"] == ""


def test_slots_show_last_request(server):
    server.post("/completion", {"prompt": "Slots test", "n_predict": 2, "id_slot": 3, "temperature": 0})
    slot = server.get("/slots").json()[3]
    assert slot["id"] == 3 and slot["state"] == 0 and slot["prompt"] == "Slots test"
    assert slot["n_ctx"] == 1024 and slot["next_token"]["n_decoded"] == 2 and slot["temperature"] == 0


def test_slot_save_restore_erase(server):
    prompt = "The old lighthouse keeper climbed the spiral stairs"
    req = {"prompt": prompt, "n_predict": 4, "temperature": 0, "id_slot": 1, "cache_prompt": True, "return_tokens": True}
    first = server.post("/completion", req).json()
    saved = server.post("/slots/1?action=save", {"filename": "one.bin"}).json()
    assert saved["id_slot"] == 1 and saved["n_saved"] > 0 and saved["n_written"] > 0
    assert (server.slot_dir / "one.bin").stat().st_size == saved["n_written"]
    erased = server.post("/slots/1?action=erase").json()
    assert erased == {"id_slot": 1, "n_erased": saved["n_saved"]}
    restored = server.post("/slots/1?action=restore", {"filename": "one.bin"}).json()
    assert restored["n_restored"] == saved["n_saved"]
    again = server.post("/completion", req).json()
    assert again["tokens_cached"] > 0 and again["tokens"] == first["tokens"]
    assert_openai_error(server.post("/slots/1?action=restore", {"filename": "../etc"}), 400)
    assert_openai_error(server.post("/slots/1?action=restore", {"filename": "missing.bin"}), 400)
    assert_openai_error(server.post("/slots/1?action=fly"), 400)
    assert_openai_error(server.post("/slots/7?action=erase"), 400)


def test_embedding_native_and_openai(server):
    native = server.post("/embedding", {"content": "Hello world"}).json()["embedding"]
    assert len(native) == 640 and all(math.isfinite(x) for x in native)
    data = server.post("/v1/embeddings", {"input": ["Hello world", "Goodbye"], "model": "x"}).json()
    assert data["object"] == "list" and [d["index"] for d in data["data"]] == [0, 1]
    v = data["data"][0]["embedding"]
    assert sum(x * x for x in v) == pytest.approx(1.0, rel=1e-4)
    norm = math.sqrt(sum(x * x for x in native))
    assert v == pytest.approx([x / norm for x in native], rel=1e-4, abs=1e-6)
    assert data["data"][1]["embedding"] != v


def test_embedding_pooling_none_and_disabled(start_server):
    s = start_server("-np", "1", "-c", "256", "--embedding", "--pooling", "none")
    per_token = s.post("/embedding", {"content": "Hello world"}).json()["embedding"]
    n = len(s.post("/tokenize", {"content": "Hello world"}).json()["tokens"]) + 1
    assert len(per_token) == n and len(per_token[0]) == 640
    assert_openai_error(s.post("/v1/embeddings", {"input": "x"}), 400)


def test_disabled_endpoints_are_501(start_server):
    s = start_server("-np", "1", "-c", "256", "--slots-endpoint-disable")
    assert_openai_error(s.get("/metrics"), 501, kind="not_supported_error", contains="metrics")
    assert_openai_error(s.get("/slots"), 501, kind="not_supported_error")
    assert_openai_error(s.post("/embedding", {"content": "x"}), 501, kind="not_supported_error")
    assert_openai_error(s.post("/slots/0?action=erase"), 501, kind="not_supported_error")
    assert "slots" not in s.get("/health?include_slots").json()


def test_metrics(server):
    server.post("/completion", {"prompt": "Metrics", "n_predict": 2})
    r = server.get("/metrics")
    assert r.headers["content-type"].startswith("text/plain")
    values = {line.split()[0]: float(line.split()[1]) for line in r.text.splitlines() if not line.startswith("#")}
    for name in ("prompt_tokens_total", "tokens_predicted_total", "prompt_tokens_seconds", "predicted_tokens_seconds",
                 "kv_cache_usage_ratio", "kv_cache_tokens", "requests_processing", "requests_deferred"):
        assert f"llamacpp:{name}" in values
    assert values["llamacpp:tokens_predicted_total"] >= 2 and values["llamacpp:prompt_tokens_total"] >= 2


def test_api_keys_and_static_files(start_server, tmp_path):
    (tmp_path / "index.html").write_text("<h1>cria</h1>")
    keyfile = tmp_path / "keys.txt"
    keyfile.write_text("file-key\n\n")
    s = start_server("-np", "1", "-c", "256", "--api-key", "k1", "--api-key", "k2", "--api-key-file", keyfile,
                     "--path", tmp_path)
    assert s.get("/health").status_code == 200  # health stays open
    assert s.get("/").text == "<h1>cria</h1>"
    assert_openai_error(s.post("/tokenize", {"content": "x"}), 401, kind="authentication_error")
    assert_openai_error(s.post("/tokenize", {"content": "x"}, headers={"Authorization": "Bearer nope"}), 401,
                        kind="authentication_error")
    for key in ("k1", "k2", "file-key"):
        assert s.post("/tokenize", {"content": "x"}, headers={"Authorization": f"Bearer {key}"}).status_code == 200


def test_flags(tmp_path):
    binary = str(cria_binary())
    bad = subprocess.run([binary, "serve", "-m", str(MODEL), "--frobnicate"], capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "--frobnicate" in bad.stderr and "Usage" in bad.stderr
    helptext = subprocess.run([binary, "serve", "--help"], capture_output=True, text=True, timeout=60).stdout
    for flag in ("-np", "--ctx-size", "-cb", "-tb", "-ub", "--threads-http", "-spf", "--slots-endpoint-disable",
                 "--metrics", "--slot-save-path", "--api-key-file", "--log-format", "-ngl", "--numa", "--mlock"):
        assert flag in helptext, flag


def test_gpu_flags_warn_and_serve(start_server):
    s = start_server("-np", "1", "-c", "256", "-ngl", "99", "-mg", "0", "-ts", "3,2", "-cb", "-tb", "2", "-ub", "256",
                     "-b", "512", "-to", "30", "--threads-http", "2", "--numa", "--mlock", "--log-format", "text",
                     "--log-disable", "-a", "llama-alias")
    assert s.get("/v1/models").json()["data"][0]["id"] == "llama-alias"
    assert "no GPU support" in s.output()
