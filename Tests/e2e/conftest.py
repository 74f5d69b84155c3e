"""Shared fixtures for the black-box tests: they run the built `cria` binary."""
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "gemma-3-270m-q4_k_m.gguf"
REFERENCE = ROOT.parent / "shared" / "reference" / "gemma3-270m"


def cria_binary() -> pathlib.Path:
    """The binary under test: $CRIA_BIN, else the release build."""
    path = pathlib.Path(os.environ.get("CRIA_BIN", ROOT / ".build" / "release" / "cria"))
    if not path.exists():
        pytest.fail(f"cria binary not found at {path}; run `swift build -c release` first (scripts/test does)")
    return path


@pytest.fixture(scope="session")
def cria():
    binary = cria_binary()

    def run(*args, check=True, timeout=600):
        result = subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"cria {' '.join(map(str, args))} exited {result.returncode}: {result.stderr}")
        return result

    return run


@pytest.fixture(scope="session")
def model_path():
    if not MODEL.exists():
        pytest.fail(f"test model missing at {MODEL}; run scripts/fetch-model")
    return MODEL
