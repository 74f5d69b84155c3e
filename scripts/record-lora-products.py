#!/usr/bin/env python3
"""Records llama.cpp's LoRA adapter products (f32 and f16 lora_a/lora_b matrices, through its
sgemm and through its vec_dot) into Tests/NumericsTests/Fixtures/lora-products.json, for
LlamaFloatProductsTests: Cria's llama.cpp-exact numerics must give the same bits.

    LLAMA_CPP_SRC=... LLAMA_CPP_BUILD=... .venv/bin/python scripts/record-lora-products.py

It writes the adapter of scripts/make-lora-adapter.py (layer 0 F32, layer 1 F16), runs the test
model on the english_prose reference prompt (13 tokens) with scripts/llama-dump-tensors.c, once
as one batch (sgemm: 13 rows) and once as 12 + 1 (vec_dot: the last row alone), and keeps, for
attn_q of layers 0 and 1: the input rows (attn_norm), the first 4 rows of lora_a, the first 16 of
lora_b, and llama.cpp's products with them. Floats are stored as base64 of little-endian f32.
"""
import base64
import glob
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np
import gguf

ROOT = pathlib.Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "gemma-3-270m-q4_k_m.gguf"
OUT = ROOT / "Tests" / "NumericsTests" / "Fixtures" / "lora-products.json"
TOKENS = "2,818,2255,63937,64222,54264,506,32450,31393,1418,9137,236764,532"
A_ROWS, B_ROWS, X_ROWS = 4, 16, 2


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode()


def tensor(folder, pattern, index=0):
    path = sorted(glob.glob(os.path.join(folder, pattern)))[index]
    raw = open(path, "rb").read()
    width, rows = np.frombuffer(raw[:16], dtype="<i8")
    return np.frombuffer(raw[16:], dtype="<f4").reshape(rows, width)


def lora_nodes(folder, layer):
    """attn_norm, lora_a product, lora_b product of attn_q in `layer` (the graph's order)."""
    names = sorted(os.listdir(folder))
    start = next(i for i, n in enumerate(names) if n.endswith(f"_attn_norm-{layer}_MUL.bin"))
    load = lambda i: tensor(folder, names[i])
    # attn_norm, q base product, lora_a product, lora_b product
    return load(start), load(start + 2), load(start + 3)


def main():
    src, build = os.environ["LLAMA_CPP_SRC"], os.environ["LLAMA_CPP_BUILD"]
    with tempfile.TemporaryDirectory() as tmp:
        adapter = os.path.join(tmp, "lora.gguf")
        subprocess.run([sys.executable, str(ROOT / "scripts" / "make-lora-adapter.py"), adapter], check=True)
        tool = os.path.join(tmp, "dump")
        subprocess.run(["cc", "-O2", "-o", tool, str(ROOT / "scripts" / "llama-dump-tensors.c"),
                        f"-I{src}/include", f"-I{src}/ggml/include", f"-L{build}/bin", "-lllama", "-lggml",
                        "-lggml-base", f"-Wl,-rpath,{build}/bin"], check=True)
        runs = {}
        for name, split in (("sgemm", 0), ("vec_dot", 12)):
            folder = os.path.join(tmp, name)
            os.mkdir(folder)
            subprocess.run([tool, str(MODEL), folder, str(split), TOKENS, adapter], check=True)
            runs[name] = folder
        reader = gguf.GGUFReader(adapter)
        weights = {t.name: np.array(t.data, dtype=np.float32) for t in reader.tensors}
        cases = []
        for layer, dtype in ((0, "f32"), (1, "f16")):
            case = {"type": dtype,
                    "a": b64(weights[f"blk.{layer}.attn_q.weight.lora_a"].reshape(8, 640)[:A_ROWS]),
                    "b": b64(weights[f"blk.{layer}.attn_q.weight.lora_b"].reshape(1024, 8)[:B_ROWS])}
            for path, folder in runs.items():
                x, ax, bax = lora_nodes(folder, layer)
                rows = X_ROWS if path == "sgemm" else 1
                case[path] = {"x": b64(x[:rows]), "ax_all": b64(ax[:rows]), "ax": b64(ax[:rows, :A_ROWS]),
                              "bax": b64(bax[:rows, :B_ROWS])}
            cases.append(case)
    meta = {"source": "scripts/record-lora-products.py", "model": MODEL.name, "tokens": TOKENS,
            "shapes": {"a": [A_ROWS, 640], "b": [B_ROWS, 8], "x": "rows x 640", "ax": "rows x 4",
                       "ax_all": "rows x 8 (lora_b's input)", "bax": "rows x 16"}}
    OUT.write_text(json.dumps({"meta": meta, "cases": cases}, indent=1) + "\n")


if __name__ == "__main__":
    main()
