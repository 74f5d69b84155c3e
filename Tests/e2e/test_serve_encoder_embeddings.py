"""`cria serve --embedding` with the tiny `bert` and `nomic-bert` models (written by
scripts/make-encoder-fixtures.py with the real BERT vocabulary): /embedding and /v1/embeddings
(also through the official `openai` client) return llama.cpp's recorded pooled vectors, L2-
normalized, within 1e-4 per component; `--pooling` overrides the model's pooling; completion
routes refuse with a 400. The model-level comparison is Tests/ModelsTests/EncoderFixtureTests.swift."""
import base64
import json
import math
import struct

import openai
import pytest

from conftest import ROOT, assert_openai_error

FIXTURES = ROOT / "Tests" / "ModelsTests" / "Fixtures" / "Architectures"
TOLERANCE = 1e-4
# each model's own pooling type (bert.pooling_type / nomic-bert.pooling_type in the fixture)
MODEL_POOLING = {"bert": "cls", "nomic-bert": "mean"}


def recording(name):
    return {run["pooling"]: run["texts"] for run in json.loads((FIXTURES / f"{name}.llama-cpp.json").read_text())["runs"]}


def normalized(v):
    n = math.sqrt(sum(x * x for x in v))
    return [x / n for x in v]


def assert_close(ours, theirs):
    assert len(ours) == len(theirs)
    worst = max(abs(a - b) for a, b in zip(ours, normalized(theirs)))
    assert worst <= TOLERANCE, worst


@pytest.fixture(scope="module", params=["bert", "nomic-bert"])
def encoder(request, start_server):
    name = request.param
    s = start_server("--embedding", "-np", "2", "-t", "2", model=FIXTURES / f"{name}.gguf")
    yield name, s
    s.stop()


def test_v1_embeddings_batch_equals_llama_cpp(encoder):
    name, s = encoder
    texts = recording(name)["model"]
    r = s.post("/v1/embeddings", {"input": [t["text"] for t in texts], "encoding_format": "float"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [d["index"] for d in body["data"]] == list(range(len(texts)))
    for d, t in zip(body["data"], texts):
        assert_close(d["embedding"], t["embedding"])
    assert body["usage"]["prompt_tokens"] == sum(len(t["tokens"]) for t in texts)


def test_each_input_is_embedded_alone(encoder):
    # The same text alone and inside a batch with others gives the same vector.
    name, s = encoder
    texts = [t["text"] for t in recording(name)["model"]]
    alone = s.post("/v1/embeddings", {"input": texts[3]}).json()["data"][0]["embedding"]
    batch = s.post("/v1/embeddings", {"input": texts}).json()["data"][3]["embedding"]
    assert alone == batch


def test_native_embedding_and_tokens(encoder):
    name, s = encoder
    for t in recording(name)["model"][:3]:
        r = s.post("/embedding", {"content": t["text"]})
        assert r.status_code == 200, r.text
        assert_close(r.json()["embedding"], t["embedding"])
        tokens = s.post("/tokenize", {"content": t["text"], "add_special": True}).json()["tokens"]
        assert tokens == t["tokens"]


def test_openai_client(encoder):
    name, s = encoder
    texts = recording(name)["model"]
    client = openai.OpenAI(base_url=s.url("/v1"), api_key="sk-no-key-required", max_retries=0, timeout=120)
    # the client asks for base64 by default and decodes it
    result = client.embeddings.create(model="any", input=[t["text"] for t in texts[:3]])
    for d, t in zip(result.data, texts):
        assert_close(d.embedding, t["embedding"])
    raw = client.embeddings.create(model="any", input=texts[0]["text"], encoding_format="base64")
    floats = struct.unpack(f"<{len(texts[0]['embedding'])}f", base64.b64decode(raw.data[0].embedding))
    assert_close(list(floats), texts[0]["embedding"])


def test_completions_are_refused(encoder):
    name, s = encoder
    for path, body in [("/completion", {"prompt": "Hello", "n_predict": 4}),
                       ("/v1/completions", {"prompt": "Hello", "max_tokens": 4}),
                       ("/v1/chat/completions", {"messages": [{"role": "user", "content": "Hello"}]})]:
        assert_openai_error(s.post(path, body), 400, contains="embedding model")
    assert s.get("/health").status_code == 200  # and the server is still there


@pytest.mark.parametrize("name", ["bert", "nomic-bert"])
@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_pooling_flag_overrides_the_models(start_server, name, pooling):
    texts = recording(name)[pooling]
    s = start_server("--embedding", "--pooling", pooling, "-np", "1", "-t", "2", model=FIXTURES / f"{name}.gguf")
    r = s.post("/v1/embeddings", {"input": [t["text"] for t in texts[:2]]})
    assert r.status_code == 200, r.text
    for d, t in zip(r.json()["data"], texts):
        assert_close(d["embedding"], t["embedding"])
    s.stop()


def test_without_embedding_flag_starts_and_says_so(start_server):
    # as llama-server: the server starts, its embedding routes ask for the flag, completions refuse
    s = start_server("-np", "1", "-t", "2", model=FIXTURES / "bert.gguf")
    assert "embedding model" in s.output()
    assert_openai_error(s.post("/v1/embeddings", {"input": "Hello"}), 501, kind="not_supported_error",
                        contains="--embedding")
    assert_openai_error(s.post("/completion", {"prompt": "Hello"}), 400, contains="embedding model")
    s.stop()


def test_input_longer_than_the_micro_batch_is_refused(start_server):
    s = start_server("--embedding", "-ub", "8", "-b", "8", "-np", "1", "-t", "2", model=FIXTURES / "bert.gguf")
    assert_openai_error(s.post("/v1/embeddings", {"input": "the quick brown fox jumps over the lazy dog"}), 400,
                        contains="physical batch size")
    assert s.post("/v1/embeddings", {"input": "Hello world!"}).status_code == 200
    s.stop()


def test_reranking_with_an_encoder_is_refused(cria):
    result = cria("serve", "-m", FIXTURES / "bert.gguf", "--reranking", check=False, timeout=60)
    assert result.returncode != 0
    assert "--reranking with a bert model is not supported" in result.stdout + result.stderr


def test_input_beyond_the_position_embeddings_is_refused(start_server):
    # bert.gguf has 512 position rows; -c and -ub let a longer input through to that check
    s = start_server("--embedding", "-c", "2048", "-ub", "2048", "-b", "2048", "-np", "1", "-t", "2",
                     model=FIXTURES / "bert.gguf")
    assert_openai_error(s.post("/v1/embeddings", {"input": "hello " * 600}), 400, contains="position embeddings")
    s.stop()
