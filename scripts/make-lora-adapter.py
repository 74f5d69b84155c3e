#!/usr/bin/env python3
"""Writes a small random LoRA adapter (GGUF, gguf-py) for the test model, Gemma 3 270M.

    .venv/bin/python scripts/make-lora-adapter.py OUT.gguf [--variant NAME]

The numbers come from numpy's legacy RandomState with a fixed seed, so every run writes the
same file; the e2e tests generate it into a temporary folder and llama.cpp's tokens for it are
recorded in Tests/Fixtures/reference/gemma3-270m/lora.json (scripts/record-lora-reference.py).

Variants:
  default   rank 8, alpha 16: layers 0-3 in F32 and F16, every adapted matrix kind
  other     a second adapter (rank 4, alpha 0, F16) on different layers, for two-adapter tests
  mismatch  a pair whose shape does not fit the model (the loader must refuse it, naming it)
"""
import argparse

import numpy as np
import gguf

D, Q, KV, FF = 640, 1024, 256, 2048
# matrix kind -> (n_in, n_out)
SHAPES = {
    "attn_q": (D, Q), "attn_k": (D, KV), "attn_v": (D, KV), "attn_output": (Q, D),
    "ffn_gate": (D, FF), "ffn_up": (D, FF), "ffn_down": (FF, D),
}


def add_pair(writer, rng, layer, kind, rank, dtype, b_scale, shape=None):
    n_in, n_out = shape or SHAPES[kind]
    # numpy shapes are GGML's reversed: lora_a is GGML [n_in, rank], lora_b GGML [rank, n_out].
    a = (rng.standard_normal((rank, n_in)) / np.sqrt(n_in)).astype(dtype)
    b = (rng.standard_normal((n_out, rank)) * b_scale / np.sqrt(rank)).astype(dtype)
    name = f"blk.{layer}.{kind}.weight"
    writer.add_tensor(name + ".lora_a", a)
    writer.add_tensor(name + ".lora_b", b)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--variant", default="default", choices=["default", "other", "mismatch"])
    args = parser.parse_args()

    writer = gguf.GGUFWriter(args.out, "gemma3")
    writer.add_type("adapter")
    writer.add_string("adapter.type", "lora")
    if args.variant == "default":
        rng = np.random.RandomState(20261205)
        writer.add_float32("adapter.lora.alpha", 16.0)
        for layer, dtype in [(0, np.float32), (1, np.float16), (2, np.float16), (3, np.float32)]:
            for kind in SHAPES:
                add_pair(writer, rng, layer, kind, 8, dtype, 0.08)
    elif args.variant == "other":
        rng = np.random.RandomState(7)
        writer.add_float32("adapter.lora.alpha", 0.0)
        for layer in (6, 9):
            for kind in ("attn_q", "attn_v", "ffn_up"):
                add_pair(writer, rng, layer, kind, 4, np.float16, 0.5)
    else:
        rng = np.random.RandomState(1)
        writer.add_float32("adapter.lora.alpha", 8.0)
        add_pair(writer, rng, 0, "attn_q", 8, np.float32, 0.5)
        add_pair(writer, rng, 1, "attn_k", 8, np.float32, 0.5, shape=(D, 512))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


if __name__ == "__main__":
    main()
