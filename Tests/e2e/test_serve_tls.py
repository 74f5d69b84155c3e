"""HTTPS: --ssl-key-file/--ssl-cert-file, which only a TLS build of cria has (`swift build --traits TLS`,
as llama-server's LLAMA_SERVER_SSL). Against a default build only the refusal is checked and the
HTTPS tests skip, saying so; `scripts/test-tls` builds the TLS variant and runs this file against it
(with CRIA_EXPECT_TLS=1, which turns those skips into failures).
Certificates are made here with the openssl command-line tool: a CA and a server certificate it signs."""
import functools
import os
import shutil
import ssl
import subprocess
import time

import openai
import pytest
import requests

from conftest import CriaServer, MODEL, cria_binary


@functools.cache
def tls_build() -> bool:
    """Whether the binary under test was built with the TLS trait: its help says so."""
    help_text = subprocess.run([str(cria_binary()), "serve", "--help"], capture_output=True, text=True,
                               timeout=60).stdout
    assert "--ssl-key-file" in help_text, help_text
    return "this build has no TLS" not in help_text


def needs_tls_build():
    if os.environ.get("CRIA_EXPECT_TLS") == "1":
        assert tls_build(), f"CRIA_EXPECT_TLS=1 but {cria_binary()} was built without TLS"
    if not tls_build():
        pytest.skip(f"{cria_binary()} was built without TLS; scripts/test-tls builds it with --traits TLS "
                    "and runs these tests")


def openssl(*args, cwd):
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command-line tool is not installed; it makes the test certificates")
    subprocess.run(["openssl", *map(str, args)], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """ca.pem (a self-signed CA), server.pem/server.key (EC P-256, for 127.0.0.1 and localhost,
    signed by the CA), chain.pem (server.pem then ca.pem), rsa.pem/rsa.key (RSA 2048, same CA)
    and other.key (a key no certificate here belongs to)."""
    d = tmp_path_factory.mktemp("tls")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=cria test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    (d / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
                                  "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n")
    for name, algorithm in [("server", ["ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]), ("rsa", ["rsa:2048"])]:
        openssl("req", "-newkey", *algorithm, "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", "/CN=127.0.0.1", cwd=d)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", f"{name}.pem", "-days", "2", "-extfile", "server.ext", cwd=d)
    (d / "chain.pem").write_text((d / "server.pem").read_text() + (d / "ca.pem").read_text())
    openssl("genpkey", "-algorithm", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", "other.key", cwd=d)
    return d


def start_https(certs, key, cert, *args, model=MODEL):
    """A `cria serve` with TLS, ready once GET /health answers 200 over HTTPS."""
    server = CriaServer(["--ssl-key-file", certs / key, "--ssl-cert-file", certs / cert, *args], wait_ready=False,
                        model=model)
    server.base = f"https://127.0.0.1:{server.port}"
    deadline = time.time() + 300
    while time.time() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"cria serve exited {server.process.returncode}: {server.output()}")
        try:
            if requests.get(server.url("/health"), verify=str(certs / "ca.pem"), timeout=2).status_code == 200:
                return server
        except requests.ConnectionError:
            pass
        time.sleep(0.05)
    server.stop()
    raise AssertionError(f"cria serve with TLS did not become ready: {server.output()}")


def curl(*args):
    if shutil.which("curl") is None:
        pytest.skip("the curl command-line tool is not installed")
    return subprocess.run(["curl", "-sS", "--max-time", "30", *map(str, args)], capture_output=True, text=True,
                          timeout=60)


@pytest.fixture(scope="module")
def https_server(certs):
    needs_tls_build()
    server = start_https(certs, "server.key", "server.pem", "-np", "1", "-c", "512", "-t", "2")
    yield server
    server.stop()


def test_default_build_refuses_ssl_flags_and_says_how_to_build_with_tls(certs):
    if tls_build():
        pytest.skip("this binary was built with TLS; the refusal is what a default build does")
    r = subprocess.run([str(cria_binary()), "serve", "-m", str(MODEL), "--ssl-key-file", certs / "server.key",
                        "--ssl-cert-file", certs / "server.pem"], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "no TLS support" in r.stderr and "--traits TLS" in r.stderr, r.stderr


def test_curl_over_https_with_the_ca(https_server, certs):
    r = curl("--cacert", certs / "ca.pem", https_server.url("/health"))
    assert r.returncode == 0, r.stderr
    assert '"status":"ok"' in r.stdout.replace(" ", "")
    r = curl("--cacert", certs / "ca.pem", "-H", "Content-Type: application/json",
             "-d", '{"prompt": "Hello", "n_predict": 4, "temperature": 0}', https_server.url("/completion"))
    assert r.returncode == 0, r.stderr
    assert '"tokens_predicted":4' in r.stdout.replace(" ", ""), r.stdout


def test_https_refuses_an_untrusted_certificate_and_plain_http(https_server):
    # Without the CA curl cannot verify the server (exit 60: peer certificate cannot be authenticated).
    r = curl(https_server.url("/health"))
    assert r.returncode == 60, (r.returncode, r.stderr)
    # The port speaks TLS only: a plain HTTP request gets no HTTP answer.
    r = curl(f"http://127.0.0.1:{https_server.port}/health")
    assert r.returncode != 0 and "HTTP/1.1 200" not in r.stdout
    # And the server is still there afterwards.
    assert curl("-k", https_server.url("/health")).returncode == 0


def test_openai_client_over_https(https_server, certs):
    http_client = openai.DefaultHttpxClient(verify=ssl.create_default_context(cafile=str(certs / "ca.pem")))
    client = openai.OpenAI(base_url=https_server.url("/v1"), api_key="x", http_client=http_client)
    assert client.models.list().data
    chat = client.chat.completions.create(model="x", messages=[{"role": "user", "content": "Say hi"}],
                                          max_tokens=6, temperature=0)
    assert chat.choices[0].message.content and chat.usage.completion_tokens <= 6
    stream = client.chat.completions.create(model="x", messages=[{"role": "user", "content": "Say hi"}],
                                            max_tokens=6, temperature=0, stream=True)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == chat.choices[0].message.content


def test_rsa_key_and_certificate_chain_file(certs):
    needs_tls_build()
    server = start_https(certs, "rsa.key", "rsa.pem", model=None)
    try:
        assert curl("--cacert", certs / "ca.pem", server.url("/health")).returncode == 0
    finally:
        server.stop()
    server = start_https(certs, "server.key", "chain.pem", model=None)
    try:
        r = curl("--cacert", certs / "ca.pem", server.url("/v1/models"))
        assert r.returncode == 0 and '"data"' in r.stdout, (r.stderr, r.stdout)
    finally:
        server.stop()


@pytest.mark.parametrize("flags,message", [
    (["--ssl-key-file", "server.key"], "--ssl-key-file needs --ssl-cert-file"),
    (["--ssl-cert-file", "server.pem"], "--ssl-cert-file needs --ssl-key-file"),
    (["--ssl-key-file", "missing.key", "--ssl-cert-file", "server.pem"], "--ssl-key-file missing.key: no such file"),
    (["--ssl-key-file", "server.key", "--ssl-cert-file", "missing.pem"], "--ssl-cert-file missing.pem: no such file"),
    (["--ssl-key-file", ".", "--ssl-cert-file", "server.pem"], "is a folder"),
    (["--ssl-key-file", "server.key", "--ssl-cert-file", "garbage.txt"], "--ssl-cert-file garbage.txt holds no PEM certificate"),
    (["--ssl-key-file", "server.key", "--ssl-cert-file", "broken.pem"], "--ssl-cert-file broken.pem is not a valid PEM certificate"),
    (["--ssl-key-file", "server.key", "--ssl-cert-file", "empty.pem"], "--ssl-cert-file empty.pem holds no PEM certificate"),
    (["--ssl-key-file", "garbage.txt", "--ssl-cert-file", "server.pem"], "--ssl-key-file garbage.txt holds no PEM private key"),
    (["--ssl-key-file", "server.pem", "--ssl-cert-file", "server.key"], "--ssl-cert-file server.key holds no PEM certificate"),
    (["--ssl-key-file", "server.pem", "--ssl-cert-file", "server.pem"], "--ssl-key-file server.pem holds no PEM private key"),
    (["--ssl-key-file", "broken.key", "--ssl-cert-file", "server.pem"], "--ssl-key-file broken.key is not a valid PEM private key"),
    (["--ssl-key-file", "encrypted.key", "--ssl-cert-file", "server.pem"], "--ssl-key-file encrypted.key is encrypted"),
    (["--ssl-key-file", "other.key", "--ssl-cert-file", "server.pem"], "--ssl-key-file other.key does not go with --ssl-cert-file server.pem"),
    (["--ssl-key-file", "rsa.key", "--ssl-cert-file", "server.pem"], "--ssl-key-file rsa.key does not go with --ssl-cert-file server.pem"),
])
def test_bad_tls_files_stop_the_server_with_a_message(certs, flags, message):
    needs_tls_build()
    (certs / "garbage.txt").write_text("not a certificate\n")
    (certs / "empty.pem").write_text("")
    pem = (certs / "server.pem").read_text()
    (certs / "broken.pem").write_text(pem[:40] + "!!!!" + pem[44:])
    key = (certs / "server.key").read_text()
    (certs / "broken.key").write_text(key[:40] + "!!!!" + key[44:])
    if not (certs / "encrypted.key").exists():
        openssl("pkey", "-in", "server.key", "-aes256", "-passout", "pass:secret", "-out", "encrypted.key", cwd=certs)
    r = subprocess.run([str(cria_binary()), "serve", "-m", str(MODEL), "--port", "0", *flags], cwd=certs,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode > 0, (r.returncode, r.stdout, r.stderr)  # an error exit, not a signal
    assert message in r.stderr, r.stderr
    assert "Fatal error" not in r.stderr + r.stdout


def test_unreadable_tls_file(certs):
    needs_tls_build()
    if os.geteuid() == 0:
        pytest.skip("running as root: every file is readable")
    locked = certs / "locked.key"
    locked.write_bytes((certs / "server.key").read_bytes())
    locked.chmod(0)
    r = subprocess.run([str(cria_binary()), "serve", "--port", "0", "--ssl-key-file", locked,
                        "--ssl-cert-file", certs / "server.pem"], capture_output=True, text=True, timeout=60)
    assert r.returncode > 0 and "cannot be read" in r.stderr, r.stderr
