"""Continuous batching with -np 4: concurrent requests finish and match sequential greedy output."""
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from conftest import REFERENCE


def prompts():
    cases = json.loads((REFERENCE / "completions.json").read_text())["completions"]
    names = [c["prompt"] for c in cases]
    return (names + [p + " Again," for p in names])[:8]


def complete(server, prompt, n=8):
    r = server.post("/completion", {"prompt": prompt, "n_predict": n, "temperature": 0, "return_tokens": True})
    assert r.status_code == 200, r.text
    return r.json()


def test_eight_concurrent_requests_match_sequential(server):
    ps = prompts()
    sequential = [complete(server, p)["tokens"] for p in ps]
    with ThreadPoolExecutor(max_workers=8) as pool:
        concurrent = list(pool.map(lambda p: complete(server, p), ps))
    assert [c["tokens"] for c in concurrent] == sequential
    assert all(c["tokens_predicted"] == 8 for c in concurrent)
    assert len({c["id_slot"] for c in concurrent}) > 1  # work really was spread over slots


def metrics(server):
    lines = server.get("/metrics").text.splitlines()
    return {line.split()[0]: float(line.split()[1]) for line in lines if not line.startswith("#")}


def test_busy_slots_defer_and_report_no_slot(start_server):
    s = start_server("-np", "1", "-c", "512", "--metrics")
    first = {}

    def long_request():
        first["body"] = complete(s, "Count: 1, 2, 3,", n=64)

    t = threading.Thread(target=long_request)
    t.start()
    deadline = time.time() + 60
    while s.get("/health").json()["slots_idle"] != 0 and time.time() < deadline:
        time.sleep(0.02)
    health = s.get("/health")
    assert health.status_code == 200 and health.json()["status"] == "no slot available"
    assert s.get("/health?fail_on_no_slot").status_code == 503
    second = {}
    waiting = threading.Thread(target=lambda: second.update(body=complete(s, "Hello", n=2)))  # waits for the slot
    waiting.start()
    # While the first runs, the metrics count it as processing and the second as deferred.
    busy = lambda m: m.get("llamacpp:requests_deferred") == 1 and m.get("llamacpp:requests_processing") == 1
    seen = {}
    while time.time() < deadline and first.get("body") is None and not busy(seen):
        seen = metrics(s)
    assert busy(seen), seen
    assert 0 < seen["llamacpp:kv_cache_usage_ratio"] <= 1 and seen["llamacpp:kv_cache_tokens"] > 0
    waiting.join()
    t.join()
    queued = second["body"]
    assert queued["tokens_predicted"] == 2 and first["body"]["tokens_predicted"] == 64
    after = metrics(s)
    assert after["llamacpp:requests_deferred"] == 0 and after["llamacpp:requests_processing"] == 0
    assert after["llamacpp:tokens_predicted_total"] == 66 and after["llamacpp:prompt_tokens_seconds"] > 0
    assert s.get("/health").json() == {"status": "ok", "slots_idle": 1, "slots_processing": 0}


def test_client_disconnect_frees_slot(start_server):
    s = start_server("-np", "1", "-c", "512")
    r = requests.post(s.url("/completion"), json={"prompt": "Count: 1, 2, 3,", "n_predict": 2000, "stream": True},
                      stream=True, timeout=120)
    lines = r.iter_lines()
    next(lines)  # the first token arrived: generation is running
    r.close()
    deadline = time.time() + 60
    while s.get("/health").json()["slots_idle"] != 1:
        assert time.time() < deadline, "slot not freed after disconnect"
        time.sleep(0.05)
    slot = s.get("/slots").json()[0]
    assert slot["next_token"]["n_decoded"] < 2000
    assert complete(s, "Hello", n=2)["tokens_predicted"] == 2


def test_a_short_prompt_does_not_wait_for_a_long_prefill(start_server):
    # The prompt rows of a step went to the slots in slot order, so a short request waited for a
    # long prompt's whole prefill; now the shortest remaining prompt goes first (invariant
    # numerics: a row's numbers do not depend on its batch).
    s = start_server("-np", "2", "-c", "8192", "-b", "512", "-ub", "128")
    order = []
    long_prompt = " ".join(f"word{i}" for i in range(2500))

    def long_stream():
        with requests.post(s.url("/completion"), json={"prompt": long_prompt, "n_predict": 2, "stream": True,
                                                       "return_progress": True}, stream=True, timeout=600) as r:
            for line in r.iter_lines():
                if line.startswith(b"data: ") and b'"content"' in line and b"prompt_progress" not in line:
                    order.append("long first token")
                    return

    t = threading.Thread(target=long_stream)
    t.start()
    # Once the long prompt is being ingested, a short request arrives.
    deadline = time.time() + 60
    while time.time() < deadline and not any(slot["is_processing"] for slot in s.get("/slots").json()):
        time.sleep(0.01)
    short = s.post("/completion", {"prompt": "Hi", "n_predict": 2})
    order.append("short done")
    t.join()
    assert short.status_code == 200
    assert order == ["short done", "long first token"], order
