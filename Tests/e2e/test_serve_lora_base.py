"""--lora-base: the adapters' base model replaces the -m model's matrices that the adapters
change. The base here is the test model with the adapted matrices (layers 0-3 of
scripts/make-lora-adapter.py's default adapter) dequantized to F16 by gguf-py, so serving
`-m model --lora A --lora-base base` must compute exactly what `-m base --lora A` computes."""
import numpy as np
import gguf
import pytest

from conftest import MODEL, ROOT
from test_serve_lora import GREEDY, SERVER, complete, make_adapter, prompts, refused

ADAPTED = [f"blk.{layer}.{kind}.weight" for layer in range(4)
           for kind in ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down")]


def write_base(path):
    """The test model with every adapted matrix in F16 (everything else copied as it is)."""
    reader = gguf.GGUFReader(str(MODEL))
    writer = gguf.GGUFWriter(str(path), reader.fields["general.architecture"].contents())
    for field in reader.fields.values():
        if field.name.startswith("GGUF.") or field.name == "general.architecture":
            continue
        kind = field.types[0]
        sub = field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), kind, sub_type=sub)
    for t in reader.tensors:
        if t.name in ADAPTED:
            writer.add_tensor(t.name, gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float16))
        else:
            writer.add_tensor(t.name, t.data, raw_dtype=t.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lora-base")
    return make_adapter(folder / "lora.gguf"), write_base(folder / "base.gguf")


def test_base_matrices_replace_the_adapted_ones(start_server, files):
    adapter, base = files
    with_base = start_server("--lora", adapter, "--lora-base", base, *SERVER)
    base_model = start_server("--lora", adapter, *SERVER, model=base)
    quantized = start_server("--lora", adapter, *SERVER)
    for name in ("english_prose", "code"):
        text = prompts()[name]
        a = complete(with_base, text, n_probs=3)
        b = complete(base_model, text, n_probs=3)
        assert a["tokens"] == b["tokens"]
        assert a["completion_probabilities"] == b["completion_probabilities"]  # the same floats
        q = complete(quantized, text, n_probs=3)
        assert q["completion_probabilities"] != a["completion_probabilities"]  # the base matrices were used
    for s in (with_base, base_model, quantized):
        s.stop()


def test_bad_lora_base_stops_the_server_naming_the_problem(tmp_path, files):
    adapter, _ = files
    other = ROOT / "Tests" / "ModelsTests" / "Fixtures" / "Architectures" / "qwen3.gguf"
    out = refused("--lora", adapter, "--lora-base", other)
    assert "--lora-base" in out and "'gemma3'" in out and "'qwen3'" in out
    assert "no such readable file" in refused("--lora", adapter, "--lora-base", tmp_path / "missing.gguf")
    assert "give the adapters with --lora" in refused("--lora-base", MODEL)
