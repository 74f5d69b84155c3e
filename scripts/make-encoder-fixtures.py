#!/usr/bin/env python3
"""Writes tiny random-weight `bert` and `nomic-bert` GGUFs with those architectures' real
metadata keys, tensor layout and the real BERT WordPiece vocabulary, and records llama.cpp's
tokens and pooled embeddings for a few texts, for Tests/ModelsTests/EncoderFixtureTests.swift and
Tests/e2e/test_encoder_embeddings.py. llama.cpp is the oracle, as in make-architecture-fixtures.py.

    .venv/bin/python scripts/make-encoder-fixtures.py            # models + recordings
    .venv/bin/python scripts/make-encoder-fixtures.py --models   # models only

Needs the vocabulary file scripts/fetch-vocabs fetches (ggml-vocab-bert-bge.gguf: its 30 522
tokens, token types and special-token ids are copied into both models). Recording needs
LLAMA_CPP_SRC and LLAMA_CPP_BUILD as make-architecture-fixtures.py describes;
scripts/llama-embeddings.c is compiled against them.

Outputs in Tests/ModelsTests/Fixtures/Architectures/:
- bert.gguf, nomic-bert.gguf: n_embd 32, 2 layers, 4 heads of 8, FFN 64, context 512. Matrices
  and the token embedding Q8_0, BERT's position embedding F16, token types, norms and biases
  F32. bert: separate q/k/v with biases, GELU MLP with biases, CLS pooling (as BGE).
  nomic-bert: fused QKV without bias, NeoX RoPE (base 1000), SwiGLU, MEAN pooling. About 1.6 MB
  each, nearly all of it the vocabulary and its 30 522-row embedding.
- NAME.llama-cpp.json: for each pooling (the model's own, then mean and cls as `--pooling`
  would force them), each text's tokens and llama.cpp's pooled vector (not normalized).
"""
import glob
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
N_EMBD, N_LAYER, N_HEAD, N_FF, N_CTX = 32, 2, 4, 64, 512
TEXTS = [
    "Hello world!",
    "The quick brown fox jumps over the lazy dog.",
    "unaffable tokenization of naïve café résumés",
    "what's 2+2? (answer: 4) — 東京",
    "Embeddings pool every token of a sentence into one vector; BERT attends in both directions "
    "over the whole input, so each token sees the words after it as well.",
]
# -1: the model's own pooling type; 1 mean, 2 cls (llama_pooling_type)
POOLINGS = [-1, 1, 2]


def vocabulary_file():
    paths = glob.glob(os.path.join(ROOT, "models/vocabs/*/ggml-vocab-bert-bge.gguf"))
    if not paths:
        sys.exit("ggml-vocab-bert-bge.gguf not found: run scripts/fetch-vocabs first")
    return paths[0]


def copy_vocabulary(wr, path):
    r = gguf.GGUFReader(path)

    def field(name):
        f = r.fields[name]
        return f.contents()

    wr.add_tokenizer_model(field("tokenizer.ggml.model"))
    wr.add_tokenizer_pre(field("tokenizer.ggml.pre"))
    tokens = field("tokenizer.ggml.tokens")
    wr.add_token_list(tokens)
    wr.add_token_types(field("tokenizer.ggml.token_type"))
    wr.add_token_type_count(int(field("tokenizer.ggml.token_type_count")))
    wr.add_unk_token_id(int(field("tokenizer.ggml.unknown_token_id")))
    wr.add_sep_token_id(int(field("tokenizer.ggml.seperator_token_id")))
    wr.add_pad_token_id(int(field("tokenizer.ggml.padding_token_id")))
    wr.add_uint32("tokenizer.ggml.cls_token_id", int(field("tokenizer.ggml.cls_token_id")))
    wr.add_mask_token_id(int(field("tokenizer.ggml.mask_token_id")))
    return len(tokens)


class Builder:
    """Random tensors for one model, named and shaped as llama.cpp's loader expects."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.tensors = {}

    def matrix(self, name, rows, cols, gain=1.0, dtype=T.Q8_0):
        """A [rows, cols] matrix (GGUF shape [cols, rows]), y = W @ x."""
        a = (self.rng.standard_normal((rows, cols)) * gain / np.sqrt(cols)).astype(np.float32)
        self.tensors[name] = (a, dtype)

    def vector(self, name, n, spread=0.2, mean=0.0):
        self.tensors[name] = ((mean + spread * self.rng.standard_normal(n)).astype(np.float32), T.F32)

    def layer_norm(self, name, n):
        self.vector(name + ".weight", n, 0.2, 1.0)
        self.vector(name + ".bias", n, 0.1)

    def write(self, wr):
        for name, (a, dtype) in self.tensors.items():
            if dtype == T.Q8_0:
                wr.add_tensor(name, quantize(a, T.Q8_0), raw_dtype=T.Q8_0)
            elif dtype == T.F16:
                wr.add_tensor(name, a.astype(np.float16))
            else:
                wr.add_tensor(name, a)


def common(wr, b, n_vocab, pooling):
    wr.add_name("tiny random encoder")
    wr.add_context_length(N_CTX)
    wr.add_embedding_length(N_EMBD)
    wr.add_block_count(N_LAYER)
    wr.add_feed_forward_length(N_FF)
    wr.add_head_count(N_HEAD)
    wr.add_layer_norm_eps(1e-12)
    wr.add_causal_attention(False)
    wr.add_pooling_type(pooling)
    b.matrix("token_embd.weight", n_vocab, N_EMBD, gain=np.sqrt(N_EMBD))
    b.matrix("token_types.weight", 2, N_EMBD, gain=np.sqrt(N_EMBD), dtype=T.F32)
    b.layer_norm("token_embd_norm", N_EMBD)
    for i in range(N_LAYER):
        p = f"blk.{i}."
        b.matrix(p + "attn_output.weight", N_EMBD, N_EMBD)
        b.layer_norm(p + "attn_output_norm", N_EMBD)
        b.matrix(p + "ffn_down.weight", N_EMBD, N_FF)
        b.layer_norm(p + "layer_output_norm", N_EMBD)


def model_bert(wr, b, n_vocab):
    common(wr, b, n_vocab, gguf.PoolingType.CLS)
    b.matrix("position_embd.weight", N_CTX, N_EMBD, gain=np.sqrt(N_EMBD), dtype=T.F16)
    for i in range(N_LAYER):
        p = f"blk.{i}."
        for t in ("q", "k", "v"):
            b.matrix(p + f"attn_{t}.weight", N_EMBD, N_EMBD, 2.0)
            b.vector(p + f"attn_{t}.bias", N_EMBD, 0.3)
        b.vector(p + "attn_output.bias", N_EMBD, 0.3)
        b.matrix(p + "ffn_up.weight", N_FF, N_EMBD, 2.0)
        b.vector(p + "ffn_up.bias", N_FF, 0.3)
        b.vector(p + "ffn_down.bias", N_EMBD, 0.3)


def model_nomic_bert(wr, b, n_vocab):
    common(wr, b, n_vocab, gguf.PoolingType.MEAN)
    wr.add_rope_freq_base(1000.0)
    for i in range(N_LAYER):
        p = f"blk.{i}."
        b.matrix(p + "attn_qkv.weight", 3 * N_EMBD, N_EMBD, 2.0)
        b.matrix(p + "ffn_gate.weight", N_FF, N_EMBD, 2.0)
        b.matrix(p + "ffn_up.weight", N_FF, N_EMBD)


# file name → (general.architecture, builder)
MODELS = {"bert": ("bert", model_bert), "nomic-bert": ("nomic-bert", model_nomic_bert)}


def write_models():
    os.makedirs(OUT, exist_ok=True)
    vocab = vocabulary_file()
    for seed, (name, (arch, build)) in enumerate(MODELS.items()):
        path = os.path.join(OUT, f"{name}.gguf")
        wr = gguf.GGUFWriter(path, arch=arch)
        n_vocab = copy_vocabulary(wr, vocab)
        b = Builder(2000 + seed)
        build(wr, b, n_vocab)
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
        tool = os.path.join(tmp, "llama-embeddings")
        subprocess.run(["cc", "-O2", "-o", tool, os.path.join(ROOT, "scripts/llama-embeddings.c"),
                        f"-I{src}/include", f"-I{src}/ggml/include", f"-L{lib}", "-lllama", "-lggml",
                        "-lggml-base", f"-Wl,-rpath,{lib}"], check=True)
        for name in MODELS:
            runs = []
            for pooling in POOLINGS:
                args = [tool, os.path.join(OUT, f"{name}.gguf"), str(pooling)] + TEXTS
                result = json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)
                for text, item in zip(TEXTS, result["texts"]):
                    item["text"] = text
                runs.append({"pooling": {-1: "model", 1: "mean", 2: "cls"}[pooling], "texts": result["texts"]})
            path = os.path.join(OUT, f"{name}.llama-cpp.json")
            with open(path, "w") as f:
                json.dump({"runs": runs}, f, ensure_ascii=False, separators=(",", ":"))
                f.write("\n")
            print(f"{path}: {[len(t['tokens']) for t in runs[0]['texts']]} tokens")


if __name__ == "__main__":
    write_models()
    if "--models" not in sys.argv:
        record()
