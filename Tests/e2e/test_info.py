"""`cria info` on the real model and on bad files."""
import re

import gguf


def test_info_lists_every_tensor_like_gguf_py(cria, model_path):
    out = cria("info", model_path).stdout
    assert 'general.architecture                    str  "gemma3"' in out
    assert "tensors:   236 " in out
    rows = re.findall(r"^  (\d+)\s+(\S+)\s+(\S+)\s+\[([0-9, ]+)\]\s+(\d+)$", out, re.M)
    assert len(rows) == 236
    reader = gguf.GGUFReader(str(model_path))
    expected = {t.name: (t.tensor_type.name, [int(d) for d in t.shape], int(t.n_bytes)) for t in reader.tensors}
    for _, name, type_name, shape, nbytes in rows:
        exp_type, exp_shape, exp_bytes = expected[name]
        assert type_name == exp_type, name
        assert [int(d) for d in shape.split(", ")] == exp_shape, name
        assert int(nbytes) == exp_bytes, name


def test_info_no_mmap_gives_same_listing(cria, model_path):
    assert cria("info", "--no-mmap", model_path).stdout == cria("info", model_path).stdout


def test_info_on_non_gguf_file_is_clear_error(cria, tmp_path):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a model at all, just text")
    result = cria("info", bad, check=False)
    assert result.returncode == 1
    assert "not a GGUF file" in result.stderr


def test_info_on_truncated_model_names_offset(cria, model_path, tmp_path):
    cut = tmp_path / "cut.gguf"
    with open(model_path, "rb") as f:
        cut.write_bytes(f.read(4_000_000))
    result = cria("info", cut, check=False)
    assert result.returncode == 1
    assert "truncated at offset" in result.stderr or "outside the file" in result.stderr


def test_info_missing_file(cria, tmp_path):
    result = cria("info", tmp_path / "nope.gguf", check=False)
    assert result.returncode == 1
    assert "nope.gguf" in result.stderr
