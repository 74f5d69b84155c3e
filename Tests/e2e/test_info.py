"""`cria info` on the real model and on bad files, and `cria info --devices`."""
import ctypes
import glob
import os
import re
import subprocess

import gguf
import pytest

from conftest import cria_binary


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


def test_info_takes_the_model_with_m_as_the_other_commands_do(cria, model_path):
    listing = cria("info", model_path).stdout
    assert cria("info", "-m", model_path).stdout == listing
    assert cria("info", "--model", model_path).stdout == listing
    both = cria("info", "-m", model_path, model_path, check=False)
    assert both.returncode != 0 and "once" in both.stderr, both.stderr


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


# `cria info --devices` (Vulkan). The loader is opened at run time: with it (scripts/install-vulkan
# installs Mesa's lavapipe, a Vulkan device on the CPU) the devices are listed; without it, one line
# says so and the command still succeeds. CRIA_VULKAN_LOADER points the binary at another loader file.
def _vulkan_loader_present():
    try:
        ctypes.CDLL("libvulkan.so.1")
        return True
    except OSError:
        return False


def _lavapipe_installed():
    return bool(glob.glob("/usr/share/vulkan/icd.d/lvp_icd*.json"))


def test_info_devices_lists_lavapipe_when_the_loader_exists(cria):
    if not (_vulkan_loader_present() and _lavapipe_installed()):
        pytest.skip("no Vulkan loader or lavapipe here (scripts/install-vulkan installs them)")
    out = cria("info", "--devices").stdout
    assert re.search(r"^Vulkan devices: [1-9]", out, re.M), out
    assert re.search(r"^  \d+: llvmpipe", out, re.M), out
    assert re.search(r"type cpu, Vulkan 1\.\d+\.\d+", out), out
    assert re.search(r"compute yes, subgroup size \d+", out), out
    assert re.search(r"memory heap 0: [1-9]\d* MiB", out), out


def test_info_devices_without_loader_is_one_clear_line(cria):
    env = dict(os.environ, CRIA_VULKAN_LOADER="/nonexistent/libvulkan.so.1")
    result = subprocess.run([str(cria_binary()), "info", "--devices"], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    assert lines[0].startswith("no Vulkan loader (/nonexistent/libvulkan.so.1): install mesa-vulkan-drivers"), lines[0]


def test_info_needs_a_model_or_devices(cria):
    result = cria("info", check=False)
    assert result.returncode != 0
    assert "missing a .gguf file" in result.stderr
    result = cria("info", "--devices", "x.gguf", check=False)
    assert result.returncode != 0
    assert "not both" in result.stderr
    result = cria("info", "--devices", "-m", "x.gguf", check=False)
    assert result.returncode != 0
    assert "not both" in result.stderr
