"""Shared fixtures for the black-box tests: they run the built `cria` binary."""
import os
import pathlib
import subprocess
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "gemma-3-270m-q4_k_m.gguf"
# llama.cpp's recorded outputs for the test model; where each came from: its README.md.
REFERENCE = ROOT / "Tests" / "Fixtures" / "reference" / "gemma3-270m"


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


# ---------------------------------------------------------------------------------------------
# `cria serve` fixtures: a real server process on a free loopback port.

import json
import socket
import time

import requests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Server logs live in one folder removed when the test run ends (they used to pile up in /tmp).
_LOG_DIR = tempfile.TemporaryDirectory(prefix="cria-e2e-logs-")


def wait_for(predicate, timeout=10):
    """Whether `predicate()` holds within `timeout` seconds (polled): a request's log line is
    written just after its response reaches the client."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


class CriaServer:
    """A running `cria serve`; `url(path)` builds request URLs, `stop()` ends it."""

    def __init__(self, args, ready_timeout=300, wait_ready=True, model=MODEL, env=None, preexec_fn=None):
        """`model=None` passes no -m; `env` adds environment variables; `preexec_fn` runs in the
        child before the binary starts (resource limits)."""
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        model_args = ["-m", str(model)] if model is not None else []
        self.args = [str(cria_binary()), "serve", *model_args, "--port", str(self.port), *map(str, args)]
        self.log = tempfile.NamedTemporaryFile(prefix="cria-serve-", suffix=".log", delete=False, dir=_LOG_DIR.name)
        self.process = subprocess.Popen(self.args, stdout=self.log, stderr=subprocess.STDOUT,
                                        env={**os.environ, **(env or {})}, preexec_fn=preexec_fn)
        if wait_ready:
            try:
                self.wait_ready(ready_timeout)
            except BaseException:
                self.stop()  # not left running when the test fails at setup
                raise

    def output(self) -> str:
        with open(self.log.name, encoding="utf-8", errors="replace") as f:
            return f.read()

    def url(self, path: str) -> str:
        return self.base + path

    def wait_ready(self, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"cria serve exited {self.process.returncode}: {self.output()}")
            try:
                if requests.get(self.url("/health"), timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.05)
        self.stop()
        raise AssertionError("cria serve did not become ready")

    def post(self, path, body=None, **kw):
        kw.setdefault("timeout", 600)
        return requests.post(self.url(path), json=body, **kw)

    def get(self, path, **kw):
        kw.setdefault("timeout", 60)
        return requests.get(self.url(path), **kw)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


_SERVERS = []


@pytest.fixture(scope="session")
def start_server(model_path):
    """Factory: start_server(*args) → a ready CriaServer, stopped at the end of the test module
    that started it (`keep=True`: at the end of the session). Each server holds its own packed
    weight copies (private memory), so dozens alive at once would exhaust a small machine."""

    def start(*args, keep=False, **kw):
        server = CriaServer(args, **kw)
        server.keep = keep
        _SERVERS.append(server)
        return server

    yield start
    for s in _SERVERS:
        s.stop()


@pytest.fixture(scope="module", autouse=True)
def _stop_module_servers():
    """Stops the servers a test module started once its tests (and module fixtures) are done."""
    first = len(_SERVERS)
    yield
    for s in _SERVERS[first:]:
        if not s.keep:
            s.stop()


@pytest.fixture(scope="session")
def server(start_server, tmp_path_factory):
    """The shared server: 4 slots of 1024 tokens, embeddings, metrics, slot files."""
    slot_dir = tmp_path_factory.mktemp("slots")
    s = start_server("-np", "4", "-c", "4096", "-t", "2", "--embedding", "--metrics", "--slot-save-path", slot_dir,
                     keep=True)
    s.slot_dir = slot_dir
    return s


def sse_events(response):
    """The `data:` payloads of an SSE response, JSON-decoded ('[DONE]' kept as the string)."""
    events = []
    response.encoding = "utf-8"  # SSE is UTF-8; requests would guess ISO-8859-1 for text/*
    for line in response.iter_lines(decode_unicode=True):
        if not line:
            continue
        assert line.startswith("data: "), line
        payload = line[len("data: "):]
        events.append(payload if payload == "[DONE]" else json.loads(payload))
    return events


def assert_openai_error(response, status, kind="invalid_request_error", contains=None):
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == status
    assert error["type"] == kind
    assert isinstance(error["message"], str) and error["message"]
    if contains:
        assert contains in error["message"], error["message"]
