"""SIGTERM/SIGINT: stop accepting, let running generations finish within --shutdown-timeout,
then end them with a final event and exit 0; a second signal exits at once."""
import json
import signal
import threading
import time

import requests

from conftest import CriaServer


def stream_in_background(server, body, path="/completion"):
    """Starts a streaming request; returns (events, thread, first_event) where `events` fills up."""
    events, first = [], threading.Event()

    def read():
        try:
            with requests.post(server.url(path), json={**body, "stream": True}, stream=True, timeout=300) as r:
                for line in r.iter_lines(decode_unicode=True):
                    if line and line.startswith("data: "):
                        payload = line[len("data: "):]
                        events.append(payload if payload == "[DONE]" else json.loads(payload))
                        first.set()
        except requests.RequestException:
            events.append("cut")  # the stream broke (expected only when a second signal kills the server)

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    assert first.wait(120), "the stream never started"
    return events, thread


def start(*args):
    return CriaServer(["-np", "2", "-c", "2048", "-t", "2", *args])


def test_sigterm_ends_a_long_stream_with_a_final_event_and_exits_0():
    s = start("--shutdown-timeout", "1")
    try:
        events, reader = stream_in_background(s, {"prompt": "Once upon a time", "n_predict": 1500, "ignore_eos": True})
        s.process.send_signal(signal.SIGTERM)
        began = time.time()
        assert s.process.wait(timeout=60) == 0, s.output()
        reader.join(30)
        assert not reader.is_alive()
        final = events[-1]
        assert final != "cut" and final["stop"] is True and final["stop_type"] == "limit"
        assert 0 < final["tokens_predicted"] < 1500
        assert time.time() - began < 30
        log = s.output()
        assert "received SIGTERM" in log and "grace period over" in log
    finally:
        s.stop()


def test_running_requests_finish_within_the_grace_period_and_new_connections_are_refused():
    # Gemma's own chat format: under the ChatML fallback the test model's reply ends at once.
    s = start("--shutdown-timeout", "120", "--chat-template", "gemma")
    try:
        chat = {"messages": [{"role": "user", "content": "Tell a story"}], "max_tokens": 40, "temperature": 0}
        events, reader = stream_in_background(s, {**chat, "stream_options": {"include_usage": True}},
                                              path="/v1/chat/completions")
        s.process.send_signal(signal.SIGINT)
        time.sleep(0.5)
        try:
            requests.get(s.url("/health"), timeout=5)
            refused = False
        except requests.ConnectionError:
            refused = True
        assert refused, "the listener still accepts connections after SIGINT"
        assert s.process.wait(timeout=120) == 0, s.output()
        reader.join(30)
        assert events[-1] == "[DONE]"
        usage = [e for e in events if isinstance(e, dict) and e.get("usage")]
        assert usage and usage[-1]["usage"]["completion_tokens"] == 40  # it ran to its own end
        assert "grace period over" not in s.output()
    finally:
        s.stop()


def test_an_idle_server_exits_at_once_and_a_second_signal_does_not_wait():
    idle = start()
    began = time.time()
    idle.process.send_signal(signal.SIGTERM)
    assert idle.process.wait(timeout=30) == 0 and time.time() - began < 10, idle.output()

    busy = start("--shutdown-timeout", "300")
    try:
        stream_in_background(busy, {"prompt": "Once upon a time", "n_predict": 1500, "ignore_eos": True})
        busy.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert busy.process.poll() is None  # still finishing the stream
        busy.process.send_signal(signal.SIGTERM)
        assert busy.process.wait(timeout=10) == 1
        assert "second signal" in busy.output()
    finally:
        busy.stop()


def test_bad_shutdown_timeout_is_refused(cria, model_path):
    r = cria("serve", "-m", model_path, "--shutdown-timeout", "-1", check=False)
    assert r.returncode != 0 and "--shutdown-timeout" in r.stderr
