#!/usr/bin/env python3
"""Writes one tiny random-weight GGUF per supported architecture, with that architecture's real
metadata keys and tensor layout, and records llama.cpp's logits and greedy tokens on them, for
Tests/ModelsTests/ArchitectureFixtureTests.swift. llama.cpp is the oracle: it loads any GGUF
whose metadata and tensors fit an architecture, so Cria must compute what it computes.

    .venv/bin/python scripts/make-architecture-fixtures.py            # models + recordings
    .venv/bin/python scripts/make-architecture-fixtures.py --models   # models only
    .venv/bin/python scripts/make-architecture-fixtures.py --only qwen3moe   # one model (+ recording)

Recording needs a llama.cpp checkout and build (CI has neither; it only reads the fixtures):
    LLAMA_CPP_SRC   source tree (headers in include/ and ggml/include/), e.g. the vendor/llama.cpp
                    of the llama-cpp-python 0.3.36 sdist
    LLAMA_CPP_BUILD build folder whose bin/ holds libllama.so and libggml*.so
scripts/llama-greedy-logits.c is compiled against them into a temporary folder.

Outputs in Tests/ModelsTests/Fixtures/Architectures/:
- NAME.gguf: the model. Every matrix (and the token embedding) is Q8_0, norms and factor
  vectors F32. Common shape: n_embd 64, 4 layers, 4 heads of 16, 2 KV heads, FFN 128,
  259-token SentencePiece vocabulary (<unk>, <s>, </s> and the 256 byte tokens) so llama.cpp
  loads it; the tests feed token ids directly. Deterministic (fixed seed per model).
  qwen3moe: every feed-forward block is 8 experts of width 32 (3-D Q8_0 tensors
  [n_expert][n_ff][n_embd]), 2 used per token, with a Q8_0 router (real files keep the router in
  F32; a quantized one makes llama.cpp's product order Cria's, so the recording is exact).
  mixtral: llama with 4 experts of width 128, 2 used.
  qwen3moe-wide: 20 experts, 4 used (the router softmax's 16-lane and scalar parts).
  qwen2moe: the same experts (weights not renormalized), q/k/v biases, and a gated shared expert
  of width 96.
  gpt-oss: the same expert shape with MXFP4 expert tensors (gguf-py's quantizer), F32
  per-expert and router biases, attention biases and sinks, window 6 on even layers, YaRN.
- NAME.llama-cpp.json (NAME-CTX for a second context size): for each prompt, the full logits
  after the prompt, the 8 highest (id, logit) pairs at each of 40 greedy steps, and the greedy
  tokens (see llama-greedy-logits.c for how llama.cpp is driven). The last entry repeats the
  21-token prompt with a context shift (`shift`: the removed positions) after the prompt.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.quants import quantize

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests/ModelsTests/Fixtures/Architectures")

N_EMBD, N_LAYER, N_HEAD, N_HEAD_KV, HEAD_DIM, N_FF = 64, 4, 4, 2, 16, 128
N_VOCAB = 259
N_PREDICT, TOP_K = 40, 8
PROMPTS = [
    [1, 72, 101, 108, 108, 111],
    [1, 200, 17, 3, 99, 250, 45, 45, 45, 120, 7],
    [1] + [(37 * i + 11) % 256 + 3 for i in range(20)],
    # 70 rows: llama.cpp attends to prompts of 64 rows or more in tiles (its other float order)
    [1] + [(53 * i + 5) % 256 + 3 for i in range(69)],
]
# The 21-token prompt again, then a context shift: positions 4..<10 removed, 10..<21 moved to 4..<15.
SHIFT = (4, 10, PROMPTS[2])


def vocabulary(wr):
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    wr.add_tokenizer_model("llama")
    wr.add_token_list(tokens)
    wr.add_token_scores([0.0] * len(tokens))
    wr.add_token_types([2, 3, 3] + [6] * 256)
    wr.add_bos_token_id(1)
    wr.add_eos_token_id(2)
    wr.add_unk_token_id(0)


class Builder:
    """Random tensors for one model, named and shaped as llama.cpp's loader expects."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.tensors = {}
        self.types = {}  # storage type where not the default (Q8_0 matrices, F32 vectors)

    def matrix(self, name, rows, cols, gain=1.0):
        """A [rows, cols] matrix (GGUF shape [cols, rows]), y = W @ x."""
        self.tensors[name] = (self.rng.standard_normal((rows, cols)) * gain / np.sqrt(cols)).astype(np.float32)

    def experts(self, name, n_expert, rows, cols, gain=1.0):
        """[n_expert, rows, cols] expert matrices (GGUF shape [cols, rows, n_expert])."""
        self.tensors[name] = (self.rng.standard_normal((n_expert, rows, cols)) * gain / np.sqrt(cols)).astype(np.float32)

    def norm(self, name, n, spread=0.2, mean=1.0):
        self.tensors[name] = (mean + spread * self.rng.standard_normal(n)).astype(np.float32)

    def vector(self, name, values):
        self.tensors[name] = np.asarray(values, dtype=np.float32)

    def write(self, wr):
        for name, a in self.tensors.items():
            kind = self.types.get(name, T.Q8_0 if a.ndim >= 2 else T.F32)
            if kind == T.F32:
                wr.add_tensor(name, a)
            else:
                wr.add_tensor(name, quantize(a, kind), raw_dtype=kind)


def common_metadata(wr, arch, head_dim=HEAD_DIM, n_head_kv=N_HEAD_KV, context=256):
    # (no architecture in the name: llama.cpp keys vocabulary tweaks on names such as "phi3")
    wr.add_name("tiny random model")
    wr.add_context_length(context)
    wr.add_embedding_length(N_EMBD)
    wr.add_block_count(N_LAYER)
    wr.add_feed_forward_length(N_FF)
    wr.add_head_count(N_HEAD)
    wr.add_head_count_kv(n_head_kv)
    wr.add_layer_norm_rms_eps(1e-5)
    if head_dim != N_EMBD // N_HEAD:
        wr.add_key_length(head_dim)
        wr.add_value_length(head_dim)
    wr.add_rope_dimension_count(head_dim)
    vocabulary(wr)


def standard_layers(b, head_dim=HEAD_DIM, n_head_kv=N_HEAD_KV, pre_norms=True, qkv=True, gate_up=True):
    q_dim, kv_dim = N_HEAD * head_dim, n_head_kv * head_dim
    b.matrix("token_embd.weight", N_VOCAB, N_EMBD, gain=np.sqrt(N_EMBD))
    b.norm("output_norm.weight", N_EMBD)
    for i in range(N_LAYER):
        p = f"blk.{i}."
        if pre_norms:
            b.norm(p + "attn_norm.weight", N_EMBD)
            b.norm(p + "ffn_norm.weight", N_EMBD)
        if qkv:
            b.matrix(p + "attn_q.weight", q_dim, N_EMBD, 2.0)
            b.matrix(p + "attn_k.weight", kv_dim, N_EMBD, 2.0)
            b.matrix(p + "attn_v.weight", kv_dim, N_EMBD)
        b.matrix(p + "attn_output.weight", N_EMBD, q_dim)
        if gate_up:
            b.matrix(p + "ffn_gate.weight", N_FF, N_EMBD, 2.0)
            b.matrix(p + "ffn_up.weight", N_FF, N_EMBD)
        b.matrix(p + "ffn_down.weight", N_EMBD, N_FF)


def llama3_rope_factors(head_dim, base, factor=8.0, low=1.0, high=4.0, original=64):
    """Llama 3.x frequency divisors (what convert_hf_to_gguf stores in rope_freqs.weight), with a
    tiny original context so that all three bands (kept, interpolated, divided) occur."""
    out = []
    for i in range(0, head_dim, 2):
        freq = 1.0 / base ** (i / head_dim)
        wavelen = 2 * np.pi / freq
        if wavelen < original / high:
            out.append(1.0)
        elif wavelen > original / low:
            out.append(factor)
        else:
            smooth = (original / wavelen - low) / (high - low)
            out.append(1.0 / ((1 - smooth) / factor + smooth))
    return out


def model_llama3(wr, b):
    common_metadata(wr, "llama")
    wr.add_rope_freq_base(500000.0)
    wr.add_vocab_size(N_VOCAB)
    standard_layers(b)
    b.vector("rope_freqs.weight", llama3_rope_factors(HEAD_DIM, 500000.0))
    # tied: no output.weight (as Llama 3.2 1B/3B)


def model_mistral(wr, b):
    # Mistral-style llama: head dim (32) ≠ n_embd / n_head (16), GQA 4:1, rope base 1e6, a
    # sliding_window key that llama.cpp's llama architecture ignores, untied output; and the
    # optional output and feed-forward biases llama.cpp's llama loader accepts.
    common_metadata(wr, "llama", head_dim=32, n_head_kv=1)
    wr.add_rope_freq_base(1000000.0)
    wr.add_sliding_window(8)
    standard_layers(b, head_dim=32, n_head_kv=1)
    for i in range(N_LAYER):
        p = f"blk.{i}."
        b.vector(p + "attn_output.bias", 0.3 * b.rng.standard_normal(N_EMBD))
        b.vector(p + "ffn_gate.bias", 0.3 * b.rng.standard_normal(N_FF))
        b.vector(p + "ffn_up.bias", 0.3 * b.rng.standard_normal(N_FF))
        b.vector(p + "ffn_down.bias", 0.3 * b.rng.standard_normal(N_EMBD))
    b.matrix("output.weight", N_VOCAB, N_EMBD, 3.0)


def model_qwen3(wr, b):
    common_metadata(wr, "qwen3")
    wr.add_rope_freq_base(1000000.0)
    standard_layers(b)
    for i in range(N_LAYER):
        b.norm(f"blk.{i}.attn_q_norm.weight", HEAD_DIM, 0.3)
        b.norm(f"blk.{i}.attn_k_norm.weight", HEAD_DIM, 0.3)
    b.matrix("output.weight", N_VOCAB, N_EMBD, 3.0)


def model_gemma2(wr, b):
    common_metadata(wr, "gemma2")
    wr.add_rope_freq_base(10000.0)
    wr.add_sliding_window(6)
    # Small caps so that the tanh bends these random models' scores and logits noticeably.
    wr.add_attn_logit_softcapping(3.0)
    wr.add_final_logit_softcapping(6.0)
    standard_layers(b)
    b.tensors["token_embd.weight"] /= np.sqrt(N_EMBD)  # the model multiplies by √n_embd
    for i in range(N_LAYER):
        # Large post-norm weights let the blocks outweigh the (tied) embedding in the residual,
        # so greedy decoding does not just repeat the last token.
        b.norm(f"blk.{i}.post_attention_norm.weight", N_EMBD, 0.5, 3.0)
        b.norm(f"blk.{i}.post_ffw_norm.weight", N_EMBD, 0.5, 3.0)


def model_phi3(wr, b):
    common_metadata(wr, "phi3", context=1024)
    wr.add_rope_freq_base(10000.0)
    wr.add_rope_scaling_orig_ctx_len(256)
    wr.add_rope_scaling_attn_factors(1.1902380714238083)
    standard_layers(b, qkv=False, gate_up=False)
    for i in range(N_LAYER):
        p = f"blk.{i}."
        b.matrix(p + "attn_qkv.weight", N_EMBD + 2 * N_HEAD_KV * HEAD_DIM, N_EMBD, 2.0)
        b.matrix(p + "ffn_up.weight", 2 * N_FF, N_EMBD, 2.0)
    b.vector("rope_factors_long.weight", np.linspace(1.0, 12.0, HEAD_DIM // 2))
    b.vector("rope_factors_short.weight", np.linspace(1.0, 1.6, HEAD_DIM // 2))
    b.matrix("output.weight", N_VOCAB, N_EMBD, 3.0)


def model_granite(wr, b):
    common_metadata(wr, "granite")
    wr.add_rope_freq_base(10000.0)
    wr.add_embedding_scale(2.5)
    wr.add_residual_scale(0.5)
    wr.add_attention_scale(0.125)
    wr.add_logit_scale(0.75)
    standard_layers(b)
    b.matrix("output.weight", N_VOCAB, N_EMBD, 3.0)


def model_olmo2(wr, b):
    common_metadata(wr, "olmo2")
    wr.add_rope_freq_base(500000.0)
    standard_layers(b, pre_norms=False)
    for i in range(N_LAYER):
        p = f"blk.{i}."
        b.norm(p + "attn_q_norm.weight", N_HEAD * HEAD_DIM, 0.3)
        b.norm(p + "attn_k_norm.weight", N_HEAD_KV * HEAD_DIM, 0.3)
        b.norm(p + "post_attention_norm.weight", N_EMBD)
        b.norm(p + "post_ffw_norm.weight", N_EMBD)
    b.matrix("output.weight", N_VOCAB, N_EMBD, 3.0)


def model_smollm3(wr, b):
    common_metadata(wr, "smollm3")
    wr.add_rope_freq_base(2000000.0)
    standard_layers(b)
    b.matrix("output.weight", N_VOCAB, N_EMBD, 3.0)


def yarn_metadata(wr, arch, base):
    """The common keys for a 1024-token model extended by YaRN: factor 4 over 256 original tokens."""
    common_metadata(wr, arch, context=1024)
    wr.add_rope_freq_base(base)
    wr.add_rope_scaling_type(gguf.RopeScalingType.YARN)
    wr.add_rope_scaling_factor(4.0)
    wr.add_rope_scaling_orig_ctx_len(256)


def model_qwen3_yarn(wr, b):
    # Qwen3 with YaRN context extension (as Qwen's 128K GGUFs): factor 4 over 256 original
    # tokens, so the correction range (dims 0..4 of 8) blends interpolated and extrapolated angles.
    yarn_metadata(wr, "qwen3", base=10000.0)
    standard_layers(b)
    for i in range(N_LAYER):
        b.norm(f"blk.{i}.attn_q_norm.weight", HEAD_DIM, 0.3)
        b.norm(f"blk.{i}.attn_k_norm.weight", HEAD_DIM, 0.3)
    b.matrix("output.weight", N_VOCAB, N_EMBD, 3.0)


N_EXPERT, N_EXPERT_USED, N_FF_EXP = 8, 2, 32


def model_qwen3moe(wr, b, n_expert=N_EXPERT, n_used=N_EXPERT_USED):
    common_metadata(wr, "qwen3moe")
    wr.add_rope_freq_base(1000000.0)
    wr.add_expert_count(n_expert)
    wr.add_expert_used_count(n_used)
    wr.add_expert_feed_forward_length(N_FF_EXP)
    standard_layers(b, gate_up=False)
    for i in range(N_LAYER):
        p = f"blk.{i}."
        del b.tensors[p + "ffn_down.weight"]
        b.norm(p + "attn_q_norm.weight", HEAD_DIM, 0.3)
        b.norm(p + "attn_k_norm.weight", HEAD_DIM, 0.3)
        # a strong router, so tokens spread over the experts and their choices differ by token
        b.matrix(p + "ffn_gate_inp.weight", n_expert, N_EMBD, 4.0)
        b.experts(p + "ffn_gate_exps.weight", n_expert, N_FF_EXP, N_EMBD, 2.0)
        b.experts(p + "ffn_up_exps.weight", n_expert, N_FF_EXP, N_EMBD)
        b.experts(p + "ffn_down_exps.weight", n_expert, N_EMBD, N_FF_EXP, 2.0)
    b.matrix("output.weight", N_VOCAB, N_EMBD, 3.0)


def model_qwen3moe_wide(wr, b):
    # 20 experts, 4 used: ggml's softmax takes the first 16 through its SIMD exp polynomial and
    # the last 4 through expf, so both paths of the router softmax are recorded.
    model_qwen3moe(wr, b, n_expert=20, n_used=4)


def model_qwen3moe_f32router(wr, b):
    # Real Qwen3-MoE files keep the router in F32, which llama.cpp multiplies with its float
    # kernels (sgemm for 2+ rows, vec_dot for one) rather than its quantized ones.
    model_qwen3moe(wr, b)
    for i in range(N_LAYER):
        b.types[f"blk.{i}.ffn_gate_inp.weight"] = T.F32


N_FF_SHEXP = 96


def model_qwen2moe(wr, b):
    # Qwen2-MoE: q/k/v biases, 8 experts (2 used, weights not renormalized) and a shared expert
    # scaled by sigmoid(ffn_gate_inp_shexp·x); that vector is stored [n_embd, 1] in Q8_0
    # (llama.cpp accepts it for its [n_embd]; real files keep it F32, as the router).
    common_metadata(wr, "qwen2moe")
    wr.add_rope_freq_base(1000000.0)
    wr.add_expert_count(N_EXPERT)
    wr.add_expert_used_count(N_EXPERT_USED)
    wr.add_expert_feed_forward_length(N_FF_EXP)
    wr.add_expert_shared_feed_forward_length(N_FF_SHEXP)
    standard_layers(b, gate_up=False)
    for i in range(N_LAYER):
        p = f"blk.{i}."
        del b.tensors[p + "ffn_down.weight"]
        b.vector(p + "attn_q.bias", 0.5 * b.rng.standard_normal(N_HEAD * HEAD_DIM))
        b.vector(p + "attn_k.bias", 0.5 * b.rng.standard_normal(N_HEAD_KV * HEAD_DIM))
        b.vector(p + "attn_v.bias", 0.5 * b.rng.standard_normal(N_HEAD_KV * HEAD_DIM))
        b.matrix(p + "ffn_gate_inp.weight", N_EXPERT, N_EMBD, 4.0)
        b.experts(p + "ffn_gate_exps.weight", N_EXPERT, N_FF_EXP, N_EMBD, 2.0)
        b.experts(p + "ffn_up_exps.weight", N_EXPERT, N_FF_EXP, N_EMBD)
        b.experts(p + "ffn_down_exps.weight", N_EXPERT, N_EMBD, N_FF_EXP, 2.0)
        b.matrix(p + "ffn_gate_inp_shexp.weight", 1, N_EMBD, 2.0)
        b.matrix(p + "ffn_gate_shexp.weight", N_FF_SHEXP, N_EMBD, 2.0)
        b.matrix(p + "ffn_up_shexp.weight", N_FF_SHEXP, N_EMBD)
        b.matrix(p + "ffn_down_shexp.weight", N_EMBD, N_FF_SHEXP)
    b.matrix("output.weight", N_VOCAB, N_EMBD, 3.0)


def model_mixtral(wr, b):
    # Mixtral-style llama: 4 experts of the full feed-forward width (llama.cpp's llama experts are
    # n_ff wide), 2 used, weights renormalized; untied output.
    common_metadata(wr, "llama")
    wr.add_rope_freq_base(1000000.0)
    wr.add_expert_count(4)
    wr.add_expert_used_count(2)
    standard_layers(b, gate_up=False)
    for i in range(N_LAYER):
        p = f"blk.{i}."
        del b.tensors[p + "ffn_down.weight"]
        b.matrix(p + "ffn_gate_inp.weight", 4, N_EMBD, 4.0)
        b.experts(p + "ffn_gate_exps.weight", 4, N_FF, N_EMBD, 2.0)
        b.experts(p + "ffn_up_exps.weight", 4, N_FF, N_EMBD)
        b.experts(p + "ffn_down_exps.weight", 4, N_EMBD, N_FF, 2.0)
    b.matrix("output.weight", N_VOCAB, N_EMBD, 3.0)


def model_gpt_oss(wr, b):
    # gpt-oss's layout (llama.cpp's openai-moe): q/k/v/output biases, per-head attention sinks,
    # even layers sliding (window 6, so the longer prompts leave it), YaRN on all layers, the
    # feed-forward norm stored as post_attention_norm, and 8 experts of width 32 (2 per token)
    # in MXFP4 with F32 per-expert biases and a router with a bias; the router itself is Q8_0
    # (as for qwen3moe: llama.cpp's product order is then Cria's, so the recording is exact).
    yarn_metadata(wr, "gpt-oss", base=150000.0)
    wr.add_sliding_window(6)
    wr.add_expert_count(N_EXPERT)
    wr.add_expert_used_count(N_EXPERT_USED)
    wr.add_expert_feed_forward_length(N_FF_EXP)
    standard_layers(b, gate_up=False)
    q_dim, kv_dim = N_HEAD * HEAD_DIM, N_HEAD_KV * HEAD_DIM
    for i in range(N_LAYER):
        p = f"blk.{i}."
        del b.tensors[p + "ffn_down.weight"]
        b.tensors[p + "post_attention_norm.weight"] = b.tensors.pop(p + "ffn_norm.weight")
        b.vector(p + "attn_q.bias", 0.3 * b.rng.standard_normal(q_dim))
        b.vector(p + "attn_k.bias", 0.3 * b.rng.standard_normal(kv_dim))
        b.vector(p + "attn_v.bias", 0.3 * b.rng.standard_normal(kv_dim))
        b.vector(p + "attn_output.bias", 0.3 * b.rng.standard_normal(N_EMBD))
        # sinks around the scores' size, so that some heads give them much of the weight
        b.vector(p + "attn_sinks.weight", 1.0 + 1.5 * b.rng.standard_normal(N_HEAD))
        b.matrix(p + "ffn_gate_inp.weight", N_EXPERT, N_EMBD, 4.0)
        b.vector(p + "ffn_gate_inp.bias", 0.5 * b.rng.standard_normal(N_EXPERT))
        # gate and up large enough that the activation's clamps (gate ≤ 7, |up| ≤ 7) bite
        b.experts(p + "ffn_gate_exps.weight", N_EXPERT, N_FF_EXP, N_EMBD, 6.0)
        b.experts(p + "ffn_up_exps.weight", N_EXPERT, N_FF_EXP, N_EMBD, 6.0)
        b.experts(p + "ffn_down_exps.weight", N_EXPERT, N_EMBD, N_FF_EXP, 0.5)
        for part in ("gate", "up", "down"):
            b.types[p + f"ffn_{part}_exps.weight"] = T.MXFP4
            rows = N_EMBD if part == "down" else N_FF_EXP
            b.tensors[p + f"ffn_{part}_exps.bias"] = (0.3 * b.rng.standard_normal((N_EXPERT, rows))).astype(np.float32)
            b.types[p + f"ffn_{part}_exps.bias"] = T.F32
    b.matrix("output.weight", N_VOCAB, N_EMBD, 3.0)


# name → (general.architecture, builder, context sizes to record at)
MODELS = {
    "llama3": ("llama", model_llama3, [256]),
    "mistral": ("llama", model_mistral, [256]),
    "qwen3": ("qwen3", model_qwen3, [256]),
    "gemma2": ("gemma2", model_gemma2, [256]),
    "phi3": ("phi3", model_phi3, [256, 512]),  # ≤ 256: short factors; 512: long ones
    "granite": ("granite", model_granite, [256]),
    "olmo2": ("olmo2", model_olmo2, [256]),
    "smollm3": ("smollm3", model_smollm3, [256]),
    "qwen3-yarn": ("qwen3", model_qwen3_yarn, [256]),
    "qwen3moe": ("qwen3moe", model_qwen3moe, [256]),
    "qwen2moe": ("qwen2moe", model_qwen2moe, [256]),
    "qwen3moe-wide": ("qwen3moe", model_qwen3moe_wide, [256]),
    "mixtral": ("llama", model_mixtral, [256]),
    "gpt-oss": ("gpt-oss", model_gpt_oss, [256]),
    "qwen3moe-f32router": ("qwen3moe", model_qwen3moe_f32router, [256]),
}


# Seeds fixed by name, for models added while other branches were adding theirs (a position-based
# seed would change whenever the list is merged in another order).
SEEDS = {"gpt-oss": 1012, "qwen3moe-f32router": 1013}


def selected(name):
    """Whether `--only NAME` (if given) names this model."""
    return "--only" not in sys.argv or sys.argv[sys.argv.index("--only") + 1] == name


def write_models():
    os.makedirs(OUT, exist_ok=True)
    for seed, (name, (arch, build, _)) in enumerate(MODELS.items()):
        if not selected(name):
            continue
        path = os.path.join(OUT, f"{name}.gguf")
        wr = gguf.GGUFWriter(path, arch=arch)
        b = Builder(SEEDS.get(name, 1000 + seed))
        build(wr, b)
        b.write(wr)
        wr.write_header_to_file()
        wr.write_kv_data_to_file()
        wr.write_tensors_to_file()
        wr.close()
        print(f"{path}: {os.path.getsize(path)} bytes")


def record():
    src, build = os.environ.get("LLAMA_CPP_SRC"), os.environ.get("LLAMA_CPP_BUILD")
    if not src or not build:
        sys.exit("set LLAMA_CPP_SRC and LLAMA_CPP_BUILD to record (see the docstring)")
    lib = os.path.join(build, "bin")
    with tempfile.TemporaryDirectory() as tmp:
        tool = os.path.join(tmp, "llama-greedy-logits")
        subprocess.run(["cc", "-O2", "-o", tool, os.path.join(ROOT, "scripts/llama-greedy-logits.c"),
                        f"-I{src}/include", f"-I{src}/ggml/include", f"-L{lib}", "-lllama", "-lggml",
                        "-lggml-base", f"-Wl,-rpath,{lib}"], check=True)
        for name, (_, _, contexts) in MODELS.items():
            if not selected(name):
                continue
            for n_ctx in contexts:
                args = [tool, os.path.join(OUT, f"{name}.gguf"), str(n_ctx), str(N_PREDICT), str(TOP_K)]
                args += [",".join(map(str, p)) for p in PROMPTS]
                args.append(f"shift:{SHIFT[0]}:{SHIFT[1]}:" + ",".join(map(str, SHIFT[2])))
                result = json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)
                suffix = "" if n_ctx == contexts[0] else f"-{n_ctx}"
                path = os.path.join(OUT, f"{name}{suffix}.llama-cpp.json")
                with open(path, "w") as f:
                    json.dump(result, f, separators=(",", ":"))
                    f.write("\n")
                print(f"{path}: {[p['generated'][:8] for p in result['prompts']]}")


if __name__ == "__main__":
    write_models()
    if "--models" not in sys.argv:
        record()
