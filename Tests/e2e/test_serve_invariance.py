"""Same request, same answer: in the default (invariant) numerics a greedy request gets the same
tokens whatever the cache state, the micro-batch size, the thread count or the other requests
running beside it."""
from concurrent.futures import ThreadPoolExecutor

import pytest

# Long enough (over 64 tokens) that llama.cpp's numerics would tile its attention and pick
# batch-dependent matmul orders for it.
PROMPT = ("The harbour town woke slowly. Fishermen untangled their nets on the quay while gulls argued over "
          "the scraps, and the baker opened his shutters to let the smell of fresh bread drift down the "
          "cobbled street towards the lighthouse, where the old keeper was already writing in his logbook about "
          "the storm that had kept every boat in the harbour for three long days and nights, and about")
OTHERS = ["Once upon a time", "The capital of France is", "def fibonacci(n):\n    " * 8]


def greedy(server, cache_prompt=False, prompt=PROMPT, n=32):
    r = server.post("/completion", {"prompt": prompt, "n_predict": n, "temperature": 0, "return_tokens": True,
                                    "cache_prompt": cache_prompt})
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture(scope="module")
def alone(server):
    out = greedy(server)
    assert out["tokens_evaluated"] > 64 and len(out["tokens"]) == 32
    return out["tokens"]


def test_second_time_from_the_prompt_cache(server, alone):
    first = greedy(server, cache_prompt=True)
    second = greedy(server, cache_prompt=True)
    assert second["tokens_cached"] > 0 or second["timings"]["prompt_n"] < second["tokens_evaluated"]
    assert first["tokens"] == alone and second["tokens"] == alone


def test_other_micro_batch_size(start_server, alone):
    s = start_server("-np", "4", "-c", "4096", "-t", "2", "-ub", "16", "-b", "16")
    assert greedy(s)["tokens"] == alone


def test_one_thread(start_server, alone):
    s = start_server("-np", "4", "-c", "4096", "-t", "1")
    assert greedy(s)["tokens"] == alone


def test_beside_three_concurrent_requests(server, alone):
    with ThreadPoolExecutor(max_workers=4) as pool:
        others = [pool.submit(greedy, server, False, p, 48) for p in OTHERS]
        mine = pool.submit(greedy, server)
        assert mine.result()["tokens"] == alone
        assert all(len(o.result()["tokens"]) == 48 for o in others)

