"""-ngl on the real model through Vulkan (Mesa's lavapipe in CI, scripts/install-vulkan): greedy
continuations of llama.cpp's recorded prompts with every layer and with half the layers on the
device against the CPU engine's, `cria bench -ngl`, and the CPU fallback where Vulkan is missing. The device tests are skipped,
with the reason, where `cria info --devices` lists no device.

lavapipe runs the shaders on the CPU at well under 1 token/s for this model, so by default two of
the six recorded prompts are continued for 32 tokens; CRIA_GPU_FULL=1 runs all six for all 48
recorded tokens."""
import json
import os
import re

import pytest

from conftest import REFERENCE, CriaServer

FULL = os.environ.get("CRIA_GPU_FULL") == "1"


@pytest.fixture(scope="module")
def vulkan_device(cria):
    out = cria("info", "--devices", check=False).stdout
    if not re.search(r"^\s+0: ", out, re.M):
        pytest.skip(f"no Vulkan device ({out.strip()}); scripts/install-vulkan installs lavapipe")
    return out


def recorded_cases():
    data = json.loads((REFERENCE / "completions.json").read_text())
    cases = data["completions"] if FULL else [c for c in data["completions"] if c["name"] in ("english_prose", "code")]
    return data["request_template"], cases


def continuation(server, template, case, tokens):
    """The device's greedy tokens for a recorded prompt and, per step, its top 4 (id → logprob)."""
    penalty = case["generation_settings"]["repeat_penalty"]
    r = server.post("/completion", {**template, "prompt": case["prompt"], "repeat_penalty": penalty, "n_predict": tokens,
                                    "n_probs": 4}, timeout=3600)
    assert r.status_code == 200, r.text
    body = r.json()
    tops = [{p["id"]: p["logprob"] for p in step["top_logprobs"]} for step in body["completion_probabilities"]]
    return body["tokens"], tops


@pytest.fixture(scope="module")
def cpu_continuations(start_server):
    """The CPU engine's greedy continuations (and top-4 logprobs) of the recorded prompts, in the
    offloaded servers' shape and default numerics."""
    server = start_server("-np", "1", "-c", "512", "-t", "2")
    template, cases = recorded_cases()
    n = 48 if FULL else 32
    result = {case["name"]: continuation(server, template, case, n) for case in cases}
    server.stop()
    return result


@pytest.mark.parametrize("layers", ["99", "9"])
def test_offloaded_greedy_continuations_follow_the_cpu_engine(vulkan_device, start_server, cpu_continuations, layers):
    """With all 18 layers and the LM head (-ngl 99), or the last 9 (-ngl 9), on the device, against
    the CPU engine's greedy continuations of llama.cpp's recorded prompts. On lavapipe the device
    runs the CPU engine's numerics bit for bit (the one-invocation-per-row `_f64` builds: the CPU's
    8-bit activation blocks, integer dots and float steps in its order, fused multiply-adds
    rounded once, glibc's expf, its f64 norm sums), so every logit is the CPU's: measured with
    CRIA_GPU_FULL=1 (6 prompts x 48 tokens), -ngl 99 and -ngl 9 agree for all 48 tokens on all
    six, every top-4 logprob equal. Asserted: the issue's bar, at least 32 agreeing tokens on all
    prompts but one (5 of 6; both of the default two), every parting within 1 nat of the CPU's
    choice and logprobs before it within 0.5; and on lavapipe, every token and top-4 logprob equal
    to the CPU's. (On a GPU the products sum in another order: only the bar holds there.)"""
    server = start_server("-np", "1", "-c", "512", "-t", "2", "-ngl", layers, ready_timeout=600)
    template, cases = recorded_cases()
    n = 48 if FULL else 32
    report, exact = {}, 0
    for case in cases:
        got, tops = continuation(server, template, case, n)
        expected, cpu_tops = cpu_continuations[case["name"]]
        exact += got == expected and tops == cpu_tops
        same = 0
        while same < len(expected) and same < len(got) and got[same] == expected[same]:
            same += 1
        drift = max((abs(tops[i][got[i]] - cpu_tops[i][got[i]]) for i in range(same)), default=0)
        margin = tops[same][got[same]] - tops[same].get(expected[same], float("-inf")) if same < len(expected) else 0
        report[case["name"]] = (same, round(drift, 5), round(margin, 5))
    print(f"-ngl {layers}: (agreeing tokens, max |Δlogprob| before parting, margin at parting): {report}")
    for name, (same, drift, margin) in report.items():
        assert drift <= 0.5 and margin <= 1.0, (name, report)
    agreeing = sum(1 for r in report.values() if r[0] >= 32)
    assert agreeing >= (len(cases) - 1 if len(cases) > 2 else len(cases)), report
    if "llvmpipe" in vulkan_device:
        assert exact == len(cases), f"lavapipe: {exact} of {len(cases)} continuations are the CPU's bits; {report}"
    log = server.output()
    assert ("offloaded 18/18 layers and the LM head" if layers == "99" else "offloaded 9/18 layers") in log, log


def test_bench_reports_the_same_table_with_offload(vulkan_device, cria, model_path):
    out = cria("bench", "-m", model_path, "-p", "8", "-n", "2", "-r", "1", "-ngl", "99", timeout=1200).stdout
    assert "offloaded 18/18 layers and the LM head" in out, out
    assert re.search(r"^\| pp8 \| [0-9.]+ ± [0-9.]+ \|$", out, re.M), out
    assert re.search(r"^\| tg2 \| [0-9.]+ ± [0-9.]+ \|$", out, re.M), out


def test_offload_without_a_vulkan_loader_warns_and_runs_on_the_cpu(cria, model_path):
    """As llama.cpp without GPU support (or with no device): -ngl is ignored with a warning naming
    the flag and what is missing, and the model runs on the CPU, with the CPU engine's tokens."""
    env = {**os.environ, "CRIA_VULKAN_LOADER": "/nonexistent/libvulkan.so.1"}
    import subprocess
    from conftest import cria_binary
    args = [str(cria_binary()), "run", "-m", str(model_path), "-n", "4", "-p", "hi", "--temp", "0"]
    r = subprocess.run([*args, "-ngl", "99", "-ctk", "q8_0"], capture_output=True, text=True, env=env, timeout=120)
    cpu = subprocess.run([*args, "-ctk", "q8_0"], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    # What is missing: the loader, or (a build on a machine without libvulkan-dev) the headers.
    assert "--n-gpu-layers (-ngl 99) is ignored" in r.stderr, r.stderr
    assert "libvulkan.so.1" in r.stderr or "without the Vulkan headers" in r.stderr, r.stderr
    assert r.stdout == cpu.stdout and "ignored" not in cpu.stderr
    # The server starts the same way and answers.
    s = CriaServer(["-np", "1", "-c", "256", "-t", "2", "-ngl", "99"], env=env)
    try:
        body = s.post("/completion", {"prompt": "hi", "n_predict": 2}).json()
        assert body["tokens_predicted"] == 2
        assert "--n-gpu-layers (-ngl 99) is ignored" in s.output() and "offloaded" not in s.output()
    finally:
        s.stop()


def test_bad_offload_flags_are_refused(cria, model_path):
    for flags, word in ((["-ngl", "-1"], "-ngl"), (["-ngl", "4", "-ts", "1,x"], "-ts"), (["-mg", "-2"], "-mg")):
        r = cria("run", "-m", model_path, *flags, "-n", "1", "-p", "hi", check=False)
        assert r.returncode != 0 and word in r.stderr, (flags, r.stderr)


def test_offload_refuses_what_the_device_cannot_run(vulkan_device, cria, model_path):
    r = cria("run", "-m", model_path, "-ngl", "4", "-ctk", "q8_0", "-n", "1", "-p", "hi", check=False)
    assert r.returncode != 0 and "f16" in r.stderr, r.stderr
