#!/usr/bin/env python3
"""Records llama.cpp's greedy tokens with the generated LoRA adapter into
Tests/Fixtures/reference/gemma3-270m/lora.json (the e2e tests only read that file).

    LD_LIBRARY_PATH=DIR .venv/bin/python scripts/record-lora-reference.py DIR/llama-server

It writes the adapter with scripts/make-lora-adapter.py, starts llama-server with
`--lora ADAPTER` on the test model, and asks for 48 greedy tokens of each reference prompt
(Tests/Fixtures/reference/gemma3-270m/completions.json) at adapter scale 1 (the server's) and
at 0.5 (the request's "lora" field).
"""
import json
import pathlib
import socket
import subprocess
import sys
import tempfile
import time

import requests

ROOT = pathlib.Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "gemma-3-270m-q4_k_m.gguf"
REFERENCE = ROOT / "Tests" / "Fixtures" / "reference" / "gemma3-270m"
SERVER_ARGS = ["-c", "4096", "-np", "4", "-t", "2"]
SCALES = [1.0, 0.5]


def main():
    server = sys.argv[1]
    prompts = json.loads((REFERENCE / "completions.json").read_text())["completions"]
    with tempfile.TemporaryDirectory() as tmp:
        adapter = pathlib.Path(tmp) / "lora.gguf"
        subprocess.run([sys.executable, str(ROOT / "scripts" / "make-lora-adapter.py"), str(adapter)], check=True)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        args = [server, "-m", str(MODEL), "--lora", str(adapter), *SERVER_ARGS, "--port", str(port)]
        process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(600):
                try:
                    if requests.get(base + "/health", timeout=1).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                time.sleep(0.2)
            records = []
            for p in prompts:
                for scale in SCALES:
                    body = {"prompt": p["prompt"], "n_predict": 48, "temperature": 0, "top_k": 1, "cache_prompt": False,
                            "return_tokens": True, "repeat_penalty": 1.0, "seed": 42, "lora": [{"id": 0, "scale": scale}]}
                    reply = requests.post(base + "/completion", json=body, timeout=300).json()
                    records.append({"name": p["name"], "scale": scale, "tokens": reply["tokens"]})
            adapters = requests.get(base + "/lora-adapters", timeout=10).json()
        finally:
            process.terminate()
            process.wait()
    out = {"meta": {"server_args": " ".join(["--lora", "ADAPTER", *SERVER_ARGS]),
                    "adapter": "scripts/make-lora-adapter.py (default variant)",
                    "lora_adapters": [{k: v for k, v in a.items() if k != "path"} for a in adapters],
                    "request_template": {"n_predict": 48, "temperature": 0, "top_k": 1, "cache_prompt": False, "repeat_penalty": 1.0,
                                         "lora": [{"id": 0, "scale": "<scale>"}]}},
           "completions": records}
    lines = ["{", f'  "meta": {json.dumps(out["meta"])},', '  "completions": [']
    lines.append(",\n".join("    " + json.dumps(r) for r in records))
    lines += ["  ]", "}"]
    (REFERENCE / "lora.json").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
