"""Logging: --log-file, --log-disable, --log-format, -lv; request lines carry their duration
and each request is logged once."""
import json
import re
import time

from conftest import CriaServer, wait_for


def test_log_file_gets_every_line_and_requests_carry_their_duration(tmp_path):
    path = tmp_path / "cria.log"
    s = CriaServer(["-np", "1", "-c", "256", "-t", "2", "--log-file", path])
    try:
        s.post("/tokenize", {"content": "hi"})
        r = s.post("/completion", {"prompt": "Hi", "n_predict": 8, "stream": True}, stream=True)
        body = r.text  # the whole stream
        assert body.endswith("\n\n")
        assert wait_for(lambda: '"path":"/completion"' in path.read_text())
        lines = [json.loads(line) for line in path.read_text().splitlines()]
        requests_logged = [e for e in lines if e["msg"] == "request"]
        tokenize = [e for e in requests_logged if e["path"] == "/tokenize"]
        stream = [e for e in requests_logged if e["path"] == "/completion"]
        assert len(tokenize) == 1 and len(stream) == 1  # logged once each
        assert float(tokenize[0]["duration_ms"]) >= 0 and stream[0]["status"] == "200"
        # A stream's line is written when its last event has gone out, so it covers the generation.
        assert float(stream[0]["duration_ms"]) > 0
        assert any(e["msg"] == "model loaded" for e in lines)
        # Which kernels run, and how far ahead they prefetch and why (as `cria bench` says it).
        kernels = [e for e in lines if e["msg"] == "CPU kernels"]
        assert len(kernels) == 1 and kernels[0]["path"] in ("avx512", "avx2", "portable"), kernels
        assert re.fullmatch(r"prefetch \d+ bytes ahead( \(.+\))?", kernels[0]["prefetch"]), kernels
        assert len([e for e in lines if "listening" in e["msg"]]) == 1  # said once, after the port is bound
        # The file holds what stdout shows, line for line; no line is written twice.
        console = s.output().splitlines()
        assert [line for line in path.read_text().splitlines()] == console[:len(lines)]
        assert len(set(map(json.dumps, lines))) == len(lines)
    finally:
        s.stop()


def test_log_disable_writes_nothing_but_still_fills_a_log_file(tmp_path):
    quiet = CriaServer(["-np", "1", "-c", "256", "-t", "2", "--log-disable"])
    try:
        quiet.post("/tokenize", {"content": "hi"})
        quiet.get("/no-such-route")
    finally:
        quiet.stop()
    assert quiet.output() == ""
    path = tmp_path / "only-file.log"
    filed = CriaServer(["-np", "1", "-c", "256", "-t", "2", "--log-disable", "--log-file", path, "--log-format", "text"])
    try:
        filed.post("/tokenize", {"content": "hi"})
        assert wait_for(lambda: "path=/tokenize" in path.read_text())
    finally:
        filed.stop()
    assert filed.output() == ""
    assert any(line.startswith("INFO request ") and "duration_ms=" in line for line in path.read_text().splitlines())


def test_verbosity_drops_lines_above_the_level():
    s = CriaServer(["-np", "1", "-c", "256", "-t", "2", "-lv", "2", "--numa", "distribute", "--log-format", "text"])
    try:
        s.post("/tokenize", {"content": "hi"})
    finally:
        s.stop()
    lines = s.output().splitlines()
    assert any(line.startswith("WARN ") and "--numa" in line for line in lines)
    assert not any(line.startswith("INFO ") for line in lines)


def test_bad_log_flags_are_refused(cria, model_path, tmp_path):
    r = cria("serve", "-m", model_path, "--log-file", tmp_path / "no" / "such" / "dir.log", check=False)
    assert r.returncode != 0 and "--log-file" in r.stderr
    r = cria("serve", "-m", model_path, "-lv", "-3", check=False)
    assert r.returncode != 0 and "-lv" in r.stderr


def test_a_request_abandoned_while_queued_is_logged_as_499(start_server):
    # A non-streamed request whose client leaves while it waits for a slot was logged as a 500;
    # it is the client's doing (nginx's 499), and the server's errors stay meaningful.
    import socket
    import threading
    s = start_server("-np", "1", "-c", "1024", "-t", "2")
    busy = threading.Thread(target=lambda: s.post("/completion", {"prompt": "Count", "n_predict": 200,
                                                                  "ignore_eos": True}))
    busy.start()
    assert wait_for(lambda: s.get("/health").json()["slots_idle"] == 0)
    body = b'{"prompt":"Queued","n_predict":4}'
    with socket.create_connection(("127.0.0.1", s.port)) as sock:
        sock.sendall(b"POST /completion HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body) + body)
        time.sleep(1.0)  # the request is in the server's queue (the slot is busy); then leave
    busy.join()
    assert wait_for(lambda: '"status":"499"' in s.output(), timeout=20), s.output()[-2000:]
    assert '"status":"500"' not in s.output()
