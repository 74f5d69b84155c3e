"""Connection-level limits: running out of file descriptors, and clients that stop reading."""
import json
import os
import resource
import socket
import threading
import time

import requests

from conftest import wait_for

GREEDY = {"temperature": 0, "prompt": "The capital of France is", "n_predict": 12}


def _low_file_limit():
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))


def test_more_connections_than_descriptors_does_not_kill_the_server(start_server):
    # With 256 descriptors (soft = hard, so the server cannot raise it) and 300 connections
    # opened while streams run, the process used to die: libdispatch aborts when it cannot open
    # /proc files, and the accept loop spun on EMFILE. Connections past the cap are closed at once.
    s = start_server("-np", "4", "-c", "2048", "-t", "2", preexec_fn=_low_file_limit)
    baseline = s.post("/completion", GREEDY).json()["content"]
    session = requests.Session()
    assert session.get(s.url("/health"), timeout=10).status_code == 200  # a kept-alive connection

    stream_errors = []

    def stream():
        try:
            body = {"prompt": "Once upon a time", "n_predict": 64, "stream": True, "ignore_eos": True}
            with requests.post(s.url("/completion"), json=body, stream=True, timeout=120) as r:
                for _ in r.iter_lines():
                    pass
        except requests.RequestException as e:  # a stream cut by the flood is fine; a dead server is not
            stream_errors.append(e)

    streams = [threading.Thread(target=stream) for _ in range(4)]
    for t in streams:
        t.start()
    flood = []
    try:
        for _ in range(300):
            try:
                flood.append(socket.create_connection(("127.0.0.1", s.port), timeout=5))
            except OSError:
                break
        deadline = time.time() + 12
        while time.time() < deadline:
            assert s.process.poll() is None, s.output()[-3000:]
            try:
                session.get(s.url("/health"), timeout=5)
            except requests.RequestException:
                session = requests.Session()
            time.sleep(0.5)
    finally:
        for c in flood:
            c.close()
    for t in streams:
        t.join(timeout=120)
    assert s.process.poll() is None, s.output()[-3000:]
    assert "too many open connections" in s.output()
    assert wait_for(lambda: requests.get(s.url("/health"), timeout=5).status_code == 200, timeout=20)
    assert s.post("/completion", GREEDY).json()["content"] == baseline


def test_a_client_that_stops_reading_is_dropped_after_the_timeout(start_server):
    # A stream whose client stops reading (without closing) fills the socket buffers; after -to
    # seconds of a blocked write the server closes the connection and frees the slot, instead of
    # holding it for the whole generation and buffering its events.
    s = start_server("-np", "1", "-c", "2048", "-t", "2", "-to", "2")
    body = (b'{"prompt":"Tell a story","n_predict":1500,"stream":true,"ignore_eos":true,"n_probs":1000}')
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", s.port))
    sock.sendall(b"POST /completion HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    start = time.time()

    def idle():
        return s.get("/health", params={"include_slots": ""}).json().get("slots_idle") == 1

    assert wait_for(lambda: not idle(), timeout=10)  # the stream is running
    # 1500 tokens take far longer than this; the blocked write is cut after about 2 s.
    assert wait_for(idle, timeout=40), s.get("/slots").json()
    assert time.time() - start < 40
    sock.setblocking(False)
    closed = False
    deadline = time.time() + 10
    while time.time() < deadline and not closed:  # drain what the buffers held: then end of stream
        try:
            closed = sock.recv(1 << 20) == b""
        except BlockingIOError:
            time.sleep(0.05)
    sock.close()
    assert closed
    assert s.post("/completion", GREEDY).status_code == 200


def _exchange(port, data, timeout=5):
    """Sends raw bytes and reads until the server closes the connection (or `timeout` passes,
    which fails: each exchange here must end with the server closing)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
    return out


def test_http10_requests_close_and_stream_without_chunking(server):
    # HTTP/1.0 means close unless keep-alive is asked for; a client reading to the end of the
    # connection used to wait for the idle timeout. Its streams are delimited by the close, not
    # chunked (which HTTP/1.0 clients do not decode).
    out = _exchange(server.port, b"GET /health HTTP/1.0\r\n\r\n")
    head, body = out.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.0 200") and b"connection: close" in head.lower()
    assert b'"status"' in body
    body = b'{"prompt":"Hi","n_predict":3,"stream":true,"temperature":0}'
    out = _exchange(server.port, b"POST /completion HTTP/1.0\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n" % len(body) + body, timeout=60)
    head, body = out.split(b"\r\n\r\n", 1)
    assert b"transfer-encoding" not in head.lower()
    events = [line for line in body.split(b"\n") if line]
    assert events and all(line.startswith(b"data: ") for line in events), body[:300]
    assert b'"stop":true' in events[-1]


def test_connection_close_in_any_form_closes(server):
    for value in (b"Close", b"keep-alive, close", b"CLOSE, TE"):
        out = _exchange(server.port, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: " + value + b"\r\n\r\n")
        assert out.startswith(b"HTTP/1.1 200") and b"connection: close" in out.lower(), (value, out[:200])


def test_head_is_get_without_the_body(server):
    # As cpp-httplib (llama-server's HTTP library): HEAD on a GET route has the GET's headers.
    got = server.get("/v1/models")
    out = _exchange(server.port, b"HEAD /v1/models HTTP/1.1\r\nHost: x\r\n\r\n"
                    b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    first, rest = out.split(b"\r\n\r\n", 1)
    assert first.startswith(b"HTTP/1.1 200")
    assert b"content-length: %d" % len(got.content) in first.lower()
    assert rest.startswith(b"HTTP/1.1 200"), rest[:100]  # no body between the two responses


def test_expect_100_continue_is_answered_before_the_body(server):
    body = b'{"content":"Hello"}'
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"POST /tokenize HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                     b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body))
        interim = sock.recv(4096)  # before the body is sent: the socket's timeout would fail it
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(body)
        reply = b""
        while b"}" not in reply:
            reply += sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 200") and b'"tokens"' in reply


def test_100_continue_waits_for_the_pipelined_response_before_it(server):
    # A 100 written while an earlier response still streams would land inside that response.
    stream = b'{"prompt":"Once upon a time","n_predict":24,"stream":true,"ignore_eos":true}'
    body = b'{"content":"Hello"}'
    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as sock:
        sock.sendall(b"POST /completion HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(stream) + stream +
                     b"POST /tokenize HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nConnection: close\r\n"
                     b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body))
        out = b""
        while b"HTTP/1.1 100 Continue" not in out:
            chunk = sock.recv(65536)
            assert chunk, out[-300:]
            out += chunk
        sock.sendall(body)
        while chunk := sock.recv(65536):
            out += chunk
    first, rest = out.split(b"HTTP/1.1 100 Continue\r\n\r\n")
    assert first.endswith(b"0\r\n\r\n") and first.count(b'"stop":true') == 1  # the stream had ended
    assert rest.startswith(b"HTTP/1.1 200") and b'"tokens"' in rest


def test_http10_keep_alive_stream_still_ends_with_the_close(server):
    # A stream has no length, so an HTTP/1.0 response to it ends by closing, keep-alive or not.
    body = b'{"prompt":"Hi","n_predict":3,"stream":true,"temperature":0}'
    out = _exchange(server.port, b"POST /completion HTTP/1.0\r\nConnection: keep-alive\r\n"
                    b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body, timeout=60)
    head, rest = out.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.0 200") and b"connection: close" in head.lower()
    assert b'"stop":true' in rest
    # With a length, HTTP/1.0 keep-alive is kept: a second request on the same connection answers.
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        for _ in range(2):
            sock.sendall(b"GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            reply = b""
            while b'"status"' not in reply:
                chunk = sock.recv(4096)
                assert chunk, reply
                reply += chunk
            assert reply.startswith(b"HTTP/1.0 200")


def _sockets(pid):
    count = 0
    for name in os.listdir(f"/proc/{pid}/fd"):
        try:
            count += os.readlink(f"/proc/{pid}/fd/{name}").startswith("socket:")
        except OSError:
            pass  # closed while listing
    return count


def test_a_closing_connection_frees_its_descriptor_though_the_client_stays(server):
    # After a `Connection: close` response the server used to half-close only and wait for the
    # client's end: a client that kept its socket open held a descriptor until `-to` (600 s).
    before = _sockets(server.process.pid)
    kept = []
    for i in range(20):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        sock.sendall(b"GET /health HTTP/1.0\r\n\r\n" if i % 2 else
                     b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        reply = b""
        while chunk := sock.recv(4096):  # the server's FIN ends the response
            reply += chunk
        assert b'"status"' in reply
        kept.append(sock)
    try:
        assert wait_for(lambda: _sockets(server.process.pid) < before + 5, timeout=15), \
            (before, _sockets(server.process.pid))
    finally:
        for sock in kept:
            sock.close()
    assert server.get("/health").status_code == 200


def test_an_oversized_body_announced_with_expect_is_refused_before_it_is_sent(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"POST /completion HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 100000000\r\n\r\n")
        reply = b""
        while chunk := sock.recv(65536):  # no body sent: the server answers and closes
            reply += chunk
    head, body = reply.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 413") and b"connection: close" in head.lower()
    error = json.loads(body)["error"]
    assert error["code"] == 413 and error["type"] == "invalid_request_error"
    # Within the limit the interim answer still comes.
    test_expect_100_continue_is_answered_before_the_body(server)
