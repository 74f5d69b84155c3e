#!/usr/bin/env python3
"""Generates Tests/TokenizationTests/Fixtures/bpe-synthetic.json: a small byte-level BPE
vocabulary with merges, and the token ids an independent implementation (Hugging Face
`tokenizers`) produces for test strings under each llama.cpp pre-tokenizer we support.

The pre-tokenizers are written as llama.cpp defines them (llama-vocab.cpp): each regex splits
every piece left by the previous one, matches and the text between matches both becoming pieces
(Hugging Face's Split with behavior "isolated"), then bytes are mapped with GPT-2's alphabet.

Usage (needs `pip install tokenizers`, e.g. in a throwaway venv):
    python3 scripts/gen-bpe-fixtures.py
"""
import json
import os

from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers, decoders

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "TokenizationTests", "Fixtures", "bpe-synthetic.json")

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

GPT2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
LLAMA3 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
QWEN2 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
DEFAULT = [r"[\p{P}\$\+<=>\^~\|]+", GPT2, r"\p{N}+", r"[0-9][0-9][0-9]"]

# name in tokenizer.ggml.pre -> (regex list, ignore_merges)
PRE = {
    "default": (DEFAULT, False),
    "gpt-2": ([GPT2], False),
    "llama-bpe": ([LLAMA3], True),
    "qwen2": ([QWEN2], False),
    "starcoder": ([r"\p{N}", GPT2], False),
}

CORPUS = """
The quick brown fox jumps over the lazy dog. The dog doesn't care; the fox isn't lazy.
I'm sure they'll say we've done it, and you're right: it's what I'd do. DON'T SHOUT, I'LL LISTEN.
Hello world! Hello, world? Hello... world!!! hello there, hello again, Hello World.
def fibonacci(n):\n    return n if n < 2 else fibonacci(n - 1) + fibonacci(n - 2)\n
for i in range(10):\n\tprint(i)\n\n
Numbers: 1 12 123 1234 12345 3.14159 2024-01-01 1,000,000 $100 + 5 = 105 <x> a|b^c~d
café naïve résumé Café au lait costs 3 € in Paris. Ещё Привет, мир! 中文 東京は日本の首都です。
emoji 🦙 llamas live in the Andes 👍 thumbs up
  leading spaces and trailing spaces   \r\nwindows line\r\nendings\n
""" * 3

TESTS = [
    "Hello world",
    " Hello",
    "Hello, world! Hello... world!!!",
    "The quick brown fox doesn't jump; they'll say it's lazy.",
    "DON'T SHOUT, I'LL LISTEN. We'VE done it",
    "12345678",
    "3.14159 and 1,000,000 and 2024-01-01",
    "$100 + 5 = 105 <x> a|b^c~d",
    "a  b   c    d",
    "  leading two spaces",
    "trailing spaces   ",
    "line1\nline2\n\nline3\n",
    "windows\r\nline\r\n\r\n  x",
    "\ttab\tseparated\t",
    "    def f(x):\n        return x * 2\n",
    "café naïve résumé",
    "Привет, мир! Ещё",
    "中文 東京は日本の首都です。",
    "🦙 llamas 👍🏽",
    "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n",
    "<|endoftext|>",
    "x<|endoftext|>y",
    "¼ ½ ① ² Ⅻ 𝟙𝟚",
    "zzqx unseen wordz",
    "",
]


def build(vocab, merges, regexes, ignore_merges):
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, ignore_merges=ignore_merges))
    steps = [pre_tokenizers.Split(Regex(r), behavior="isolated") for r in regexes]
    steps.append(pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False))
    tok.pre_tokenizer = pre_tokenizers.Sequence(steps)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(SPECIALS)
    return tok


def main():
    base = Tokenizer(models.BPE())
    base.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=700, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    base.train_from_iterator([CORPUS], trainer=trainer)
    state = json.loads(base.to_str())
    vocab = state["model"]["vocab"]
    merges = [m if isinstance(m, str) else " ".join(m) for m in state["model"]["merges"]]
    tokens = [None] * len(vocab)
    for text, i in vocab.items():
        tokens[i] = text
    assert all(t is not None for t in tokens)
    types = [3 if t in SPECIALS else 1 for t in tokens]
    merge_pairs = [tuple(m.split(" ", 1)) for m in merges]

    cases = {}
    for name, (regexes, ignore_merges) in PRE.items():
        tok = build(vocab, merge_pairs, regexes, ignore_merges)
        out = []
        for text in TESTS:
            enc = tok.encode(text, add_special_tokens=False)
            out.append({"text": text, "ids": enc.ids,
                        "words": [w for w, _ in tok.pre_tokenizer.pre_tokenize_str(text)]})
        cases[name] = out

    fixture = {
        "generator": "scripts/gen-bpe-fixtures.py (Hugging Face tokenizers as the oracle)",
        "tokens": tokens,
        "token_type": types,
        "merges": merges,
        "specials": SPECIALS,
        "cases": cases,
    }
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(fixture, f, ensure_ascii=False, indent=0)
        f.write("\n")
    print(f"wrote {OUT}: {len(tokens)} tokens, {len(merges)} merges, {sum(len(v) for v in cases.values())} cases")


if __name__ == "__main__":
    main()
