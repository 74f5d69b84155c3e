"""`cria serve --reranking`: /rerank scores with the model's classification head (llama.cpp's
rank pooling: last token's final hidden state · cls.output row 0)."""
import pathlib

import numpy as np
import pytest

from conftest import ROOT

gguf = pytest.importorskip("gguf")

BASE = ROOT / "Tests" / "ModelsTests" / "Fixtures" / "llama-f32.gguf"


def with_ranking_head(path: pathlib.Path, head: np.ndarray):
    """A copy of the tiny synthetic llama with a `cls.output.weight` added."""
    reader = gguf.GGUFReader(str(BASE))
    writer = gguf.GGUFWriter(str(path), arch="llama")
    for name, field in reader.fields.items():
        if name.startswith("GGUF.") or name == "general.architecture":
            continue
        value_type = field.types[0]
        if value_type == gguf.GGUFValueType.ARRAY:
            writer.add_array(name, field.contents())
        else:
            writer.add_key_value(name, field.contents(), value_type)
    for t in reader.tensors:
        writer.add_tensor(t.name, np.array(t.data).reshape(list(reversed(t.shape.tolist()))))
    writer.add_tensor("cls.output.weight", head.astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def test_rerank_scores_with_the_head(start_server, tmp_path):
    rng = np.random.default_rng(7)
    head = rng.standard_normal((2, 64)).astype(np.float32)
    model = tmp_path / "reranker.gguf"
    with_ranking_head(model, head)
    ranker = start_server("-np", "1", "-c", "64", "-t", "2", "--reranking", model=model)
    # The same weights without a head give the raw hidden states to check the scores against.
    states = start_server("-np", "1", "-c", "64", "-t", "2", "--embedding", "--pooling", "none", model=model)

    query, docs = "ab", ["ba", "aab", "b"]
    r = ranker.post("/v1/rerank", {"query": query, "documents": docs, "top_n": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "list" and len(body["results"]) == 2

    def tokens(text):
        return states.post("/tokenize", {"content": text}).json()["tokens"]

    expected = []
    for i, doc in enumerate(docs):
        pair = [1] + tokens(query) + tokens(doc)  # BOS query document (the vocabulary adds no EOS)
        last = np.array(states.post("/embedding", {"content": pair}).json()["embedding"][-1], dtype=np.float64)
        expected.append((float(head[0].astype(np.float64) @ last), i))
    expected.sort(reverse=True)
    got = [(res["relevance_score"], res["index"]) for res in body["results"]]
    assert [i for _, i in got] == [i for _, i in expected[:2]]
    for (score, _), (want, _) in zip(got, expected):
        assert score == pytest.approx(want, rel=1e-4, abs=1e-4)
    assert body["usage"]["prompt_tokens"] == sum(1 + len(tokens(query)) + len(tokens(d)) for d in docs)

    # TEI shape: `texts` in, a bare sorted array with `score` (and `text` on request) out.
    tei = ranker.post("/rerank", {"query": query, "texts": docs, "return_text": True}).json()
    assert [x["index"] for x in tei] == [i for _, i in expected] and tei[0]["text"] == docs[expected[0][1]]
    assert ranker.post("/rerank", {"query": query}).status_code == 400


def test_reranking_needs_a_head(cria, tmp_path):
    result = cria("serve", "-m", BASE, "--port", "0", "--reranking", check=False, timeout=120)
    assert result.returncode != 0 and "cls.output.weight" in result.stderr + result.stdout
