"""`cria tokenize`, `cria template` and `cria run` against llama.cpp's recorded behaviour."""
import json
import os
import platform
import re
import subprocess

from conftest import REFERENCE, ROOT, cria_binary


def test_tokenize_matches_reference(cria, model_path):
    cases = json.loads((REFERENCE / "tokenize.json").read_text())["tokenize"]
    for case in cases[:6]:
        out = cria("tokenize", "-m", model_path, "-p", case["text"], "--parse-special").stdout
        ids = json.loads(out)
        assert ids == case["tokens_add_special"], case["text"]


def test_tokenize_show_pieces_and_no_bos(cria, model_path):
    out = cria("tokenize", "-m", model_path, "-p", "Hello world", "--no-bos", "--show-pieces").stdout
    assert out.splitlines() == ["9259 -> 'Hello'", "1902 -> ' world'"]


def write_messages(tmp_path, messages):
    path = tmp_path / "messages.json"
    path.write_text(json.dumps(messages))
    return path


def test_template_chatml_fallback_matches_llama_server(cria, model_path, tmp_path):
    ref = json.loads((REFERENCE / "chat_template_default-no-template-chatml-fallback.json").read_text())
    msgs = write_messages(tmp_path, ref["messages"])
    out = cria("template", "-m", model_path, "--messages", msgs, "--add-generation-prompt").stdout
    assert out == ref["apply_template_prompt"]


def test_template_builtin_gemma_matches_llama_server(cria, tmp_path):
    ref = json.loads((REFERENCE / "chat_template_builtin-gemma-nojinja.json").read_text())
    msgs = write_messages(tmp_path, ref["messages"])
    out = cria("template", "--chat-template", "gemma", "--messages", msgs, "--add-generation-prompt").stdout
    assert out == ref["apply_template_prompt"]


def test_template_errors_are_reported(cria, tmp_path):
    msgs = write_messages(tmp_path, [{"role": "user", "content": "hi"}])
    result = cria("template", "--chat-template", "{{ raise_exception('no users allowed') }}", "--messages", msgs, check=False)
    assert result.returncode == 1
    assert "no users allowed" in result.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = cria("template", "--chat-template", "chatml", "--messages", bad, check=False)
    assert result.returncode == 1
    assert "not valid JSON" in result.stderr


def test_run_greedy_is_deterministic(cria, model_path):
    args = ("run", "-m", model_path, "-p", "The capital of France is", "-n", "6", "--temp", "0")
    first = cria(*args).stdout
    assert first.strip()
    assert cria(*args).stdout == first


def test_prefetch_distance_changes_speed_only(model_path):
    # CRIA_PREFETCH sets how far ahead the packed kernels prefetch (by default 4096 bytes on the
    # Intel family measured, none on AMD Zen 4, and on any other CPU what the first large enough
    # model measures when it loads): the same greedy tokens at every distance and kernel path, the
    # value in effect and where it came from printed by bench, and a value out of range or not a
    # multiple of 64 left to the CPU's own choice.
    inherited = {k: v for k, v in os.environ.items() if k not in ("CRIA_PREFETCH", "CRIA_KERNELS")}

    def run(args, **env):
        result = subprocess.run([str(cria_binary()), *args], capture_output=True, text=True, timeout=300,
                                env={**inherited, **env})
        assert result.returncode == 0, (args, env, result.stderr)
        return result.stdout

    def distance(**env):
        out = run(["bench", "-m", model_path, "-p", "8", "-n", "1", "-r", "1"], **env)
        found = re.search(r"prefetch (\d+) bytes ahead(?: \((.*)\))?$", out, re.M)
        assert found, out
        return int(found.group(1)), found.group(2) or ""

    default, why = distance()
    if platform.machine() not in ("x86_64", "AMD64"):
        assert (default, why) == (0, "") and distance(CRIA_PREFETCH="4096") == (0, "")  # no packed kernels there to prefetch
        return
    assert distance(CRIA_PREFETCH="0") == (0, "CRIA_PREFETCH")
    assert distance(CRIA_PREFETCH="65536") == (65536, "CRIA_PREFETCH")
    for bad in ("100", "65600", "-64", "4k", ""):
        ahead, origin = distance(CRIA_PREFETCH=bad)
        assert origin.split(" ")[0] == why.split(" ")[0], (bad, origin, why)  # the CPU's own choice, not the setting
        if not why.startswith("measured"):
            assert ahead == default, bad
    greedy = ["run", "-m", model_path, "-p", "The history of the printing press", "-n", "24", "--temp", "0"]
    paths = [{}, {"CRIA_KERNELS": "avx2"}]
    outputs = {run(greedy, CRIA_PREFETCH=ahead, **path) for ahead in ("0", "4096", "65536", "auto") for path in paths}
    assert len(outputs) == 1, outputs


def test_prefetch_auto_measures_at_load(model_path):
    # CRIA_PREFETCH=auto treats any CPU as an unmeasured family and has the first model measure it,
    # whatever its size: the load times the decode products with and without prefetching and
    # keeps 4096 bytes when that is at least 5% faster, else none. (Unasked, an unmeasured CPU
    # does the same only for a model too large for the last-level cache; the unit tests cover that.)
    env = {k: v for k, v in os.environ.items() if k not in ("CRIA_PREFETCH", "CRIA_KERNELS", "CRIA_PACK")}
    result = subprocess.run([str(cria_binary()), "bench", "-m", model_path, "-p", "8", "-n", "1", "-r", "1"], capture_output=True,
                            text=True, timeout=300, env={**env, "CRIA_PREFETCH": "auto"})
    assert result.returncode == 0, result.stderr
    kernels = re.search(r"kernels: (\w+)", result.stdout)
    assert kernels, result.stdout
    if platform.machine() not in ("x86_64", "AMD64"):
        assert re.search(r"prefetch 0 bytes ahead$", result.stdout, re.M), result.stdout
        return
    if kernels.group(1) == "portable":  # an x86 CPU without AVX2
        assert "prefetch 0 bytes ahead (an unmeasured CPU family, not measured: the portable kernels do not prefetch)" in result.stdout
        return
    measured = re.search(r"prefetch (\d+) bytes ahead \(measured at load over (\d+) MB of products: "
                         r"none ([\d.]+) GB/s, 4096 bytes ([\d.]+) GB/s\)$", result.stdout, re.M)
    assert measured, result.stdout
    ahead, mb, without, with_ = int(measured.group(1)), int(measured.group(2)), float(measured.group(3)), float(measured.group(4))
    assert 200 <= mb <= 260 and without > 0 and with_ > 0, result.stdout  # gemma's decode products: 246 MB
    # 4096 when with ≥ without / 0.95; the figures are printed to 0.01 GB/s, so within 0.005 of the rates
    if (with_ - 0.005) * 0.95 >= without + 0.005:
        assert ahead == 4096, result.stdout
    elif (with_ + 0.005) * 0.95 < without - 0.005:
        assert ahead == 0, result.stdout
    assert ahead in (0, 4096), result.stdout  # one of the two settings measured


def test_run_rejects_bad_arguments(cria, model_path):
    result = cria("run", "-m", model_path, "-p", "x", "-n", "-5", check=False)
    assert result.returncode != 0
    assert "--n-predict" in result.stderr


def test_thread_counts_out_of_range_are_refused_by_every_command(cria, model_path):
    # -t 100000 used to crash creating the pool's threads.
    cases = [("run", "-p", "x", "-n", "1", "-t"), ("perplexity", "-f", model_path, "-t"),
             ("bench", "-p", "8", "-n", "1", "-r", "1", "-t"), ("bench", "-p", "8", "-n", "1", "-r", "1", "-tb"),
             ("serve", "--port", "0", "-t"), ("serve", "--port", "0", "-tb"), ("serve", "--port", "0", "--threads-http")]
    for case in cases:
        flag = case[-1]
        for value in ("513", "100000"):
            result = cria(case[0], "-m", model_path, *case[1:], value, check=False, timeout=60)
            assert result.returncode != 0, (case, value)
            assert f"{flag} must be at most 512 (0 or below: the default), got {value}" in result.stderr, (case, value, result.stderr)


def test_zero_or_negative_thread_counts_mean_the_default_as_in_llama_cpp(cria, model_path):
    # llama-server's help shows `-t -1` as the default, and it reads 0 or below as "choose".
    default = cria("bench", "-m", model_path, "-p", "8", "-n", "1", "-r", "1").stdout
    threads = re.search(r"threads: (\d+)  batch threads: (\d+)", default)
    assert threads and int(threads.group(1)) >= 1, default
    # The figures name the CPU and the kernel path they came from.
    assert re.search(r"^cpu: .+, \d+ physical cores available, kernels: (avx512|avx2|portable), prefetch \d+ bytes ahead( \(.+\))?$", default, re.M), default
    for args in (("-t", "0"), ("-t", "-1"), ("-tb", "-1"), ("-t", "-1", "-tb", "0")):
        out = cria("bench", "-m", model_path, "-p", "8", "-n", "1", "-r", "1", *args).stdout
        assert threads.group(0) in out, (args, out)
    out = cria("bench", "-m", model_path, "-p", "8", "-n", "1", "-r", "1", "-t", "1", "-tb", "-1").stdout
    assert "threads: 1  batch threads: 1" in out, out
    assert "1 generated" in cria("run", "-m", model_path, "-p", "x", "-n", "1", "-t", "-1").stderr


def test_contexts_and_bench_sizes_out_of_range_are_refused(cria, model_path):
    huge = str(1 << 40)
    for args in (("run", "-p", "x", "-n", "1", "-c", huge),
                 ("bench", "-p", huge, "-n", "0", "-r", "1"), ("bench", "-p", "0", "-n", huge, "-r", "1")):
        result = cria(args[0], "-m", model_path, *args[1:], check=False, timeout=120)
        assert result.returncode != 0, args
        assert "KV cache too large" in result.stderr and "lower -c" in result.stderr, (args, result.stderr)
    for args, message in ((("-r", "0"), "-r must be between 1 and 10000, got 0"),
                          (("-r", "100000000000"), "-r must be between 1 and 10000, got 100000000000"),
                          (("--batch", "1,100000000000"), "--batch takes sequence counts between 1 and 4096, got '100000000000'"),
                          (("--batch", "2,x"), "--batch takes sequence counts between 1 and 4096, got 'x'")):
        result = cria("bench", "-m", model_path, "-p", "8", "-n", "2", *args, check=False, timeout=60)
        assert result.returncode != 0 and message in result.stderr, (args, result.stderr)


def test_run_takes_negative_values_and_cache_types(cria, model_path):
    # -ctk/-ctv are single-dash long options; negative numbers must still reach -n and --seed.
    out = cria("run", "-m", model_path, "-p", "-Once upon a time", "-n", "4", "--seed", "-1", "--temp", "0",
               "-ctk", "q8_0", "-ctv", "q4_0").stderr
    assert "4 generated" in out, out


def test_perplexity_matches_llama_cpp(cria, model_path):
    """llama-perplexity -c 512 on the GPL-3 text gives 13.9062 (Tests/Fixtures/reference/README.md). The
    issue's bar is ±1%; Cria reproduces llama.cpp's arithmetic, so it also matches to the printed
    four decimals (a drift there means a numerics change worth looking at)."""
    ppl = perplexity(cria, model_path, "--numerics", "llama.cpp")
    assert abs(ppl - 13.9062) / 13.9062 <= 0.01, ppl
    assert f"{ppl:.4f}" == "13.9062", ppl


def test_perplexity_in_invariant_numerics_is_within_a_thousandth(cria, model_path):
    """The default (batch-invariant) float order changes the perplexity by less than 0.1%."""
    ppl = perplexity(cria, model_path)
    assert abs(ppl - 13.9062) / 13.9062 <= 0.001, ppl


def test_quantized_kv_cache_perplexity_matches_llama_cpp(cria, model_path):
    """`llama-perplexity -c 512 -b 512 -fa on` with `-ctk q8_0 -ctv q8_0` gives 13.8895 and with q4_0
    15.7248 (Tests/Fixtures/reference/README.md): llama.cpp rotates queries, keys and values by a
    Hadamard matrix before quantizing the cache, and Cria does the same arithmetic."""
    assert f"{perplexity(cria, model_path, '--numerics', 'llama.cpp', '-ctk', 'q8_0', '-ctv', 'q8_0'):.4f}" == "13.8895"
    assert f"{perplexity(cria, model_path, '--numerics', 'llama.cpp', '-ctk', 'q4_0', '-ctv', 'q4_0'):.4f}" == "15.7248"


def test_q8_0_kv_cache_keeps_perplexity_within_one_percent(cria, model_path):
    """The issue's bar for the default numerics: q8_0 keys and values within 1% of the f16 cache."""
    f16 = perplexity(cria, model_path)
    q8 = perplexity(cria, model_path, "-ctk", "q8_0", "-ctv", "q8_0")
    assert abs(q8 - f16) / f16 <= 0.01, (q8, f16)


def perplexity(cria, model_path, *extra):
    text = REFERENCE.parent / "texts-gpl-3.txt"
    out = cria("perplexity", "-m", model_path, "-f", text, "-c", "512", *extra, timeout=1800).stdout
    final = [line for line in out.splitlines() if line.startswith("Final estimate")]
    assert final, out
    assert "over 14 chunks" in final[0]
    return float(final[0].split("PPL = ")[1].split()[0])


def test_perplexity_rejects_missing_file(cria, model_path, tmp_path):
    result = cria("perplexity", "-m", model_path, "-f", tmp_path / "missing.txt", check=False)
    assert result.returncode == 1
    assert "cannot read text file" in result.stderr


def test_bench_json_schema_runs_the_constrained_sampling_path(cria, model_path, tmp_path):
    # Each "yes"/"no" document is a few tokens, so 48 steps must complete (and restart) several;
    # only the shape of the report is checked, never the speed.
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"enum": ["yes", "no"]}))
    out = cria("bench", "-m", model_path, "-p", "0", "-n", "48", "-r", "1", "--json-schema", schema).stdout
    assert re.search(r"^\| tg48 sampled \| [0-9.]+ ± [0-9.]+ \|$", out, re.M), out
    assert re.search(r"^\| tg48 sampled, json schema \| [0-9.]+ ± [0-9.]+ \|$", out, re.M), out
    assert re.search(r"^json schema rate / unconstrained rate: [0-9.]+% of the mean", out, re.M), out
    documents = int(re.search(r"(\d+) documents completed", out)[1])
    assert documents >= 1, out


def test_bench_json_schema_rejects_a_bad_schema(cria, model_path, tmp_path):
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"type": "array", "uniqueItems": True}))
    result = cria("bench", "-m", model_path, "-p", "0", "-n", "4", "-r", "1", "--json-schema", schema, check=False)
    assert result.returncode != 0 and "uniqueItems" in result.stderr, result.stderr


def test_bench_profile_reports_bandwidth_bound_and_decode_parts(cria, model_path):
    # Only the report's shape and internal consistency are checked, never the speed.
    out = cria("bench", "-m", model_path, "-p", "0", "-n", "16", "-r", "1", "--profile").stdout
    mb = float(re.search(r"weights read per decode step: ([0-9.]+) MB", out)[1])
    assert 200 < mb < 260, out  # the test model's matrices: 18 layers + the 262,144-row LM head
    assert re.search(r"bandwidth bound: [0-9.]+ ms/token = [0-9.]+ tokens/s", out), out
    parts = dict(re.findall(r"^\| ([^|…]+?) \| ([0-9.-]+) \| [0-9.+-]+% \|$", out, re.M))
    total = float(parts["forward step, total"])
    head = float(next(v for k, v in parts.items() if k.startswith("LM head product (Q8_0, 262144 rows, ")))
    assert 0 < head < total, out
    # its bytes (262,144 rows of 20 Q8_0 blocks of 34 bytes) and the rate they give at its time
    head_row = re.search(r"^\| LM head product \(Q8_0, 262144 rows, ([0-9.]+) MB, ([0-9.]+) GB/s(; fits the cache when timed alone)?\) "
                         r"\| ([0-9.]+) \|", out, re.M)
    assert head_row and head_row[1] == "178.3", out
    ms, gbps = float(head_row[4]), float(head_row[2])
    # printed to 0.001 ms and 0.1 GB/s: the rate follows from the time within their rounding
    assert abs(178.258 / ms - gbps) <= 0.05 + 178.258 * 0.0005 / ms ** 2 + 0.001, out
    assert re.search(r"^decode: [0-9.]+ tokens/s = [0-9]+% of the bandwidth bound", out, re.M), out
    # steps timed beside reads of the weights: 16 steps × 1 repetition, and the share follows from the two rates
    paired = re.search(r"^interleaved \((\d+) steps, each beside one read of the weights\): decode ([0-9.]+) tokens/s, "
                       r"reads ([0-9.]+) GB/s: ([0-9]+)% of the bandwidth bound$", out, re.M)
    assert paired and int(paired[1]) == 16, out
    tokens_per_s, gbps, share = float(paired[2]), float(paired[3]), int(paired[4])
    assert tokens_per_s > 0 and gbps > 0, out
    # each printed figure is rounded (0.05 for the rates and MB, 0.5 for the share): the share follows within that
    expected = 100 * (mb / 1000 / gbps) * tokens_per_s
    slack = expected * (0.05 / gbps + 0.05 / tokens_per_s + 0.05 / mb) + 0.5 + 0.01
    assert abs(expected - share) <= slack, (expected, slack, out)


def test_bench_profile_groups_experts_as_the_forward_pass(cria):
    # Mixture-of-experts fixtures (qwen2moe has a shared expert): the routed experts are timed as
    # the forward pass runs them (grouped products); the bytes behind each type's rate must be what
    # a step reads — the layers' bytes by type add up to the weights read minus the LM head's, both
    # counted here with gguf-py, the used experts only.
    import gguf
    for name in ["qwen3moe.gguf", "qwen2moe.gguf"]:
        path = ROOT / "Tests" / "ModelsTests" / "Fixtures" / "Architectures" / name
        out = cria("bench", "-m", path, "-p", "0", "-n", "4", "-r", "1", "--profile").stdout
        reader = gguf.GGUFReader(str(path))
        meta = {f.name: f.parts[f.data[0]] for f in reader.fields.values() if f.data}
        arch = bytes(meta["general.architecture"]).decode()
        used = int(meta[f"{arch}.expert_used_count"][0])
        head = next(t for t in reader.tensors if t.name in ("output.weight", "token_embd.weight") and
                    (t.name == "output.weight" or not any(u.name == "output.weight" for u in reader.tensors)))
        read = 0
        for t in reader.tensors:
            if not t.name.startswith("blk.") or t.name.endswith(("norm.weight", "bias")) or len(t.shape) < 2:
                continue
            n = int(t.n_bytes)
            if "_exps" in t.name:
                n = n // int(t.shape[-1]) * used  # the used experts of this layer
            read += n
        # below 10 MB the report gives 1 kB (rounded: half of it either way per figure)
        total_mb = float(re.search(r"weights read per decode step: ([0-9.]+) MB", out)[1])
        assert abs(total_mb - (read + int(head.n_bytes)) / 1e6) <= 0.0006, (name, total_mb, read, head.n_bytes, out)
        typed = re.findall(r"^\| … layer products in \w+ \(([0-9.]+) MB", out, re.M)
        assert typed and abs(sum(map(float, typed)) - read / 1e6) <= 0.0006 * len(typed), (name, typed, read, out)
        parts = dict(re.findall(r"^\| ([^|…]+?) \| ([0-9.-]+) \| [0-9.+-]+% \|$", out, re.M))
        layers = float(next(v for k, v in parts.items() if k.startswith("layer products (")))
        assert layers > 0 and float(parts["forward step, total"]) > 0, out


def test_bench_reports_active_and_total_parameters(cria, model_path):
    # the tiny qwen3moe fixture (259-token vocabulary: bench picks its token ids inside it): 2 of 8
    # experts per token, so fewer parameters are active than there are; a dense model: the same
    moe = ROOT / "Tests" / "ModelsTests" / "Fixtures" / "Architectures" / "qwen3moe.gguf"
    out = cria("bench", "-m", moe, "-p", "16", "-n", "4", "-r", "1").stdout
    params = next(line for line in out.splitlines() if line.startswith("params:"))
    total, active = (float(params.split(" total")[0].split()[-2]), float(params.split(" active")[0].split()[-2]))
    assert 0 < active < total, params
    assert "| pp16 |" in out and "| tg4 |" in out
    dense = cria("bench", "-m", model_path, "-p", "0", "-n", "2", "-r", "1").stdout
    line = next(line for line in dense.splitlines() if line.startswith("params:"))
    assert line.split(" total")[0].split()[-2:] == line.split(" active")[0].split()[-2:], line
