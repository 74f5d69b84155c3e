"""Connection-level limits: running out of file descriptors, and clients that stop reading."""
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
