"""Work whose client has gone stops: a request reset right after it was sent, queued requests,
and embeddings of many inputs."""
import json
import socket
import struct

import requests

from conftest import wait_for

LONG = {"prompt": "Tell me a story", "n_predict": 2000, "ignore_eos": True}


def _send_and_reset(port, path, body):
    """Sends a request and resets the connection at once (SO_LINGER 0), before any answer."""
    data = json.dumps(body).encode()
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n" % (path.encode(), len(data)) + data)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _idle(server):
    return all(not slot["is_processing"] for slot in server.get("/slots").json())


def test_a_request_reset_right_after_sending_frees_its_slot(start_server):
    # The disconnect could come before the handler looked for the connection's watch; the
    # watch was gone with the closed channel, and the generation ran its whole length for nobody.
    s = start_server("-np", "1", "-c", "4096")
    for attempt in range(10):
        _send_and_reset(s.port, "/completion", LONG)
        assert wait_for(lambda: _idle(s), timeout=15), (attempt, s.get("/slots").json())
    assert s.post("/completion", {"prompt": "Hi", "n_predict": 2}).status_code == 200


def _metric(server, name):
    text = server.get("/metrics").text
    return float(next(line.split()[1] for line in text.splitlines() if line.startswith(f"llamacpp:{name} ")))


def test_queued_requests_whose_clients_left_leave_the_queue(start_server):
    s = start_server("-np", "1", "-c", "4096", "--metrics")
    # The slot's holder streams until this test closes it, however fast the machine.
    holder = requests.post(s.url("/completion"), json={**LONG, "n_predict": -1, "stream": True}, stream=True, timeout=60)
    assert wait_for(lambda: not _idle(s), timeout=30)
    socks = []
    for _ in range(3):
        sock = socket.create_connection(("127.0.0.1", s.port))
        data = json.dumps({"prompt": "Hello", "n_predict": 8}).encode()
        sock.sendall(b"POST /completion HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(data) + data)
        socks.append(sock)
    assert wait_for(lambda: _metric(s, "requests_deferred") == 3, timeout=30)
    for sock in socks:
        sock.close()
    # While the holder still runs, the three are gone from the queue.
    assert wait_for(lambda: _metric(s, "requests_deferred") == 0, timeout=10)
    assert not _idle(s)
    holder.close()
    assert wait_for(lambda: _idle(s), timeout=15)


def test_embeddings_stop_when_the_client_leaves(start_server):
    s = start_server("-np", "1", "-c", "4096", "--embedding")
    inputs = ["hello " * 1500] * 12  # minutes of work on a small machine
    try:
        requests.post(s.url("/v1/embeddings"), json={"input": inputs}, timeout=2)
    except requests.exceptions.Timeout:
        pass
    # The request ends as abandoned (499) within about one chunk of work, not after every input.
    assert wait_for(lambda: '"path":"/v1/embeddings"' in s.output() and '"status":"499"' in s.output(),
                    timeout=60), s.output()[-1500:]
    r = s.post("/v1/embeddings", {"input": "hello"})
    assert r.status_code == 200 and len(r.json()["data"]) == 1
