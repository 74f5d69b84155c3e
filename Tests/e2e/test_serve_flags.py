"""`cria serve` command-line flags that change how the server starts, logs and runs."""
import json
import socket
import subprocess
import time

import pytest
import requests

from conftest import MODEL, cria_binary, free_port, wait_for

GREEDY = {"temperature": 0, "return_tokens": True}


def log_lines(server, msg):
    """The JSON log lines (default --log-format) whose msg is `msg`."""
    return [e for e in map(json.loads, server.output().splitlines()) if e.get("msg") == msg]


def requests_logged(output):
    """(method, path, status) of each request log line in a JSON log (a line still being written is skipped)."""
    seen = []
    for line in output.splitlines():
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if e.get("msg") == "request":
            seen.append((e["method"], e["path"], e["status"]))
    return seen


def proc_status(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict(line.split(":", 1) for line in f if ":" in line)


def test_threads_batch_and_mlock(start_server):
    s = start_server("-np", "1", "-c", "256", "-t", "1", "-tb", "2", "--mlock")
    info = log_lines(s, "system info")[0]
    assert info["n_threads"] == "1" and info["n_threads_batch"] == "2"
    # -tb sizes the compute pool: the model runs multi-row batches on 2 threads, single rows on 1.
    body = s.post("/completion", {"prompt": "The lighthouse", "n_predict": 3, **GREEDY}).json()
    assert body["tokens_predicted"] == 3
    locked = log_lines(s, "model locked in memory (--mlock)")
    if locked:
        # The mapping really is pinned: the kernel counts it as locked memory.
        vm_locked_kb = int(proc_status(s.process.pid)["VmLck"].split()[0])
        assert vm_locked_kb * 1024 >= MODEL.stat().st_size
    else:
        # Not allowed to lock (RLIMIT_MEMLOCK): a warning says so, and the server still serves.
        assert "RLIMIT_MEMLOCK" in s.output()
    assert "not implemented" not in s.output()


def test_threads_batch_defaults_to_threads(start_server):
    s = start_server("-np", "1", "-c", "256", "-t", "2")
    info = log_lines(s, "system info")[0]
    assert info["n_threads"] == "2" and info["n_threads_batch"] == "2"


def test_json_log_lines_and_request_log(start_server):
    s = start_server("-np", "1", "-c", "256", "--numa", "isolate")
    s.post("/tokenize", {"content": "hi"})
    s.get("/no-such-route")
    expected = {("POST", "/tokenize", "200"), ("GET", "/no-such-route", "404")}
    assert wait_for(lambda: expected <= set(requests_logged(s.output())))
    out = s.output()
    complete = out[: out.rfind("\n") + 1]  # a line being written as we read is not checked
    lines = [json.loads(line) for line in complete.splitlines()]  # every line is JSON, Hummingbird's too
    assert all(e["remote_addr"] == "127.0.0.1" for e in lines if e["msg"] == "request")
    numa = [e for e in lines if e["level"] == "WARN" and "--numa isolate" in e["msg"]]
    assert numa and "no effect" in numa[0]["msg"]


def test_text_log_format(start_server):
    s = start_server("-np", "1", "-c", "256", "--log-format", "text")
    s.post("/tokenize", {"content": "hi"})
    assert wait_for(lambda: "path=/tokenize" in s.output())
    lines = s.output().splitlines()
    assert any(line.startswith("INFO request ") and "path=/tokenize" in line and "status=200" in line for line in lines)
    assert not any(line.startswith("{") for line in lines)


def test_closed_stdout_does_not_stop_the_server(model_path):
    port = free_port()
    p = subprocess.Popen([str(cria_binary()), "serve", "-m", str(model_path), "--port", str(port), "-c", "256"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        p.stdout.close()  # whoever would read the log went away: every log line meets a closed pipe
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if requests.get(url + "/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.05)
        for _ in range(3):  # each request writes a log line into the closed pipe
            assert requests.post(url + "/tokenize", json={"content": "hi"}, timeout=30).status_code == 200
        assert p.poll() is None
    finally:
        p.kill()
        p.wait()


def test_server_n_predict_is_the_default(start_server):
    # Today's llama-server: -n is what a request without n_predict gets; a request's own value wins.
    s = start_server("-np", "1", "-c", "256", "-n", "3")
    body = s.post("/completion", {"prompt": "One, two,", "n_predict": 10, "ignore_eos": True, **GREEDY}).json()
    assert body["tokens_predicted"] == 10
    default = s.post("/completion", {"prompt": "One, two,", **GREEDY}).json()
    assert default["tokens_predicted"] == 3 and default["generation_settings"]["n_predict"] == 3
    assert s.get("/props").json()["default_generation_settings"]["n_predict"] == 3
    assert s.post("/completion", {"prompt": "One, two,", "n_predict": 2, **GREEDY}).json()["tokens_predicted"] == 2


def test_timeout_closes_stalled_connections_only(start_server):
    s = start_server("-np", "1", "-c", "512", "-to", "1", "-t", "1")
    # A client that sends half a request and stalls is cut off after about -to seconds.
    with socket.create_connection(("127.0.0.1", s.port), timeout=15) as sock:
        sock.sendall(b"POST /completion HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100\r\n\r\n{\"prompt\":")
        start = time.time()
        while sock.recv(4096):  # until the server closes the connection
            pass
        assert time.time() - start < 10
    # A request whose answer takes longer than -to is not cut off while the server works on it.
    start = time.time()
    body = s.post("/completion", {"prompt": "Count: 1, 2, 3,", "n_predict": 120, "ignore_eos": True, **GREEDY}).json()
    assert body["tokens_predicted"] == 120
    if time.time() - start < 1.0:
        pytest.skip("generation finished within the 1 s timeout; nothing to check on this machine")


def test_chat_template_flag(start_server):
    s = start_server("-np", "1", "-c", "256", "--chat-template", "gemma")
    prompt = s.post("/apply-template", {"messages": [{"role": "user", "content": "Hi"}]}).json()["prompt"]
    assert "<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n" in prompt


@pytest.mark.parametrize("flags,message", [
    (["-mu", "ftp://localhost/m.gguf"], "--model-url"),
    (["-mu", "http://127.0.0.1:9/m.gguf", "-hfr", "a/b", "-hff", "m.gguf"], "only one"),
    (["-hfr", "ggml-org/models"], "--hf-repo"),
    (["-hff", "m.gguf"], "--hf-file"),
    (["--lora", "adapter.gguf"], "LoRA adapter adapter.gguf: no such readable file"),
    (["--lora-base", "base.gguf"], "--lora-base base.gguf: give the adapters with --lora"),
    (["--mmproj", "proj.gguf"], "--mmproj"),
    (["--grp-attn-n", "2", "--grp-attn-w", "3"], "--grp-attn-w"),
    (["-np", "0"], "-np"),
    (["-n", "-2"], "-n"),
    (["--log-format", "xml"], "--log-format"),
    (["--numa", "spread"], "spread"),
    (["-tb", "513"], "-tb must be at most 512"),
])
def test_unsupported_or_invalid_flags_fail_clearly(flags, message):
    r = subprocess.run([str(cria_binary()), "serve", "-m", str(MODEL), *flags], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and message in r.stderr, r.stderr


def test_unloadable_model_exits_with_error(tmp_path):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 64)
    r = subprocess.run([str(cria_binary()), "serve", "-m", str(bad), "--port", "0"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode != 0 and "failed to load model" in r.stdout + r.stderr
