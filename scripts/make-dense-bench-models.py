#!/usr/bin/env python3
"""Writes random-weight models with the real shapes and vocabularies of Llama 3.2 1B and
Qwen3 1.7B, quantized to Q4_K_M (or any llama-quantize type with --type), for measuring
`cria bench` against llama-bench at realistic sizes (docs/benchmarking.md). Not for quality: the
weights are random.

    .venv/bin/python scripts/make-dense-bench-models.py llama3.2-1b [--out models/bench/...]
    .venv/bin/python scripts/make-dense-bench-models.py qwen3-1.7b
    .venv/bin/python scripts/make-dense-bench-models.py llama3.2-1b --type Q3_K_M   # → models/bench/llama3.2-1b-q3_k_m.gguf

Shapes (as the released models): Llama 3.2 1B: n_embd 2048, 16 layers, 32 query / 8 KV heads of
64, FFN 8192, 128,256-token vocabulary (llama.cpp's `ggml-vocab-llama-bpe.gguf`), tied output.
Qwen3 1.7B: n_embd 2048, 28 layers, 16 query / 8 KV heads of 128 with per-head q/k RMS norms,
FFN 6144, 151,936-token vocabulary (`ggml-vocab-qwen2.gguf`), tied output. The vocabulary files
come from scripts/fetch-vocabs (run it first).

The F16 model is written tensor by tensor to a temporary file, then llama.cpp's `llama-quantize`
(`LLAMA_QUANTIZE` or --quantize; built outside this repo) makes the Q4_K_M file and the F16 file
is removed. Model files are outputs, never committed (models/ is git-ignored).
"""
import argparse
import os
import subprocess
import sys

import numpy as np
import gguf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VOCABS = os.path.join(ROOT, "models/vocabs/llama.cpp-0.3.36")

SHAPES = {
    "llama3.2-1b": dict(arch="llama", vocab="llama-bpe", embd=2048, layers=16, heads=32, kv_heads=8, head_dim=64,
                        ff=8192, rope_base=500000.0, eps=1e-5, qk_norm=False, context=131072),
    "qwen3-1.7b": dict(arch="qwen3", vocab="qwen2", embd=2048, layers=28, heads=16, kv_heads=8, head_dim=128,
                       ff=6144, rope_base=1000000.0, eps=1e-6, qk_norm=True, context=40960),
}


def vocabulary(name):
    """tokens, token types, merges, pre-tokenizer, bos and eos ids of a llama.cpp vocab file."""
    reader = gguf.GGUFReader(os.path.join(VOCABS, f"ggml-vocab-{name}.gguf"))
    fields = reader.fields

    def strings(key):
        f = fields[key]
        return [bytes(f.parts[i]).decode("utf-8") for i in f.data]

    def scalar(key):
        f = fields[key]
        return f.parts[f.data[0]][0]

    types = [int(fields["tokenizer.ggml.token_type"].parts[i][0]) for i in fields["tokenizer.ggml.token_type"].data]
    return (strings("tokenizer.ggml.tokens"), types, strings("tokenizer.ggml.merges"),
            bytes(fields["tokenizer.ggml.pre"].parts[fields["tokenizer.ggml.pre"].data[0]]).decode(),
            int(scalar("tokenizer.ggml.bos_token_id")), int(scalar("tokenizer.ggml.eos_token_id")))


def tensor_plan(s, n_vocab):
    """(name, numpy shape, gain or None for a norm) in file order; GGUF shapes are reversed."""
    d, q, kv = s["embd"], s["heads"] * s["head_dim"], s["kv_heads"] * s["head_dim"]
    plan = [("token_embd.weight", (n_vocab, d), np.sqrt(d)), ("output_norm.weight", (d,), None)]
    for i in range(s["layers"]):
        p = f"blk.{i}."
        plan += [(p + "attn_norm.weight", (d,), None),
                 (p + "attn_q.weight", (q, d), 1.0),
                 (p + "attn_k.weight", (kv, d), 1.0),
                 (p + "attn_v.weight", (kv, d), 1.0),
                 (p + "attn_output.weight", (d, q), 1.0)]
        if s["qk_norm"]:
            plan += [(p + "attn_q_norm.weight", (s["head_dim"],), None),
                     (p + "attn_k_norm.weight", (s["head_dim"],), None)]
        plan += [(p + "ffn_norm.weight", (d,), None),
                 (p + "ffn_gate.weight", (s["ff"], d), 1.0),
                 (p + "ffn_up.weight", (s["ff"], d), 1.0),
                 (p + "ffn_down.weight", (d, s["ff"]), 1.0)]
    return plan


def random_tensor(rng, shape, gain):
    if gain is None:
        return (1.0 + 0.1 * rng.standard_normal(shape, dtype=np.float32)).astype(np.float32)
    return (rng.standard_normal(shape, dtype=np.float32) * np.float32(gain / np.sqrt(shape[-1]))).astype(np.float16)


def write_f16(path, name, seed):
    s = SHAPES[name]
    tokens, types, merges, pre, bos, eos = vocabulary(s["vocab"])
    arch = s["arch"]
    wr = gguf.GGUFWriter(path, arch=arch)
    wr.add_name(f"random {name} bench model")
    wr.add_context_length(s["context"])
    wr.add_embedding_length(s["embd"])
    wr.add_block_count(s["layers"])
    wr.add_feed_forward_length(s["ff"])
    wr.add_head_count(s["heads"])
    wr.add_head_count_kv(s["kv_heads"])
    wr.add_key_length(s["head_dim"])
    wr.add_value_length(s["head_dim"])
    wr.add_rope_dimension_count(s["head_dim"])
    wr.add_rope_freq_base(s["rope_base"])
    wr.add_layer_norm_rms_eps(s["eps"])
    wr.add_vocab_size(len(tokens))
    wr.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    wr.add_tokenizer_model("gpt2")
    wr.add_tokenizer_pre(pre)
    wr.add_token_list(tokens)
    wr.add_token_types(types)
    wr.add_token_merges(merges)
    wr.add_bos_token_id(bos)
    wr.add_eos_token_id(eos)
    plan = tensor_plan(s, len(tokens))
    for tname, shape, gain in plan:
        dtype = np.float32 if gain is None else np.float16
        wr.add_tensor_info(tname, shape, np.dtype(dtype), int(np.prod(shape)) * np.dtype(dtype).itemsize)
    wr.write_header_to_file()
    wr.write_kv_data_to_file()
    wr.write_ti_data_to_file()
    rng = np.random.default_rng(seed)
    for _, shape, gain in plan:
        wr.write_tensor_data(random_tensor(rng, shape, gain))
    wr.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", choices=sorted(SHAPES))
    ap.add_argument("--type", default="Q4_K_M", help="llama-quantize type (Q4_K_M, Q8_0, ...)")
    ap.add_argument("--out", help="default: models/bench/MODEL-TYPE.gguf, the type in lower case")
    ap.add_argument("--quantize", default=os.environ.get("LLAMA_QUANTIZE", "/tmp/llama-build/bin/llama-quantize"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=16)
    args = ap.parse_args()
    out = args.out or os.path.join(ROOT, "models/bench", f"{args.model}-{args.type.lower()}.gguf")
    if not os.path.isdir(VOCABS):
        sys.exit(f"{VOCABS} is missing: run scripts/fetch-vocabs first")
    if not os.access(args.quantize, os.X_OK):
        sys.exit(f"llama-quantize not found at {args.quantize}: build it and pass --quantize or LLAMA_QUANTIZE")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    f16 = out + ".f16.tmp"
    try:
        write_f16(f16, args.model, args.seed)
        subprocess.run([args.quantize, f16, out, args.type, str(args.threads)], check=True,
                       stdout=subprocess.DEVNULL)
    finally:
        if os.path.exists(f16):
            os.remove(f16)
    print(f"{out}: {os.path.getsize(out) / 1e9:.2f} GB")


if __name__ == "__main__":
    main()
