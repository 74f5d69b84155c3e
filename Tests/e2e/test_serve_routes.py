"""The info and management routes: health, props, slots, tokenize, embeddings, metrics, keys, files."""
import math
import re
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
            if r.status_code == 503:
                early = requests.post(s.url("/completion"), json={"prompt": "x", "n_predict": 1}, timeout=60)
                assert early.status_code in (503, 200)  # the model may finish loading in between
                if early.status_code == 503:
                    assert_openai_error(early, 503, kind="unavailable_error")
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
    defaults = props["default_generation_settings"]
    assert defaults["n_ctx"] == 1024
    assert props["assistant_name"] == "" and props["user_name"] == ""
    # The spec's defaults, and the same fields as a completion's generation_settings.
    for key, value in {"temperature": 0.8, "dynatemp_range": 0.0, "dynatemp_exponent": 1.0, "top_k": 40, "top_p": 0.95,
                       "min_p": 0.05, "n_predict": -1, "n_keep": 0, "stream": False, "stop": [], "tfs_z": 1.0,
                       "typical_p": 1.0, "repeat_penalty": 1.1, "repeat_last_n": 64, "penalize_nl": True,
                       "presence_penalty": 0.0, "frequency_penalty": 0.0, "penalty_prompt_tokens": [],
                       "use_penalty_prompt_tokens": False, "mirostat": 0, "mirostat_tau": 5.0, "mirostat_eta": 0.1,
                       "grammar": "", "ignore_eos": False, "logit_bias": [], "n_probs": 0, "min_keep": 0,
                       "top_n_sigma": -1.0, "xtc_probability": 0.0, "xtc_threshold": 0.1, "dry_multiplier": 0.0,
                       "dry_base": 1.75, "dry_allowed_length": 2, "dry_penalty_last_n": -1,
                       "samplers": ["dry", "top_n_sigma", "top_k", "tfs_z", "typical_p", "top_p", "min_p", "xtc",
                                    "temperature"]}.items():
        assert defaults[key] == pytest.approx(value), key
    settings = server.post("/completion", {"prompt": "x", "n_predict": 1}).json()["generation_settings"]
    # Today's llama-server nests the same settings under `params`; the spec's flat ones stay.
    params = defaults.pop("params")
    assert set(defaults) == set(settings) and params == defaults


SLOT_FIELDS = {"dynatemp_exponent", "dynatemp_range", "frequency_penalty", "grammar", "id", "ignore_eos", "logit_bias",
               "min_p", "mirostat", "mirostat_eta", "mirostat_tau", "model", "n_ctx", "n_keep", "n_predict", "n_probs",
               "next_token", "penalize_nl", "penalty_prompt_tokens", "presence_penalty", "prompt", "repeat_last_n",
               "repeat_penalty", "samplers", "seed", "state", "stop", "stream", "task_id", "temperature", "tfs_z",
               "top_k", "top_p", "typical_p", "use_penalty_prompt_tokens"}


def test_slots_have_every_spec_field(server):
    for slot in server.get("/slots").json():
        assert SLOT_FIELDS <= set(slot), SLOT_FIELDS - set(slot)
        assert set(slot["next_token"]) == {"has_next_token", "n_remain", "n_decoded", "stopped_eos", "stopped_limit",
                                           "stopped_word", "stopping_word"}


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
    assert saved["filename"] == "one.bin" and saved["timings"]["save_ms"] >= 0
    assert (server.slot_dir / "one.bin").stat().st_size == saved["n_written"]
    erased = server.post("/slots/1?action=erase").json()
    assert erased == {"id_slot": 1, "n_erased": saved["n_saved"]}
    restored = server.post("/slots/1?action=restore", {"filename": "one.bin"}).json()
    assert restored["n_restored"] == saved["n_saved"] and restored["n_read"] == saved["n_written"]
    assert restored["id_slot"] == 1 and restored["filename"] == "one.bin" and restored["timings"]["restore_ms"] >= 0
    again = server.post("/completion", req).json()
    assert again["tokens_cached"] > 0 and again["tokens"] == first["tokens"]
    assert_openai_error(server.post("/slots/1?action=restore", {"filename": "../etc"}), 400)
    assert_openai_error(server.post("/slots/1?action=restore", {"filename": "missing.bin"}), 400)
    assert_openai_error(server.post("/slots/1?action=fly"), 400)
    assert_openai_error(server.post("/slots/7?action=erase"), 400)


def test_embedding_native_and_openai(server):
    # Both routes L2-normalize, as llama-server's send_embedding did at the spec's commit.
    native = server.post("/embedding", {"content": "Hello world"}).json()["embedding"]
    assert len(native) == 640 and all(math.isfinite(x) for x in native)
    assert sum(x * x for x in native) == pytest.approx(1.0, rel=1e-4)
    data = server.post("/v1/embeddings", {"input": ["Hello world", "Goodbye"], "model": "x",
                                          "encoding_format": "float"}).json()
    assert data["object"] == "list" and [d["index"] for d in data["data"]] == [0, 1]
    v = data["data"][0]["embedding"]
    assert v == pytest.approx(native, rel=1e-4, abs=1e-6)
    assert data["data"][1]["embedding"] != v
    assert data["usage"]["prompt_tokens"] == len(server.post("/tokenize", {"content": "Hello world"}).json()["tokens"]) \
        + len(server.post("/tokenize", {"content": "Goodbye"}).json()["tokens"]) + 2  # each with BOS
    single = server.post("/v1/embeddings", {"input": "Hello world"}).json()["data"]
    assert len(single) == 1 and single[0]["embedding"] == pytest.approx(v, rel=1e-4, abs=1e-6)


def test_embedding_refuses_image_data(server):
    r = server.post("/embedding", {"content": "[img-1]", "image_data": [{"data": "AAAA", "id": 1}]})
    assert_openai_error(r, 400, contains="image_data")


def test_embeddings_through_openai_client(server):
    # The openai client asks for base64 by default and decodes it; its floats must match ours.
    import openai
    client = openai.OpenAI(base_url=server.url("/v1"), api_key="sk-no-key-required")
    got = client.embeddings.create(model="m", input=["Hello world", "Goodbye"])
    floats = server.post("/v1/embeddings", {"input": ["Hello world", "Goodbye"]}).json()["data"]
    assert [d.embedding for d in got.data] == [pytest.approx(d["embedding"], abs=1e-7) for d in floats]
    assert_openai_error(server.post("/v1/embeddings", {"input": "x", "encoding_format": "int8"}), 400,
                        contains="encoding_format")


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


def test_todays_gpu_and_tuning_flags_serve(start_server):
    """A llama-server command line with GPU flags: with a Vulkan device (lavapipe in CI) the layers go
    there (-ts entries for devices this machine lacks are ignored, as llama.cpp does); without one the
    server stops naming what is missing (docs/gpu.md)."""
    args = ["-np", "1", "-c", "256", "-ngl", "99", "-mg", "0", "-ts", "3,2", "-cb", "-tb", "2", "-ub", "256",
            "-b", "512", "-to", "30", "--threads-http", "2", "--numa", "--mlock", "--log-format", "text", "-a", "llama-alias"]
    devices = subprocess.run([str(cria_binary()), "info", "--devices"], capture_output=True, text=True, timeout=60).stdout
    if not re.search(r"^\s+0: ", devices, re.M):
        s = CriaServer(args, wait_ready=False)
        s.process.wait(timeout=120)
        assert s.process.returncode != 0 and "GPU offload (-ngl)" in s.output(), s.output()
        return
    s = start_server(*args, ready_timeout=600)
    assert s.get("/v1/models").json()["data"][0]["id"] == "llama-alias"
    assert "offloaded 18/18 layers and the LM head" in s.output()
