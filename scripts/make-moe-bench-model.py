#!/usr/bin/env python3
"""Writes a random-weight model with Qwen3-30B-A3B's per-layer shapes, scaled down to a few
layers, for measuring the mixture-of-experts path with `cria bench` (and llama-bench on the same
file). Not for quality: the weights are random, the vocabulary is the 259-token test one.

    .venv/bin/python scripts/make-moe-bench-model.py [--layers 6] [--out models/qwen3moe-bench-q4_k_m.gguf]
    .build/release/cria bench -m models/qwen3moe-bench-q4_k_m.gguf -p 64 -n 8 -t 2 -r 1

Shapes per layer (as Qwen3-30B-A3B): n_embd 2048; 32 query heads and 4 KV heads of 128 with
per-head q/k RMS norms; 128 experts of FFN width 768, 8 used per token, router in F32.
Each layer holds about 623 M weights (604 M of them in experts, 38 M used per token);
6 layers make about 2.3 GB at Q4_K_M.

The F16 model is written tensor by tensor (never all in memory) to a temporary file, then
llama.cpp's `llama-quantize` turns it into the requested type (default Q4_K_M) and the F16 file
is removed. `llama-quantize` comes from a llama.cpp build (`LLAMA_QUANTIZE` or --quantize), e.g.
    cmake -B build -S llama.cpp && cmake --build build --target llama-quantize
The model files are outputs, never committed (models/ is git-ignored).
"""
import argparse
import os
import subprocess
import sys

import numpy as np
import gguf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

N_EMBD, N_HEAD, N_HEAD_KV, HEAD_DIM = 2048, 32, 4, 128
N_EXPERT, N_EXPERT_USED, N_FF_EXP, N_FF = 128, 8, 768, 6144
N_VOCAB = 259


def tensor_plan(layers):
    """(name, numpy shape, gain or None for a norm) in file order; GGUF shapes are reversed."""
    plan = [("token_embd.weight", (N_VOCAB, N_EMBD), np.sqrt(N_EMBD)),
            ("output_norm.weight", (N_EMBD,), None),
            ("output.weight", (N_VOCAB, N_EMBD), 1.0)]
    q, kv = N_HEAD * HEAD_DIM, N_HEAD_KV * HEAD_DIM
    for i in range(layers):
        p = f"blk.{i}."
        plan += [(p + "attn_norm.weight", (N_EMBD,), None),
                 (p + "attn_q.weight", (q, N_EMBD), 1.0),
                 (p + "attn_k.weight", (kv, N_EMBD), 1.0),
                 (p + "attn_v.weight", (kv, N_EMBD), 1.0),
                 (p + "attn_output.weight", (N_EMBD, q), 1.0),
                 (p + "attn_q_norm.weight", (HEAD_DIM,), None),
                 (p + "attn_k_norm.weight", (HEAD_DIM,), None),
                 (p + "ffn_norm.weight", (N_EMBD,), None),
                 (p + "ffn_gate_inp.weight", (N_EXPERT, N_EMBD), 1.0),
                 (p + "ffn_gate_exps.weight", (N_EXPERT, N_FF_EXP, N_EMBD), 1.0),
                 (p + "ffn_up_exps.weight", (N_EXPERT, N_FF_EXP, N_EMBD), 1.0),
                 (p + "ffn_down_exps.weight", (N_EXPERT, N_EMBD, N_FF_EXP), 1.0)]
    return plan


def dtype_of(name, shape):
    # norms and the router stay f32, as converted Qwen3-MoE files keep them
    return np.float32 if len(shape) == 1 or name.endswith("ffn_gate_inp.weight") else np.float16


def random_tensor(rng, name, shape, gain):
    """The tensor's values, made one 2-D slice at a time so peak memory stays one tensor."""
    out = np.empty(shape, dtype=dtype_of(name, shape))
    if gain is None:
        out[...] = 1.0 + 0.1 * rng.standard_normal(shape, dtype=np.float32)
        return out
    scale = np.float32(gain / np.sqrt(shape[-1]))
    if len(shape) == 2:
        out[...] = rng.standard_normal(shape, dtype=np.float32) * scale
    else:
        for e in range(shape[0]):
            out[e] = rng.standard_normal(shape[1:], dtype=np.float32) * scale
    return out


def write_f16(path, layers, seed):
    wr = gguf.GGUFWriter(path, arch="qwen3moe")
    wr.add_name("random qwen3moe bench model")
    wr.add_context_length(40960)
    wr.add_embedding_length(N_EMBD)
    wr.add_block_count(layers)
    wr.add_feed_forward_length(N_FF)
    wr.add_head_count(N_HEAD)
    wr.add_head_count_kv(N_HEAD_KV)
    wr.add_key_length(HEAD_DIM)
    wr.add_value_length(HEAD_DIM)
    wr.add_rope_dimension_count(HEAD_DIM)
    wr.add_rope_freq_base(1000000.0)
    wr.add_layer_norm_rms_eps(1e-6)
    wr.add_expert_count(N_EXPERT)
    wr.add_expert_used_count(N_EXPERT_USED)
    wr.add_expert_feed_forward_length(N_FF_EXP)
    wr.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    wr.add_tokenizer_model("llama")
    wr.add_token_list(tokens)
    wr.add_token_scores([0.0] * len(tokens))
    wr.add_token_types([2, 3, 3] + [6] * 256)
    wr.add_bos_token_id(1)
    wr.add_eos_token_id(2)
    wr.add_unk_token_id(0)
    plan = tensor_plan(layers)
    for name, shape, _ in plan:
        dtype = dtype_of(name, shape)
        wr.add_tensor_info(name, shape, np.dtype(dtype), int(np.prod(shape)) * np.dtype(dtype).itemsize)
    wr.write_header_to_file()
    wr.write_kv_data_to_file()
    wr.write_ti_data_to_file()
    rng = np.random.default_rng(seed)
    for name, shape, gain in plan:
        wr.write_tensor_data(random_tensor(rng, name, shape, gain))
        print(f"  {name} {shape}", flush=True)
    wr.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--type", default="Q4_K_M", help="llama-quantize type (Q4_K_M, Q8_0, ...)")
    ap.add_argument("--out", default=os.path.join(ROOT, "models/qwen3moe-bench-q4_k_m.gguf"))
    ap.add_argument("--quantize", default=os.environ.get("LLAMA_QUANTIZE", "/tmp/llama-build/bin/llama-quantize"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=30)
    args = ap.parse_args()
    if not 1 <= args.layers <= 48:
        sys.exit("--layers must be 1 to 48 (Qwen3-30B-A3B has 48)")
    if not os.access(args.quantize, os.X_OK):
        sys.exit(f"llama-quantize not found at {args.quantize}: build it (see --help) and pass --quantize or LLAMA_QUANTIZE")
    f16 = args.out + ".f16.tmp"
    print(f"writing {f16} ({args.layers} layers)")
    try:
        write_f16(f16, args.layers, args.seed)
        subprocess.run([args.quantize, f16, args.out, args.type, str(args.threads)], check=True)
    finally:
        if os.path.exists(f16):
            os.remove(f16)
    print(f"{args.out}: {os.path.getsize(args.out) / 1e9:.2f} GB")


if __name__ == "__main__":
    main()
