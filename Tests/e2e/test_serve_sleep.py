"""--sleep-idle-seconds: the model is unloaded after idling and loaded again by the next request
that needs it; /health, /props, /models and /metrics answer meanwhile without waking it."""
import subprocess

from conftest import MODEL, cria_binary, wait_for

GREEDY = {"prompt": "The capital of France is", "n_predict": 8, "temperature": 0}


def _rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def _sleeping(server):
    r = server.get("/props")
    assert r.status_code == 200
    return r.json()["is_sleeping"]


def _metrics(server, *names):
    """Values from one scrape (each scrape starts a new throughput window)."""
    lines = server.get("/metrics").text.splitlines()
    return [float(next(line.split()[1] for line in lines if line.startswith(f"llamacpp:{name} "))) for name in names]


def _metric(server, name):
    text = server.get("/metrics").text
    return float(next(line.split()[1] for line in text.splitlines() if line.startswith(f"llamacpp:{name} ")))


def test_the_model_sleeps_when_idle_and_wakes_for_work(start_server):
    s = start_server("--sleep-idle-seconds", "1", "--metrics", "-np", "2", "-c", "1024")
    awake = s.post("/completion", GREEDY)
    assert awake.status_code == 200
    rss_awake = _rss_kib(s.process.pid)
    predicted = _metric(s, "tokens_predicted_total")
    assert predicted >= 8
    assert wait_for(lambda: _sleeping(s), timeout=20)

    # Asleep: the weights, KV cache and threads are gone (the test model's weights alone are
    # over 200 MB in memory).
    assert wait_for(lambda: _rss_kib(s.process.pid) < rss_awake - 150_000, timeout=10), \
        (rss_awake, _rss_kib(s.process.pid))
    # The exempt routes answer from what was there when it fell asleep, and do not wake it.
    assert s.get("/health").json()["status"] == "ok"
    models = s.get("/v1/models").json()["data"]
    assert len(models) == 1 and models[0]["id"] == s.get("/models").json()["data"][0]["id"]
    assert _metric(s, "tokens_predicted_total") == predicted
    assert _sleeping(s)

    # Work wakes it, with the same model: greedy output does not change over a sleep.
    again = s.post("/completion", GREEDY)
    assert again.status_code == 200
    assert again.json()["content"] == awake.json()["content"]
    assert not _sleeping(s)
    # Totals run on across the sleep.
    assert _metric(s, "tokens_predicted_total") == predicted + again.json()["tokens_predicted"]


def test_settings_changed_at_run_time_survive_a_sleep(start_server):
    s = start_server("--sleep-idle-seconds", "1", "-np", "1", "-c", "512")
    r = s.post("/props", {"system_prompt": {"prompt": "You are terse.", "anti_prompt": "User:",
                                             "assistant_name": "Assistant:"}})
    assert r.status_code == 200
    assert wait_for(lambda: _sleeping(s), timeout=20)
    assert s.get("/props").json()["system_prompt"] == "You are terse."
    # Tokenizing needs the model: it wakes it.
    assert s.post("/tokenize", {"content": "Hello"}).status_code == 200
    assert not _sleeping(s)
    assert s.get("/props").json()["system_prompt"] == "You are terse."


def test_requests_arriving_together_wake_it_once(start_server):
    import concurrent.futures
    s = start_server("--sleep-idle-seconds", "1", "-np", "4", "-c", "2048")
    assert wait_for(lambda: _sleeping(s), timeout=20)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(lambda _: s.post("/completion", GREEDY), range(4)))
    assert all(r.status_code == 200 for r in replies)
    assert len({r.json()["content"] for r in replies}) == 1
    assert s.output().count("awake: the model is loaded again") == 1


def test_sleep_idle_seconds_is_checked():
    for value in ("0", "-2", "abc"):
        p = subprocess.run([str(cria_binary()), "serve", "-m", str(MODEL), "--sleep-idle-seconds", value],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode != 0 and "sleep-idle-seconds" in p.stderr, (value, p.stderr)


def test_throughput_gauges_cover_the_time_since_the_previous_scrape(start_server):
    # As llama-server: each scrape starts a new window, asleep or not, and waking up does not
    # report the last generation again.
    s = start_server("--sleep-idle-seconds", "1", "--metrics", "-np", "1", "-c", "512")
    assert s.post("/completion", {"prompt": "Hello", "n_predict": 8}).status_code == 200
    assert wait_for(lambda: _sleeping(s), timeout=20)
    assert _metric(s, "predicted_tokens_seconds") > 0
    assert _metrics(s, "predicted_tokens_seconds", "prompt_tokens_seconds") == [0, 0]
    assert s.post("/tokenize", {"content": "Hello"}).status_code == 200
    assert not _sleeping(s)
    assert _metric(s, "predicted_tokens_seconds") == 0
    assert s.post("/completion", {"prompt": "Hello", "n_predict": 4}).status_code == 200
    assert all(v > 0 for v in _metrics(s, "predicted_tokens_seconds", "prompt_tokens_seconds"))
