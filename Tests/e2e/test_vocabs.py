"""`cria tokenize` against llama.cpp's own tokenizer test set.

llama.cpp ships vocabulary-only GGUF files (`models/ggml-vocab-*.gguf`) with test cases: the
`.inp` file holds the texts, separated by "\\n__ggml_vocab_test__\\n", and the `.out` file one line
of space-separated token ids per text, as llama.cpp's `tests/test-tokenizer-0` produces them with
`add_special = false, parse_special = false`. scripts/fetch-vocabs fetches them (from the
llama-cpp-python 0.3.36 sdist on PyPI; cached, never committed). Every case of every vocabulary
must match exactly.
"""
import json
import pathlib
import subprocess

import pytest

from conftest import ROOT, cria_binary

SEPARATOR = "\n__ggml_vocab_test__\n"

# The vocabularies that come with cases, by the name in ggml-vocab-NAME.gguf.
VOCABS = [
    "bert-bge", "command-r", "deepseek-coder", "deepseek-llm", "falcon", "gemma-4", "gpt-2", "llama-bpe",
    "llama-spm", "mpt", "phi-3", "qwen2", "qwen35", "refact", "starcoder",
]


@pytest.fixture(scope="session")
def vocab_dir() -> pathlib.Path:
    result = subprocess.run(["bash", str(ROOT / "scripts" / "fetch-vocabs")], capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        pytest.fail(f"scripts/fetch-vocabs failed: {result.stderr}")
    return pathlib.Path(result.stdout.strip().splitlines()[-1])


def read_cases(gguf: pathlib.Path):
    """(text, ids) pairs, split the way test-tokenizer-0 splits them."""
    raw = pathlib.Path(str(gguf) + ".inp").read_bytes().decode("utf-8")
    texts = []
    pos = 0
    while pos < len(raw):
        end = raw.find(SEPARATOR, pos)
        if end < 0:
            texts.append(raw[pos:])
            break
        texts.append(raw[pos:end])
        pos = end + len(SEPARATOR)
    lines = pathlib.Path(str(gguf) + ".out").read_bytes().decode("utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    assert len(texts) == len(lines), f"{gguf.name}: {len(texts)} inputs but {len(lines)} outputs"
    return [(text, [int(t) for t in line.split()]) for text, line in zip(texts, lines)]


def tokenize_batch(cria, gguf: pathlib.Path, texts, tmp_path):
    batch = tmp_path / "texts.jsonl"
    batch.write_text("".join(json.dumps(t, ensure_ascii=False) + "\n" for t in texts), encoding="utf-8")
    out = cria("tokenize", "-m", gguf, "--batch", batch, "--no-bos").stdout
    return [json.loads(line) for line in out.splitlines()]


@pytest.mark.parametrize("name", VOCABS)
def test_vocab_matches_llama_cpp(cria, vocab_dir, name, tmp_path):
    gguf = vocab_dir / f"ggml-vocab-{name}.gguf"
    cases = read_cases(gguf)
    got = tokenize_batch(cria, gguf, [text for text, _ in cases], tmp_path)
    assert len(got) == len(cases)
    failures = [(text, want, ids) for (text, want), ids in zip(cases, got) if ids != want]
    print(f"{name}: {len(cases) - len(failures)}/{len(cases)} exact")
    report = "\n".join(f"  {text!r}\n    want {want}\n    got  {ids}" for text, want, ids in failures[:5])
    assert not failures, f"{name}: {len(failures)} of {len(cases)} cases differ from llama.cpp:\n{report}"


def test_batch_reads_standard_input(vocab_dir):
    gguf = vocab_dir / "ggml-vocab-gpt-2.gguf"
    result = subprocess.run([str(cria_binary()), "tokenize", "-m", str(gguf), "--batch", "-", "--no-bos"],
                            input='"Hello world"\n\n" Hello"\n', capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["[15496, 995]", "[18435]"]


def test_batch_rejects_a_line_that_is_not_a_json_string(cria, vocab_dir, tmp_path):
    batch = tmp_path / "bad.jsonl"
    batch.write_text('"fine"\n{"text": "no"}\n')
    result = cria("tokenize", "-m", vocab_dir / "ggml-vocab-gpt-2.gguf", "--batch", batch, check=False)
    assert result.returncode == 1
    assert "--batch line 2: expected a JSON string" in result.stderr
    assert result.stdout == ""


def test_unsupported_tokenizer_model_fails_at_load_naming_it(cria, vocab_dir):
    # nomic-bert-moe's vocabulary is a T5 (Unigram) one, which Cria does not implement.
    result = cria("tokenize", "-m", vocab_dir / "ggml-vocab-nomic-bert-moe.gguf", "-p", "hi", check=False)
    assert result.returncode == 1
    assert "unsupported tokenizer model 't5' (tokenizer.ggml.model)" in result.stderr
