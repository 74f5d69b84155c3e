#!/usr/bin/env python3
"""Writes tiny random llama / qwen2 GGUF models and the logits an independent numpy forward pass
gives for them, for Tests/ModelsTests/SyntheticModelTests.swift.

Regenerate with `.venv/bin/python scripts/make-synthetic-models.py` (deterministic: fixed seed).

Outputs in Tests/ModelsTests/Fixtures/, for each model NAME:
- NAME.gguf: the model (written with gguf-py's GGUFWriter).
    llama-f32   arch llama, F32 matrices, no biases, untied output.weight
    qwen2-f32   arch qwen2, F32 matrices, q/k/v biases, untied output.weight
    llama-f16   the llama-f32 weights with every matrix stored as F16
    llama-q8_0  the llama-f32 weights with every matrix stored as Q8_0
  All: n_embd 64, 2 layers, 4 heads, 2 KV heads (GQA), head dim 16, FFN 128, vocab 96,
  context 64, rms eps 1e-5, rope base 10000, and a minimal tokenizer section (96 tokens).
- NAME.expected.gguf: F32/I32 tensors with the reference results, computed in float64 from the
  weights exactly as stored (F16 / Q8_0 dequantized with gguf-py) — no f16 rounding of the KV
  cache or of attention, unlike the engine:
    tokens_a, tokens_b   (I32 [12])   two fixed token sequences
    logits_a, logits_b   (F32 [96, 12]) logits at every position of each sequence from 0
    cont_tokens          (I32 [4])    tokens that continue sequence a in the cache scenarios
    remove_logits        (F32 [96, 4]) sequence a cached, positions 3..<6 removed (no shift),
                         then cont_tokens at positions 12..15
    shift_logits         (F32 [96, 4]) sequence a cached, positions 3..<6 removed and 6..<12
                         shifted by −3 (context shift: cached K/V of the kept tokens are those
                         computed with the full context; keys are re-rotated to the new
                         positions), then cont_tokens at positions 9..12

The Q8_0 model's reference uses exact activations. Emulating the engine's 8-bit rounding of
matmul inputs does not tighten the comparison: the rounding is discontinuous, and the engine's
f16 K/V/accumulator perturbations (≈0.007 on logits without it) flip enough roundings that
the engine-vs-emulation difference (≈0.2) is almost as large as the quantization error itself
(≈0.28), checked with a numpy experiment while writing this.

The reference keeps keys un-rotated in its cache and rotates them at each cell's current
position when attending, so context shift is modelled independently of how the engine does it
(rotating cached f16 keys by the delta).
"""
import os
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.quants import quantize, dequantize

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests/ModelsTests/Fixtures")

N_EMBD, N_LAYER, N_HEAD, N_HEAD_KV, HEAD_DIM, N_FF, N_VOCAB, N_CTX = 64, 2, 4, 2, 16, 128, 96, 64
RMS_EPS, ROPE_BASE = 1e-5, 10000.0


def random_weights(rng, biases):
    """Weights as float32 numpy arrays, matrices shaped (out, in) as y = W @ x."""
    def mat(rows, cols, gain=1.0):
        return (rng.standard_normal((rows, cols)) * gain / np.sqrt(cols)).astype(np.float32)

    def norm(n):
        return (1.0 + 0.2 * rng.standard_normal(n)).astype(np.float32)

    q_dim, kv_dim = N_HEAD * HEAD_DIM, N_HEAD_KV * HEAD_DIM
    w = {
        "token_embd.weight": rng.standard_normal((N_VOCAB, N_EMBD)).astype(np.float32),
        "output_norm.weight": norm(N_EMBD),
        "output.weight": mat(N_VOCAB, N_EMBD, 3.0),
    }
    for i in range(N_LAYER):
        p = f"blk.{i}."
        w[p + "attn_norm.weight"] = norm(N_EMBD)
        # Gains chosen so attention scores spread over a few units (softmax far from uniform).
        w[p + "attn_q.weight"] = mat(q_dim, N_EMBD, 2.0)
        w[p + "attn_k.weight"] = mat(kv_dim, N_EMBD, 2.0)
        w[p + "attn_v.weight"] = mat(kv_dim, N_EMBD)
        if biases:
            w[p + "attn_q.bias"] = (0.5 * rng.standard_normal(q_dim)).astype(np.float32)
            w[p + "attn_k.bias"] = (0.5 * rng.standard_normal(kv_dim)).astype(np.float32)
            w[p + "attn_v.bias"] = (0.5 * rng.standard_normal(kv_dim)).astype(np.float32)
        w[p + "attn_output.weight"] = mat(N_EMBD, q_dim)
        w[p + "ffn_norm.weight"] = norm(N_EMBD)
        w[p + "ffn_gate.weight"] = mat(N_FF, N_EMBD, 2.0)
        w[p + "ffn_up.weight"] = mat(N_FF, N_EMBD)
        w[p + "ffn_down.weight"] = mat(N_EMBD, N_FF)
    return w


def stored(w, matrix_type):
    """(raw arrays to write, float64 values the file actually holds) for a matrix storage type."""
    raw, exact = {}, {}
    for name, a in w.items():
        if a.ndim == 1 or matrix_type == T.F32:
            raw[name], exact[name] = a, a.astype(np.float64)
        elif matrix_type == T.F16:
            h = a.astype(np.float16)
            raw[name], exact[name] = h, h.astype(np.float64)
        else:
            q = quantize(a, matrix_type)
            raw[name], exact[name] = q, dequantize(q, matrix_type).astype(np.float64).reshape(a.shape)
    return raw, exact


def write_model(path, arch, raw, matrix_type):
    wr = gguf.GGUFWriter(path, arch=arch)
    wr.add_name(f"synthetic-{arch}")
    wr.add_context_length(N_CTX)
    wr.add_embedding_length(N_EMBD)
    wr.add_block_count(N_LAYER)
    wr.add_feed_forward_length(N_FF)
    wr.add_head_count(N_HEAD)
    wr.add_head_count_kv(N_HEAD_KV)
    wr.add_layer_norm_rms_eps(RMS_EPS)
    wr.add_rope_freq_base(ROPE_BASE)
    wr.add_rope_dimension_count(HEAD_DIM)
    wr.add_tokenizer_model("llama" if arch == "llama" else "gpt2")
    wr.add_token_list(["<unk>", "<s>", "</s>"] + [f"t{i}" for i in range(3, N_VOCAB)])
    wr.add_token_types([2, 3, 3] + [1] * (N_VOCAB - 3))
    wr.add_bos_token_id(1)
    wr.add_eos_token_id(2)
    for name, a in raw.items():
        if a.ndim == 2 and matrix_type not in (T.F32, T.F16):
            wr.add_tensor(name, a, raw_dtype=matrix_type)
        else:
            wr.add_tensor(name, a)
    wr.write_header_to_file()
    wr.write_kv_data_to_file()
    wr.write_tensors_to_file()
    wr.close()


# ---------------------------------------------------------------------------------------------
# Reference forward pass (float64 numpy, written from the model definitions, not from Cria).

def rms_norm(x, weight):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + RMS_EPS) * weight


def rope(x, pos, neox):
    """Rotates one head vector x (length d) to position pos: pairs (2i, 2i+1) for llama,
    (i, i + d/2) for NeoX / qwen2, angle θ_i = pos · base^(−2i/d)."""
    d = x.shape[-1]
    theta = pos * ROPE_BASE ** (-2.0 * np.arange(d // 2) / d)
    c, s = np.cos(theta), np.sin(theta)
    y = x.copy()
    if neox:
        a, b = x[: d // 2], x[d // 2:]
        y[: d // 2], y[d // 2:] = a * c - b * s, a * s + b * c
    else:
        a, b = x[0::2], x[1::2]
        y[0::2], y[1::2] = a * c - b * s, a * s + b * c
    return y


class Reference:
    """A model with a cache of cells (position, un-rotated key, value) per layer."""

    def __init__(self, w, arch):
        self.w, self.neox = w, arch == "qwen2"
        self.cells = []  # per token: {"pos": p, "k": [layer] (kv_heads, d), "v": [layer] (kv_heads, d)}

    def step(self, token, pos):
        """Appends one token at position pos, attending to cached cells with position ≤ pos;
        returns its logits."""
        w, d = self.w, HEAD_DIM
        x = w["token_embd.weight"][token].copy()
        cell = {"pos": pos, "k": [], "v": []}
        self.cells.append(cell)
        for l in range(N_LAYER):
            p = f"blk.{l}."
            h = rms_norm(x, w[p + "attn_norm.weight"])
            q = w[p + "attn_q.weight"] @ h + w.get(p + "attn_q.bias", 0.0)
            k = w[p + "attn_k.weight"] @ h + w.get(p + "attn_k.bias", 0.0)
            v = w[p + "attn_v.weight"] @ h + w.get(p + "attn_v.bias", 0.0)
            cell["k"].append(k.reshape(N_HEAD_KV, d))
            cell["v"].append(v.reshape(N_HEAD_KV, d))
            visible = [c for c in self.cells if c["pos"] <= pos]
            out = np.zeros(N_HEAD * d)
            for hq in range(N_HEAD):
                hk = hq // (N_HEAD // N_HEAD_KV)
                qh = rope(q[hq * d:(hq + 1) * d], pos, self.neox)
                keys = np.stack([rope(c["k"][l][hk], c["pos"], self.neox) for c in visible])
                vals = np.stack([c["v"][l][hk] for c in visible])
                scores = keys @ qh / np.sqrt(d)
                e = np.exp(scores - scores.max())
                out[hq * d:(hq + 1) * d] = (e / e.sum()) @ vals
            x = x + w[p + "attn_output.weight"] @ out
            h = rms_norm(x, w[p + "ffn_norm.weight"])
            g = w[p + "ffn_gate.weight"] @ h
            u = w[p + "ffn_up.weight"] @ h
            x = x + w[p + "ffn_down.weight"] @ (g / (1 + np.exp(-g)) * u)
        return w["output.weight"] @ rms_norm(x, w["output_norm.weight"])

    def run(self, tokens, start):
        return np.stack([self.step(t, start + i) for i, t in enumerate(tokens)])

    def remove(self, lo, hi):
        self.cells = [c for c in self.cells if not lo <= c["pos"] < hi]

    def shift(self, lo, hi, delta):
        for c in self.cells:
            if lo <= c["pos"] < hi:
                c["pos"] += delta


def write_expected(path, exact, arch, tokens_a, tokens_b, cont):
    ref = Reference(exact, arch)
    logits_a = ref.run(tokens_a, 0)
    logits_b = Reference(exact, arch).run(tokens_b, 0)

    ref_remove = Reference(exact, arch)
    ref_remove.run(tokens_a, 0)
    ref_remove.remove(3, 6)
    remove_logits = ref_remove.run(cont, 12)

    ref_shift = Reference(exact, arch)
    ref_shift.run(tokens_a, 0)
    ref_shift.remove(3, 6)
    ref_shift.shift(6, 12, -3)
    shift_logits = ref_shift.run(cont, 9)

    wr = gguf.GGUFWriter(path, arch="reference")
    wr.add_tensor("tokens_a", np.array(tokens_a, dtype=np.int32))
    wr.add_tensor("tokens_b", np.array(tokens_b, dtype=np.int32))
    wr.add_tensor("cont_tokens", np.array(cont, dtype=np.int32))
    for name, a in [("logits_a", logits_a), ("logits_b", logits_b),
                    ("remove_logits", remove_logits), ("shift_logits", shift_logits)]:
        wr.add_tensor(name, a.astype(np.float32))
    wr.write_header_to_file()
    wr.write_kv_data_to_file()
    wr.write_tensors_to_file()
    wr.close()
    return logits_a


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261201)
    tokens_a = [1] + rng.integers(3, N_VOCAB, size=11).tolist()
    tokens_b = [1] + rng.integers(3, N_VOCAB, size=11).tolist()
    cont = rng.integers(3, N_VOCAB, size=4).tolist()
    llama = random_weights(rng, biases=False)
    qwen2 = random_weights(rng, biases=True)
    for name, arch, w, mtype in [("llama-f32", "llama", llama, T.F32), ("qwen2-f32", "qwen2", qwen2, T.F32),
                                 ("llama-f16", "llama", llama, T.F16), ("llama-q8_0", "llama", llama, T.Q8_0)]:
        raw, exact = stored(w, mtype)
        write_model(os.path.join(OUT, name + ".gguf"), arch, raw, mtype)
        logits = write_expected(os.path.join(OUT, name + ".expected.gguf"), exact, arch, tokens_a, tokens_b, cont)
        print(f"{name}: logits std {logits.std():.3f}, max |logit| {np.abs(logits).max():.3f}", file=sys.stderr)


if __name__ == "__main__":
    main()
