"""POST /infill on a model with fill-in-the-middle tokens.

The test model has none, so a copy is made whose metadata names three of Gemma's unused
tokens as FIM prefix/suffix/middle: the model is not trained for infill, but the route's
prompt layout and generation can be checked exactly against /completion.
"""
import mmap
import struct

import pytest

from conftest import MODEL, sse_events

FIM_PRE, FIM_SUF, FIM_MID = 6, 7, 8  # <unused0..2>
BOS = 2
GGUF_UINT32, GGUF_STRING, GGUF_ARRAY = 4, 8, 9
FIXED_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


def skip_value(buf, pos, kind):
    if kind == GGUF_STRING:
        return pos + 8 + struct.unpack_from("<Q", buf, pos)[0]
    if kind == GGUF_ARRAY:
        element, count = struct.unpack_from("<IQ", buf, pos)
        pos += 12
        if element in FIXED_SIZES:
            return pos + FIXED_SIZES[element] * count
        for _ in range(count):
            pos = skip_value(buf, pos, element)
        return pos
    return pos + FIXED_SIZES[kind]


def with_fim_tokens(source, target):
    """Copies GGUF `source` to `target` with three uint32 FIM token-id keys added."""
    with open(source, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        tensor_count, kv_count = struct.unpack_from("<QQ", buf, 8)
        pos = 24
        for _ in range(kv_count):
            pos = skip_value(buf, pos, GGUF_STRING)  # key
            kind = struct.unpack_from("<I", buf, pos)[0]
            pos = skip_value(buf, pos + 4, kind)
        kv_end = pos
        for _ in range(tensor_count):
            pos = skip_value(buf, pos, GGUF_STRING)  # name
            dims = struct.unpack_from("<I", buf, pos)[0]
            pos += 4 + 8 * dims + 4 + 8  # dims, type, offset
        align = 32  # the file sets no general.alignment
        data_start = -(-pos // align) * align
        extra = b""
        for key, token in (("fim_pre", FIM_PRE), ("fim_suf", FIM_SUF), ("fim_mid", FIM_MID)):
            name = f"tokenizer.ggml.{key}_token_id".encode()
            extra += struct.pack("<Q", len(name)) + name + struct.pack("<II", GGUF_UINT32, token)
        head = buf[:8] + struct.pack("<QQ", tensor_count, kv_count + 3) + buf[24:kv_end] + extra + buf[kv_end:pos]
        with open(target, "wb") as out:
            out.write(head + b"\0" * (-len(head) % align))
            out.write(buf[data_start:])  # tensor offsets are relative to the data section: unchanged


@pytest.fixture(scope="module")
def fim_server(start_server, tmp_path_factory):
    path = tmp_path_factory.mktemp("fim") / "gemma-fim.gguf"
    with_fim_tokens(MODEL, path)
    return start_server("-np", "2", "-c", "1024", model=path)


def test_infill_prompt_layout_and_output(fim_server):
    s = fim_server
    prefix, suffix = "def add(a, b):\n    return", "\n\nprint(add(1, 2))\n"
    pre = s.post("/tokenize", {"content": prefix}).json()["tokens"]
    suf = s.post("/tokenize", {"content": suffix}).json()["tokens"]
    layout = [BOS, FIM_PRE, *pre, FIM_SUF, *suf, FIM_MID]
    # ignore_eos: the test model may end an infill after a token or two; six make the comparison
    req = {"n_predict": 6, "temperature": 0, "return_tokens": True, "ignore_eos": True}
    infill = s.post("/infill", {"input_prefix": prefix, "input_suffix": suffix, **req}).json()
    assert infill["tokens_evaluated"] == len(layout)
    assert infill["tokens_predicted"] == 6
    assert infill["tokens"] == s.post("/completion", {"prompt": layout, **req}).json()["tokens"]
    events = sse_events(s.post("/infill", {"input_prefix": prefix, "input_suffix": suffix, **req, "stream": True},
                               stream=True))
    assert events[-1]["stop"] is True and "".join(e["content"] for e in events) == infill["content"]


def test_infill_takes_completion_options(fim_server):
    body = fim_server.post("/infill", {"input_prefix": "x = ", "input_suffix": "", "n_predict": 4, "temperature": 0,
                                       "grammar": 'root ::= [0-9]+', "stop": ["9"]}).json()
    assert body["content"].isdigit() or body["content"] == ""
    assert body["generation_settings"]["grammar"] == "root ::= [0-9]+"


def test_input_extra_comes_first_as_snippets(start_server, tmp_path_factory):
    path = tmp_path_factory.mktemp("fim-extra") / "gemma-fim.gguf"
    with_fim_tokens(MODEL, path)
    # llama-server keeps the last n_ctx - n_batch - 2·n_predict tokens of the extra context.
    s = start_server("-np", "1", "-c", "512", "-b", "64", "-t", "2", model=path)

    def tok(text):
        return s.post("/tokenize", {"content": text}).json()["tokens"]

    prefix, suffix = "x = helper(", ")\n"
    extra = [{"filename": "util.py", "text": "def helper(n):\n    return n + 1\n"}, {"text": "# notes"}]
    # This vocabulary has no FIM repo/separator tokens: each chunk follows a snippet line.
    context = []
    for chunk in extra:
        context += tok("\n\n--- snippet ---\n\n") + tok(chunk["text"])
    layout = [*context, BOS, FIM_PRE, *tok(prefix), FIM_SUF, *tok(suffix), FIM_MID]
    req = {"input_prefix": prefix, "input_suffix": suffix, "n_predict": 4, "temperature": 0, "return_tokens": True}
    body = s.post("/infill", {**req, "input_extra": extra}).json()
    assert body["tokens_evaluated"] == len(layout)
    assert body["tokens"] == s.post("/completion", {"prompt": layout, "n_predict": 4, "temperature": 0,
                                                    "return_tokens": True}).json()["tokens"]
    # Only the last tokens of a long context fit: 512 - 64 - 2*4 of them.
    long = s.post("/infill", {**req, "input_extra": [{"text": "word " * 600}]}).json()
    assert long["tokens_evaluated"] == 512 - 64 - 2 * 4 + len(layout) - len(context)
    for bad, message in (("x", "input_extra"), ([{"filename": "a"}], "text"), ([{"text": "a", "filename": 3}], "filename"),
                         ([7], "text")):
        r = s.post("/infill", {**req, "input_extra": bad})
        assert r.status_code == 400 and message in r.json()["error"]["message"], r.text
