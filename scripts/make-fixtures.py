#!/usr/bin/env python3
"""Generates the small GGUF fixtures the Swift tests read, using the independent `gguf` package.

Outputs (committed; regenerate with `.venv/bin/python scripts/make-fixtures.py`):
- Tests/NumericsTests/Fixtures/dequant.gguf: for every storage format, a tensor `<fmt>` of random
  blocks in that format (scale fields set to finite values including extremes: ±65504, the
  smallest f16 normal and subnormal, ±0) and a tensor `<fmt>.expected` (F32) holding what
  gguf-py's numpy dequantizer returns for it. Q8_K has no gguf-py dequantizer; its expected
  values are d·q computed here in float32. The formats added later (IQ2_XXS … IQ1_M, TQ1_0,
  TQ2_0, MXFP4) come after the first ones, from their own random generator, with 64 super-blocks
  (or 32 MXFP4 blocks) each; MXFP4 scales include E8M0 codes whose products overflow to ±inf.
- Tests/NumericsTests/Fixtures/kvquant.gguf: rows of f32 values (`input`, including all-zero,
  one-element and negative-extreme blocks) and what gguf-py's numpy quantizers make of them
  (`q4_0`, `q8_0`): the oracle for the KV cache's row quantizers (KVCacheFormats). gguf-py's Q8_0
  rounds halves away from zero where Cria (as ggml's x86 quantize_row_q8_0) rounds them to even; the
  random inputs here have no exact halves, so the bytes must agree.
- Tests/GGUFTests/Fixtures/metadata.gguf: every metadata value type, nested arrays, a non-default
  alignment (64), and a few small tensors with known contents.
"""
import os
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
rng = np.random.default_rng(20261126)

# f16 values used for block scales: ordinary, largest, smallest normal/subnormal, zeros, negative.
EXTREME_F16 = np.array([65504.0, -65504.0, 6.103515625e-05, 5.960464477539063e-08, 0.0, -0.0, 1.0, -2.5],
                       dtype=np.float16)

# Byte offsets of the f16 scale fields inside one block of each format.
F16_FIELDS = {
    T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0],
    T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208],
    T.IQ4_NL: [0], T.IQ4_XS: [0],
}


# The formats added later (lattice, ternary, MXFP4) draw from their own generator, so the
# tensors above keep their bytes.
LATER_FORMATS = [T.IQ2_XXS, T.IQ2_XS, T.IQ2_S, T.IQ3_XXS, T.IQ3_S, T.IQ1_S, T.IQ1_M,
                 T.TQ1_0, T.TQ2_0, T.MXFP4]
later_rng = np.random.default_rng(20261210)
F16_FIELDS.update({T.IQ2_XXS: [0], T.IQ2_XS: [0], T.IQ2_S: [0], T.IQ3_XXS: [0], T.IQ3_S: [0],
                   T.IQ1_S: [0], T.TQ1_0: [52], T.TQ2_0: [64]})


def random_scales(n, gen=None):
    """Mostly modest random scales, with every extreme value present at least once."""
    gen = gen or rng
    vals = (gen.standard_normal(n) * 0.05).astype(np.float16)
    idx = gen.choice(n, size=min(n, len(EXTREME_F16)), replace=False)
    vals[idx] = EXTREME_F16[: len(idx)]
    return vals


def random_blocks(qtype, n_blocks, gen=None):
    gen = gen or rng
    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    blocks = gen.integers(0, 256, size=(n_blocks, type_size), dtype=np.uint8)
    for off in F16_FIELDS.get(qtype, []):
        blocks[:, off:off + 2] = random_scales(n_blocks, gen).view(np.uint8).reshape(n_blocks, 2)
    if qtype == T.IQ1_M:
        # d is spread over the top nibbles of the four scale words (bytes 48..55), lowest first
        d = random_scales(n_blocks, gen).view(np.uint16)
        words = blocks[:, 48:56].copy().view(np.uint16)
        for k in range(4):
            words[:, k] = (words[:, k] & 0x0FFF) | (((d >> (4 * k)) & 0xF) << 12)
        blocks[:, 48:56] = words.view(np.uint8)
    if qtype == T.MXFP4:
        # E8M0 exponents: mostly 2^-10..2^2, plus the subnormal codes 0 and 1, 2 (2^-126),
        # 137 (levels up to 12·2^9) and 254/255 (products overflow to ±inf)
        e = gen.integers(118, 131, size=n_blocks).astype(np.uint8)
        e[:6] = [0, 1, 2, 137, 254, 255]
        blocks[:, 0] = e
    if qtype == T.Q8_K:
        d = (rng.standard_normal(n_blocks) * 0.01).astype(np.float32)
        d[:3] = [2.0e36, 1.0e-40, 0.0]
        blocks[:, 0:4] = d.view(np.uint8).reshape(n_blocks, 4)
    return blocks


def float_data(qtype, n):
    values = (rng.standard_normal(n) * 3).astype(np.float32)
    values[:6] = [65504.0, -65504.0, 6.1e-05, 5.96e-08, 0.0, -1.5]
    if qtype == T.F16:
        return values.astype(np.float16).view(np.uint8)
    if qtype == T.BF16:
        return (values.view(np.uint32) >> 16).astype(np.uint16).view(np.uint8)
    return values.view(np.uint8)


def expected_values(qtype, raw, n_values):
    if qtype == T.Q8_K:
        blocks = raw.reshape(-1, 292)
        d = blocks[:, 0:4].copy().view(np.float32)
        q = blocks[:, 4:260].view(np.int8).astype(np.float32)
        return (d * q).reshape(-1)
    if qtype in (T.F32, T.F16, T.BF16):
        return dequantize(raw, qtype).reshape(-1)
    return dequantize(raw.reshape(-1), qtype).reshape(-1)[:n_values]


def add_dequant_pair(w, qtype, raw, rows, row_len):
    """Adds tensor `<fmt>` (the blocks) and `<fmt>.expected` (gguf-py's dequantization)."""
    n_values = rows * row_len
    expected = expected_values(qtype, raw, n_values).astype(np.float32)
    assert expected.size == n_values, (qtype, expected.size)
    assert not np.isnan(expected).any(), qtype
    name = qtype.name.lower()
    w.add_tensor(name, raw.reshape(rows, -1), raw_dtype=qtype)
    w.add_tensor(name + ".expected", expected.reshape(rows, row_len))


def make_dequant(path):
    w = gguf.GGUFWriter(path, arch="fixture")
    formats = [T.F32, T.F16, T.BF16, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0,
               T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K, T.Q8_K, T.IQ4_NL, T.IQ4_XS]
    for qtype in formats:
        block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
        rows = 2
        row_len = 1024 if block_size == 256 else 512 if block_size == 32 else 256
        n_values = rows * row_len
        if block_size == 1:
            raw = float_data(qtype, n_values)
        else:
            raw = random_blocks(qtype, n_values // block_size).reshape(-1)
        add_dequant_pair(w, qtype, raw, rows, row_len)
    for qtype in LATER_FORMATS:
        block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
        # 64 super-blocks (2048 lattice indices) or 32 blocks of 32
        rows, row_len = (4, 4096) if block_size == 256 else (2, 512)
        raw = random_blocks(qtype, rows * row_len // block_size, later_rng).reshape(-1)
        add_dequant_pair(w, qtype, raw, rows, row_len)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def make_kvquant(path):
    from gguf.quants import quantize
    krng = np.random.default_rng(20261205)
    rows, row_len = 8, 256
    x = (krng.standard_normal((rows, row_len)) * 2).astype(np.float32)
    x[0, 0:32] = 0                 # an all-zero block: d = 0
    x[1, 32:64] = 0
    x[1, 40] = -3.25               # one non-zero element, negative: the signed extreme
    x[2, 64:96] = np.abs(x[2, 64:96])
    x[2, 70] = -x[2, 64:96].max() * 1.5  # the largest magnitude is negative in an otherwise positive block
    x[3] *= 1000                   # large values
    x[4] *= 1e-4                   # small values
    w = gguf.GGUFWriter(path, arch="fixture")
    w.add_tensor("input", x)
    for qtype in (T.Q4_0, T.Q8_0):
        q = quantize(x, qtype)
        w.add_tensor(qtype.name.lower(), q, raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def make_metadata(path):
    w = gguf.GGUFWriter(path, arch="fixture")
    w.data_alignment = 64
    w.add_uint32("general.alignment", 64)
    w.add_uint8("test.u8", 200)
    w.add_int8("test.i8", -100)
    w.add_uint16("test.u16", 60000)
    w.add_int16("test.i16", -30000)
    w.add_uint32("test.u32", 4000000000)
    w.add_int32("test.i32", -2000000000)
    w.add_float32("test.f32", 0.15625)
    w.add_uint64("test.u64", 18000000000000000000)
    w.add_int64("test.i64", -9000000000000000000)
    w.add_float64("test.f64", -2.718281828459045)
    w.add_bool("test.bool_true", True)
    w.add_bool("test.bool_false", False)
    w.add_string("test.string", "héllo <start_of_turn>\n")
    w.add_string("test.empty_string", "")
    w.add_array("test.int_array", [1, -2, 3])
    w.add_array("test.float_array", [0.5, -1.25])
    w.add_array("test.string_array", ["a", "", "ünï"])
    w.add_array("test.nested_array", [[1, 2], [3]])
    w.add_tensor("weights.f32", np.arange(12, dtype=np.float32).reshape(3, 4))
    w.add_tensor("weights.f16", (np.arange(64, dtype=np.float32) / 8).astype(np.float16))
    w.add_tensor("weights.i32", np.array([7, -7, 1 << 30], dtype=np.int32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    out_n = os.path.join(ROOT, "Tests/NumericsTests/Fixtures")
    out_g = os.path.join(ROOT, "Tests/GGUFTests/Fixtures")
    os.makedirs(out_n, exist_ok=True)
    os.makedirs(out_g, exist_ok=True)
    make_dequant(os.path.join(out_n, "dequant.gguf"))
    make_metadata(os.path.join(out_g, "metadata.gguf"))
    make_kvquant(os.path.join(out_n, "kvquant.gguf"))
    print("fixtures written", file=sys.stderr)
