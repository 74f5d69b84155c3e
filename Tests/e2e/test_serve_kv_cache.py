"""KV cache types (-ctk/-ctv f16, q8_0, q4_0): memory, serving, context shift, slot files, errors.

The accuracy side (perplexity equal to llama-perplexity's with the same cache types) is in
test_cli.py."""
import json
import shutil

from conftest import assert_openai_error


def kv_cache_line(server):
    for line in server.output().splitlines():
        if '"msg":"KV cache"' in line:
            return json.loads(line)
    raise AssertionError("no KV cache line in the startup log:\n" + server.output())


def test_q8_0_halves_kv_memory_and_q4_0_quarters_it(start_server):
    sizes = {}
    for kind in ("f16", "q8_0", "q4_0"):
        s = start_server("-c", "2048", "-np", "2", "-t", "2", "-ctk", kind, "-ctv", kind)
        line = kv_cache_line(s)  # written when the model has loaded, before /health turns 200
        assert line["type_k"] == kind and line["type_v"] == kind
        assert line["n_ctx_slot"] == "1024" and line["n_slots"] == "2"
        sizes[kind] = float(line["MiB_per_slot"])
        assert abs(float(line["MiB_total"]) - 2 * sizes[kind]) < 0.02, line
        s.stop()
    # Gemma 3 270M: 18 layers × 1 KV head × 256 → f16 1024 B per cell and layer for K+V,
    # q8_0 544 B (34/64 of f16), q4_0 288 B; positions add 4 B per cell.
    assert abs(sizes["f16"] - 18.0) < 0.01, sizes
    assert 0.52 < sizes["q8_0"] / sizes["f16"] < 0.54, sizes
    assert 0.27 < sizes["q4_0"] / sizes["f16"] < 0.29, sizes


def test_quantized_cache_serves_deterministically_and_shifts_context(start_server):
    s = start_server("-c", "256", "-np", "1", "-t", "2", "-ctk", "q8_0", "-ctv", "q4_0")
    req = {"prompt": "The history of the printing press begins", "n_predict": 24, "temperature": 0,
           "cache_prompt": True, "return_tokens": True}
    first = s.post("/completion", req).json()
    again = s.post("/completion", req).json()
    assert len(first["tokens"]) == 24 and first["content"].strip()
    # Invariant numerics hold with a quantized cache too: the cached prefix changes nothing.
    assert again["tokens_cached"] > 0 and again["tokens"] == first["tokens"]
    # More tokens than the slot holds: the context shifts (keys are dequantized, un-rotated,
    # re-RoPEd, rotated and quantized again) and generation goes on to n_predict.
    long = s.post("/completion", {"prompt": "Once upon a time", "n_predict": 400, "temperature": 0,
                                  "ignore_eos": True}).json()
    assert long["tokens_predicted"] == 400 and long["stop_type"] == "limit"
    assert s.get("/health").status_code == 200


def test_slot_files_keep_their_cache_type(start_server, tmp_path):
    q8_dir, f16_dir = tmp_path / "q8", tmp_path / "f16"
    q8_dir.mkdir()
    f16_dir.mkdir()
    q8 = start_server("-c", "1024", "-np", "1", "-t", "2", "-ctk", "q8_0", "-ctv", "q8_0", "--slot-save-path", q8_dir)
    f16 = start_server("-c", "1024", "-np", "1", "-t", "2", "--slot-save-path", f16_dir)
    req = {"prompt": "A quantized cache saved to disk and read back", "n_predict": 6, "temperature": 0,
           "id_slot": 0, "cache_prompt": True, "return_tokens": True}

    first = q8.post("/completion", req).json()
    saved = q8.post("/slots/0?action=save", {"filename": "q8.bin"}).json()
    assert saved["n_saved"] > 0
    f16.post("/completion", req)
    f16_saved = f16.post("/slots/0?action=save", {"filename": "f16.bin"}).json()
    # A q8_0 cell takes 34/64 of an f16 one.
    assert saved["n_written"] < 0.6 * f16_saved["n_written"]

    q8.post("/slots/0?action=erase")
    restored = q8.post("/slots/0?action=restore", {"filename": "q8.bin"}).json()
    assert restored["n_restored"] == saved["n_saved"]
    again = q8.post("/completion", req).json()
    assert again["tokens_cached"] > 0 and again["tokens"] == first["tokens"]

    # A file written by an f16 server is refused by name, and the slot keeps working.
    shutil.copy(f16_dir / "f16.bin", q8_dir / "f16.bin")
    assert_openai_error(q8.post("/slots/0?action=restore", {"filename": "f16.bin"}), 400, contains="f16 keys")
    assert q8.post("/completion", req).json()["tokens"] == first["tokens"]


def test_unknown_cache_type_is_refused_at_startup(cria, model_path):
    for flag, value in (("-ctk", "bf16"), ("-ctv", "q9_9"), ("--cache-type-k", "")):
        result = cria("serve", "-m", model_path, flag, value, check=False, timeout=60)
        assert result.returncode != 0
        assert "the KV cache type must be one of f16, q8_0, q4_0" in result.stderr, result.stderr
