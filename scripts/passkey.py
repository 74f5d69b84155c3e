#!/usr/bin/env python3
"""Pass-key retrieval against a running server (llama-server or cria serve): a five-digit key is
stated near the start of a filler text of a given length and asked for at the end; greedy.
Prints the share of keys read back at each length. Used for the self-extend experiment
(docs/compatibility.md); e.g. with servers started as
  cria serve -m MODEL -c 8192 -np 1 --grp-attn-n 4 --grp-attn-w 512 --port 8081
    .venv/bin/python scripts/passkey.py --url http://127.0.0.1:8081 --lengths 512,1024,1536,2048 --keys 8
"""
import argparse
import random

import requests

FILLER = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again. "


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:8080")
    ap.add_argument("--lengths", default="512,1024,1536,2048", help="prompt lengths in tokens (approximate)")
    ap.add_argument("--keys", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    filler_tokens = len(requests.post(a.url + "/tokenize", json={"content": FILLER}).json()["tokens"])
    for length in map(int, a.lengths.split(",")):
        hits = 0
        for _ in range(a.keys):
            key = str(rng.randint(10000, 99999))
            repeats = max(1, length // filler_tokens)
            before = rng.randint(0, min(3, repeats))
            prompt = (FILLER * before + f"The pass key is {key}. Remember it. {key} is the pass key. "
                      + FILLER * (repeats - before) + "What is the pass key? The pass key is")
            r = requests.post(a.url + "/completion", json={"prompt": prompt, "n_predict": 8, "temperature": 0,
                                                          "cache_prompt": False}).json()
            hits += key in r["content"]
        print(f"{length:6d} tokens: {hits}/{a.keys} keys read back", flush=True)


if __name__ == "__main__":
    main()
