#!/usr/bin/env python3
"""Load test for `cria serve` (not a test): aggregate generation tokens/s with concurrent
streams, and time to first token for a ~200-token prompt.

Starts `cria serve -np 4 -t 2` (or uses --url), then:
  1. one streaming request with a ~200-token prompt: time to first token, prompt and generation speed;
  2. N concurrent streaming requests: aggregate generated tokens / wall time.

    .venv/bin/python scripts/load-test.py            # after `swift build -c release`
"""
import argparse
import json
import pathlib
import socket
import subprocess
import sys
import tempfile
import threading
import time

import requests

ROOT = pathlib.Path(__file__).resolve().parents[1]
BASE_TEXT = ("The old lighthouse keeper climbed the spiral stairs every evening, and from the lamp room he watched "
             "the ships pass along the rocky coast while the wind carried the smell of salt and rain. ")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prompt_of(url, tokens, salt):
    """A prompt of about `tokens` tokens (measured with /tokenize), distinct per `salt`."""
    text = f"Story {salt}. "
    while len(requests.post(url + "/tokenize", json={"content": text}).json()["tokens"]) < tokens - 1:
        text += BASE_TEXT
    ids = requests.post(url + "/tokenize", json={"content": text}).json()["tokens"][: tokens - 1]
    return requests.post(url + "/detokenize", json={"tokens": ids}).json()["content"]


def stream(url, prompt, n_predict, out):
    start = time.perf_counter()
    first = None
    count = 0
    final = None
    with requests.post(url + "/completion", json={"prompt": prompt, "n_predict": n_predict, "temperature": 0,
                                                  "ignore_eos": True, "stream": True}, stream=True, timeout=3600) as r:
        r.raise_for_status()
        for line in r.iter_lines(decode_unicode=True):
            if not line.startswith("data: "):
                continue
            event = json.loads(line[6:])
            if event.get("stop"):
                final = event
                break
            count += 1
            if first is None:
                first = time.perf_counter()
    out.append({"start": start, "first": first, "end": time.perf_counter(), "tokens": count, "final": final})


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=str(ROOT / ".build" / "release" / "cria"))
    ap.add_argument("--model", default=str(ROOT / "models" / "gemma-3-270m-q4_k_m.gguf"))
    ap.add_argument("--url", help="use a running server instead of starting one")
    ap.add_argument("--streams", type=int, default=4)
    ap.add_argument("--n-predict", type=int, default=64)
    ap.add_argument("--prompt-tokens", type=int, default=200)
    ap.add_argument("--ctx", type=int, default=8192)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    server = None
    url = args.url
    if not url:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = tempfile.NamedTemporaryFile(prefix="cria-load-", suffix=".log", delete=False)
        cmd = [args.bin, "serve", "-m", args.model, "--port", str(port), "-np", str(args.streams), "-c", str(args.ctx),
               "-t", str(args.threads)]
        print("starting:", " ".join(cmd))
        server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 300
        while True:
            try:
                if requests.get(url + "/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if server.poll() is not None or time.time() > deadline:
                sys.exit(f"server did not start; see {log.name}")
            time.sleep(0.1)
    try:
        # Warm-up (page in the weights).
        requests.post(url + "/completion", json={"prompt": "Hello", "n_predict": 4})

        prompt = prompt_of(url, args.prompt_tokens, "single")
        single = []
        stream(url, prompt, args.n_predict, single)
        s = single[0]
        t = s["final"]["timings"]
        print(f"single stream, {t['prompt_n']}-token prompt: time to first token {1000 * (s['first'] - s['start']):.0f} ms, "
              f"prompt {t['prompt_per_second']:.1f} tok/s, generation {t['predicted_per_second']:.1f} tok/s")

        prompts = [prompt_of(url, args.prompt_tokens, f"stream {i}") for i in range(args.streams)]
        results = []
        threads = [threading.Thread(target=stream, args=(url, p, args.n_predict, results)) for p in prompts]
        start = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall = time.perf_counter() - start
        generated = sum(r["tokens"] for r in results)
        gen_start = min(r["first"] for r in results)
        ttfts = sorted(1000 * (r["first"] - r["start"]) for r in results)
        print(f"{args.streams} concurrent streams, {args.n_predict} tokens each: {generated / wall:.1f} tok/s aggregate "
              f"over the whole run ({generated} tokens in {wall:.2f} s), "
              f"{generated / (max(r['end'] for r in results) - gen_start):.1f} tok/s after the first token; "
              f"time to first token {ttfts[0]:.0f}-{ttfts[-1]:.0f} ms")
    finally:
        if server:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
