"""Today's llama-server flags on `cria serve`: each flag's effect, seen from outside."""
import subprocess

import requests

from conftest import MODEL, cria_binary

PROMPT = "The lighthouse keeper looked at the sea and"


def completion(server, **fields):
    r = server.post("/completion", {"prompt": PROMPT, "n_predict": 12, "return_tokens": True, **fields})
    assert r.status_code == 200, r.text
    return r.json()


def refused(*args):
    """Runs `cria serve` with flags that must stop it; returns its stderr."""
    result = subprocess.run([str(cria_binary()), "serve", "-m", str(MODEL), "--port", "0", *map(str, args)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0, f"cria serve {args} did not stop"
    return result.stderr


def test_sampling_defaults_apply_and_requests_override(start_server):
    # --temp 0 makes greedy decoding the server default: two unseeded requests agree, and match an
    # explicit temperature 0 request on a default server.
    greedy = start_server("-np", "1", "-c", "512", "-t", "2", "--temp", "0", "--top-k", "7", "--seed", "1234")
    a, b = completion(greedy), completion(greedy)
    assert a["tokens"] == b["tokens"]
    settings = a["generation_settings"]
    assert settings["temperature"] == 0 and settings["top_k"] == 7 and settings["seed"] == 1234
    # A request's own value wins over every default.
    hot = completion(greedy, temperature=1.5, top_k=0, seed=5)
    assert hot["generation_settings"]["temperature"] == 1.5 and hot["generation_settings"]["top_k"] == 0
    assert hot["tokens"] != a["tokens"]
    plain = start_server("-np", "1", "-c", "512", "-t", "2")
    assert completion(plain, temperature=0)["tokens"] == a["tokens"]
    assert plain.get("/props").json()["default_generation_settings"]["temperature"] == 0.8
    # /props shows the defaults both the spec's way (flat) and today's (under params).
    props = greedy.get("/props").json()["default_generation_settings"]
    assert props["temperature"] == 0 and props["params"]["seed"] == 1234 and props["params"]["top_k"] == 7
    assert props["n_ctx"] == 512


def test_sampler_flags_are_checked():
    assert "xtc_probability" in refused("--xtc-probability", "1.5")
    assert "dry_base" in refused("--dry-base", "0.5")
    assert "no sampler \"infill\"" in refused("--samplers", "top_k;infill")
    assert "adaptive-p" in refused("--adaptive-target", "0.5")
    assert "--logit-bias" in refused("--logit-bias", "12x")
    assert "repeat_penalty" in refused("--repeat-penalty", "0")


def test_no_slots_and_no_webui(start_server):
    s = start_server("-np", "2", "-c", "512", "-t", "2", "--no-slots", "--no-webui")
    r = s.get("/slots")
    assert r.status_code == 501 and r.json()["error"]["type"] == "not_supported_error"
    assert s.get("/").status_code == 404
    props = s.get("/props").json()
    assert props["endpoint_slots"] is False and props["ui"] is False
    on = start_server("-np", "2", "-c", "512", "-t", "2", "--slots")
    assert on.get("/slots").status_code == 200 and len(on.get("/slots").json()) == 2
    assert "<!doctype html>" in on.get("/").text.lower()


def test_cache_ram_keeps_prompts_a_slot_gave_up(start_server):
    long = "Once upon a time in a land far away, there lived a brave knight who travelled across mountains. "
    other = {"prompt": "The quick brown fox", "n_predict": 2, "cache_prompt": True}
    for flags, reused in ((["--cache-ram", "100"], True), ([], False)):
        s = start_server("-np", "1", "-c", "512", "-t", "2", *flags)
        first = completion(s, prompt=long, n_predict=2, cache_prompt=True)
        s.post("/completion", other)  # the only slot now holds another prompt
        again = completion(s, prompt=long, n_predict=2, cache_prompt=True)
        if reused:  # the first prompt came back from host memory
            assert again["timings"]["cache_n"] == first["timings"]["prompt_n"] - 1
            assert again["timings"]["prompt_n"] == 1
        else:
            assert again["timings"]["cache_n"] <= 1
    assert "--cache-ram" in refused("--cache-ram", "-5")


def test_cache_types_and_unsupported_features():
    assert "f16, q8_0, q4_0" in refused("-ctk", "bf16")
    assert "f16, q8_0, q4_0" in refused("-ctv", "iq4_nl")
    assert "speculative decoding" in refused("--model-draft", "draft.gguf")
    assert "router" in refused("--models-dir", "/tmp")
    assert "MCP" in refused("--mcp-servers-json", "{}")
    assert "-fa" in refused("-fa", "sometimes")


def test_accepted_no_effect_flags(start_server):
    s = start_server("-np", "1", "-c", "512", "-t", "2", "-ctk", "f16", "-ctv", "f16", "-fa", "on", "--swa-full",
                     "--offline", "--jinja", "--props")
    assert completion(s, temperature=0)["tokens_predicted"] == 12


def test_kv_unified_gives_each_slot_the_whole_context(start_server):
    s = start_server("-np", "4", "-c", "512", "-t", "2", "-kvu")
    slots = s.get("/slots").json()
    assert [slot["n_ctx"] for slot in slots] == [512] * 4
    # A prompt longer than -c / -np fits.
    body = completion(s, prompt="word " * 200, n_predict=2)
    assert body["tokens_evaluated"] > 128


def test_no_context_shift_stops_at_the_full_context(start_server):
    s = start_server("-np", "1", "-c", "64", "-t", "2", "--no-context-shift")
    body = completion(s, n_predict=200, temperature=0, ignore_eos=True)
    assert body["truncated"] is True
    assert body["tokens_evaluated"] + body["tokens_predicted"] <= 64
    shifting = start_server("-np", "1", "-c", "64", "-t", "2")
    body = completion(shifting, n_predict=100, temperature=0, ignore_eos=True)
    assert body["tokens_predicted"] == 100 and body["truncated"] is True


def test_aliases_and_tags(start_server):
    s = start_server("-np", "1", "-c", "256", "-t", "2", "-a", "zeta,alpha", "--tags", "chat, small")
    model = s.get("/v1/models").json()["data"][0]
    assert model["id"] == "alpha"
    assert sorted(model["aliases"]) == ["alpha", "zeta"] and model["tags"] == ["chat", "small"]
    assert model["meta"]["n_ctx"] == 256 and model["meta"]["n_params"] > 200_000_000


def test_cors(start_server):
    s = start_server("-np", "1", "-c", "256", "-t", "2")
    r = requests.options(s.url("/completion"), headers={"Origin": "http://example.org",
                                                         "Access-Control-Request-Method": "POST"})
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == "http://example.org"
    assert r.headers["Access-Control-Allow-Methods"] == "GET, POST, DELETE, OPTIONS"
    assert s.get("/health", headers={"Origin": "http://a.b"}).headers["Access-Control-Allow-Origin"] == "http://a.b"
    local = start_server("-np", "1", "-c", "256", "-t", "2", "--cors-origins", "localhost", "--api-key", "k")
    ok = requests.options(local.url("/completion"), headers={"Origin": "http://localhost:3000"})
    assert ok.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    evil = requests.options(local.url("/completion"), headers={"Origin": "http://localhost.evil.com"})
    assert evil.status_code == 200 and "Access-Control-Allow-Origin" not in evil.headers
    # X-Api-Key is accepted in place of Authorization, as llama-server does.
    assert local.post("/completion", {"prompt": "a", "n_predict": 1}, headers={"X-Api-Key": "k"}).status_code == 200
    assert local.post("/completion", {"prompt": "a", "n_predict": 1}, headers={"X-Api-Key": "bad"}).status_code == 401


THINKING_TEMPLATE = ("{% for m in messages %}<|{{ m.role }}|>{{ m.content }}\n{% endfor %}"
                     "{% if add_generation_prompt %}<|assistant|><think>\n"
                     "{% if not enable_thinking %}</think>{% endif %}{% endif %}")
OPEN_THINK_TEMPLATE = ("{% for m in messages %}<|{{ m.role }}|>{{ m.content }}\n{% endfor %}"
                       "{% if add_generation_prompt %}<|assistant|><think>\n{% endif %}")


def rendered(server, **extra):
    r = server.post("/apply-template", {"messages": [{"role": "user", "content": "Hi"}], **extra})
    assert r.status_code == 200, r.text
    return r.json()["prompt"]


def test_chat_template_file_and_reasoning(start_server, tmp_path):
    thinking = tmp_path / "thinking.jinja"
    thinking.write_text(THINKING_TEMPLATE)
    # auto: enable_thinking is defined and true, as llama-server defines it.
    auto = start_server("-np", "1", "-c", "256", "-t", "2", "--jinja", "--chat-template-file", thinking)
    assert rendered(auto).endswith("<|assistant|><think>\n")
    off = start_server("-np", "1", "-c", "256", "-t", "2", "--chat-template-file", thinking, "--reasoning", "off")
    assert rendered(off).endswith("<think>\n</think>")
    # A template that always opens a thinking block gets it closed when reasoning is off.
    opens = tmp_path / "opens.jinja"
    opens.write_text(OPEN_THINK_TEMPLATE)
    closed = start_server("-np", "1", "-c", "256", "-t", "2", "--chat-template-file", opens, "-rea", "off")
    assert rendered(closed).endswith("<think>\n</think>")
    assert "--chat-template-file" in refused("--chat-template-file", tmp_path / "missing.jinja")
    assert "--reasoning" in refused("--reasoning", "maybe")


def test_no_jinja_refuses_tools_and_verbose_shows_the_prompt(start_server):
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}
    chat = {"messages": [{"role": "user", "content": "Say hi"}], "max_tokens": 2, "temperature": 0}
    s = start_server("-np", "1", "-c", "512", "-t", "2", "--no-jinja", "--verbose")
    r = s.post("/v1/chat/completions", {**chat, "tools": [tool]})
    assert r.status_code == 400 and "--jinja" in r.json()["error"]["message"]
    body = s.post("/v1/chat/completions", chat).json()
    assert "Say hi" in body["__verbose"]["prompt"] and body["__verbose"]["tokens_predicted"] == 2
    assert "__verbose" not in s.post("/v1/chat/completions", {**chat, "verbose": False}).json()
    plain = start_server("-np", "1", "-c", "512", "-t", "2")
    assert "__verbose" not in plain.post("/v1/chat/completions", chat).json()
    assert "__verbose" in plain.post("/v1/chat/completions", {**chat, "verbose": True}).json()
    assert plain.post("/v1/chat/completions", {**chat, "tools": [tool]}).status_code == 200


def test_without_a_model_only_the_info_routes_answer():
    import subprocess as sp
    import time
    from conftest import free_port
    import socket
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        hosts = "127.0.0.1,::1"
    except OSError:
        hosts = "127.0.0.1"  # no IPv6 loopback here: one address still exercises the list
    port = free_port()
    proc = sp.Popen([str(cria_binary()), "serve", "--port", str(port), "--host", hosts,
                     "--cors-origins", "localhost"], stdout=sp.PIPE, stderr=sp.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                if requests.get(base + "/health", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.05)
        assert requests.get(base + "/v1/models").json()["data"] == []
        r = requests.post(base + "/completion", json={"prompt": "a"})
        assert r.status_code == 400 and "-m" in r.json()["error"]["message"]
        pre = requests.options(base + "/completion", headers={"Origin": "http://127.0.0.1:3000"})
        assert pre.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:3000"
        if "::1" in hosts:  # both addresses of the --host list listen
            assert requests.get(f"http://[::1]:{port}/health").status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=20)


NO_EFFECT = ["--no-warmup", "-nocb", "-sm", "none", "-dt", "0.1", "--no-perf", "--prio", "2", "--prio-batch", "1",
             "--poll", "50", "--poll-batch", "0", "-C", "0xff", "-Cr", "0-1", "--cpu-strict", "0", "--verbose-prompt",
             "-e", "--no-mmproj", "--no-mmproj-offload", "--check-tensors", "-sps", "0.5", "--device", "none",
             "-ngl", "99", "-ot", "exps=CPU", "--cpu-moe", "--n-cpu-moe", "4", "--cache-reuse", "256",
             "--backend_sampling"]


def test_todays_no_effect_flags_start_the_server(start_server):
    """Each flag is accepted and changes no token (--device none keeps -ngl 99 on the CPU, so -ot is
    accepted too); --cache-reuse N > 0 says prompts are reused by common prefix only."""
    s = start_server("-np", "1", "-c", "512", "-t", "2", *NO_EFFECT)
    plain = start_server("-np", "1", "-c", "512", "-t", "2")
    assert completion(s, temperature=0)["tokens"] == completion(plain, temperature=0)["tokens"]
    assert "--cache-reuse 256" in s.output() and "common prefix" in s.output()
    assert "offloaded" not in s.output()


def test_underscores_in_long_options_read_as_dashes(start_server):
    # llama.cpp reads `_` as `-` in arguments starting with `--` (older guides write --ctx_size).
    s = start_server("--parallel", "1", "--ctx_size", "384", "--n_predict", "3", "--threads", "2")
    assert s.get("/props").json()["default_generation_settings"]["n_ctx"] == 384
    assert s.post("/completion", {"prompt": PROMPT, "temperature": 0}).json()["tokens_predicted"] == 3


def test_todays_flags_with_bad_values_stop_the_server(cria):
    for args, word in ((["-sm", "diagonal"], "--split-mode"), (["--prio", "9"], "--prio"), (["--poll", "101"], "--poll"),
                       (["-C", "zz"], "--cpu-mask"), (["-Cr", "5-2"], "--cpu-range"), (["-sps", "1.5"], "--slot-prompt-similarity"),
                       (["--device", "CUDA0"], "Vulkan"), (["-ot", "nopattern"], "--override-tensor"),
                       (["--n-cpu-moe", "-1"], "--n-cpu-moe"), (["--cache-reuse", "-1"], "--cache-reuse"),
                       (["--keep", "-2"], "--keep"), (["--chat-template-kwargs", "[1]"], "--chat-template-kwargs"),
                       (["--chat-template-kwargs", "{bad"], "--chat-template-kwargs"),
                       (["--rope-scaling", "ntk"], "--rope-scaling"), (["--rope-freq-base", "-5"], "--rope-freq-base"),
                       (["--rope-scale", "nan"], "--rope-scale"), (["--rope-freq-base", "1e-50"], "--rope-freq-base"),
                       (["--rope-freq-scale", "1e-50"], "--rope-freq-scale"), (["--rope-scale", "2", "--rope-freq-scale", "0.5"], "--rope-freq-scale"),
                       (["--yarn-orig-ctx", "-3"], "--yarn-orig-ctx"), (["--yarn-beta-fast", "0"], "--yarn-beta-fast"),
                       (["--yarn-attn-factor", "inf"], "--yarn-attn-factor")):
        assert word in refused(*args), args
    if "0: " in cria("info", "--devices", check=False).stdout:  # offloading for real: single tensors cannot stay behind
        assert "--override-tensor" in refused("-ngl", "1", "-ot", "exps=CPU")
        assert "Vulkan7" in refused("-ngl", "1", "--device", "Vulkan7")


def test_keep_is_the_default_n_keep(start_server):
    """A prompt longer than the slot is truncated after its first n_keep tokens: --keep 20 gives
    what a request's n_keep 20 gives on a default server, and a request's own n_keep still wins."""
    long = {"prompt": "Once upon a time " * 30, "n_predict": 4, "temperature": 0, "return_tokens": True}
    kept = start_server("-np", "1", "-c", "64", "-t", "2", "--keep", "20")
    plain = start_server("-np", "1", "-c", "64", "-t", "2")
    a = completion(kept, **long)
    assert a["generation_settings"]["n_keep"] == 20
    assert kept.get("/props").json()["default_generation_settings"]["n_keep"] == 20
    b = completion(plain, **long, n_keep=20)
    assert (a["tokens"], a["tokens_evaluated"]) == (b["tokens"], b["tokens_evaluated"])
    assert completion(kept, **long, n_keep=0)["tokens_evaluated"] == completion(plain, **long)["tokens_evaluated"]


def test_chat_template_kwargs_and_special(start_server):
    template = "{{ greeting }}|{{ other }}|{% for m in messages %}{{ m.content }}{% endfor %}"
    s = start_server("-np", "1", "-c", "256", "-t", "2", "--chat-template", template,
                     "--chat-template-kwargs", '{"greeting": "hello", "other": 1}', "-sp")
    assert rendered(s) == "hello|1|Hi"
    assert rendered(s, chat_template_kwargs={"greeting": "bye"}) == "bye|1|Hi"  # key by key
    # -sp: a control token's text is shown (105 is Gemma's <start_of_turn>, forced by a bias).
    forced = {"n_predict": 1, "logit_bias": [[105, 100]]}
    assert completion(s, **forced)["content"] == "<start_of_turn>"
    plain = start_server("-np", "1", "-c", "256", "-t", "2")
    assert completion(plain, **forced)["content"] == ""


def test_rope_overrides(start_server):
    """llama.cpp's RoPE flags replace the file's values (the test model's global base is 1e6):
    the model's own value changes nothing, another base or scale changes greedy output, and YaRN
    with no extrapolation is linear scaling."""
    def tokens(*flags):
        s = start_server("-np", "1", "-c", "256", "-t", "2", *flags)
        out = completion(s, temperature=0)["tokens"]
        s.stop()
        return out
    default = tokens()
    assert tokens("--rope-freq-base", "1000000", "--rope-freq-scale", "1") == default
    assert tokens("--rope-freq-base", "10000") != default
    linear = tokens("--rope-scale", "4")
    assert linear != default
    assert tokens("--rope-scaling", "yarn", "--rope-scale", "4", "--yarn-ext-factor", "0") == linear
    assert tokens("--rope-scaling", "none", "--rope-scale", "4") == default
