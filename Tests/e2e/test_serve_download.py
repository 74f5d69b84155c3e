"""-mu URL and -hfr/-hff downloads, against a local HTTP server started here (no internet):
resume after a cut connection (HTTP Range), the cache reused, HF_TOKEN sent as a Bearer token,
and clear errors for 401 and 404."""
import hashlib
import http.server
import json
import os
import subprocess
import threading

import pytest

from conftest import MODEL, CriaServer, cria_binary

SIZE = os.path.getsize(MODEL)
ETAG = '"cria-test-model-1"'


class ModelFiles(http.server.BaseHTTPRequestHandler):
    """Serves MODEL under a few paths, with Range support; cuts the first full GET of each path
    halfway once; `/private/…` wants `Authorization: Bearer tok`."""
    cut = set()          # paths whose next full GET is cut halfway
    seen = []            # (method, path, Range header)

    def log_message(self, *args):
        pass

    def route(self):
        path = self.path
        if path.startswith("/private/") and self.headers.get("Authorization") != "Bearer tok":
            self.send_error(401, "Unauthorized")
            return None
        if path in ("/files/model.gguf", "/owner/repo/resolve/main/model.gguf", "/private/repo/resolve/main/model.gguf"):
            return path
        self.send_error(404, "Not Found")
        return None

    def do_HEAD(self):
        ModelFiles.seen.append(("HEAD", self.path, None))
        if self.route() is None:
            return
        self.send_response(200)
        self.send_header("Content-Length", str(SIZE))
        self.send_header("ETag", ETAG)
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()

    def do_GET(self):
        ranged = self.headers.get("Range")
        ModelFiles.seen.append(("GET", self.path, ranged))
        if self.route() is None:
            return
        start = int(ranged[len("bytes="):].split("-")[0]) if ranged else 0
        self.send_response(206 if ranged else 200)
        self.send_header("Content-Length", str(SIZE - start))
        if ranged:
            self.send_header("Content-Range", f"bytes {start}-{SIZE - 1}/{SIZE}")
        self.send_header("ETag", ETAG)
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        stop = SIZE // 2 if (not ranged and self.path in ModelFiles.cut) else SIZE
        ModelFiles.cut.discard(self.path)
        with open(MODEL, "rb") as f:
            f.seek(start)
            left = stop - start
            while left > 0:
                chunk = f.read(min(1 << 20, left))
                self.wfile.write(chunk)
                left -= len(chunk)
        if stop < SIZE:
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)  # the connection breaks mid-file


@pytest.fixture(scope="module")
def files():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ModelFiles)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def serve(args, env):
    s = CriaServer(["-np", "1", "-c", "256", "-t", "2", *args], model=None, env=env)
    try:
        assert s.get("/v1/models").status_code == 200
        return s.output()
    finally:
        s.stop()


def refused(args, env):
    r = subprocess.run([str(cria_binary()), "serve", "--port", "0", *args], capture_output=True, text=True,
                       timeout=120, env={**os.environ, **env})
    assert r.returncode != 0
    return r.stdout + r.stderr


def test_model_url_resumes_after_a_cut_and_is_reused_from_the_cache(files, tmp_path):
    env = {"CRIA_CACHE": str(tmp_path)}
    ModelFiles.cut = {"/files/model.gguf"}
    ModelFiles.seen = []
    out = serve(["-mu", f"{files}/files/model.gguf"], env)
    target = tmp_path / "model.gguf"
    assert target.stat().st_size == SIZE and digest(target) == digest(MODEL)
    assert not (tmp_path / "model.gguf.part").exists()  # renamed into place when complete
    assert json.loads((tmp_path / "model.gguf.json").read_text())["etag"] == ETAG
    gets = [(p, r) for m, p, r in ModelFiles.seen if m == "GET"]
    assert gets[0] == ("/files/model.gguf", None) and gets[1] == ("/files/model.gguf", f"bytes={SIZE // 2}-")
    assert "resuming" in out and "downloaded 100%" in out

    # A second start only asks whether the file changed; --offline does not ask at all.
    ModelFiles.seen = []
    assert "using cached" in serve(["-mu", f"{files}/files/model.gguf"], env)
    assert [m for m, _, _ in ModelFiles.seen] == ["HEAD"]
    ModelFiles.seen = []
    serve(["-mu", f"{files}/files/model.gguf", "--offline"], env)
    assert ModelFiles.seen == []


def test_hugging_face_repo_and_file_with_a_token(files, tmp_path):
    env = {"CRIA_CACHE": str(tmp_path), "HF_ENDPOINT": files, "HF_TOKEN": "tok"}
    ModelFiles.cut = set()
    serve(["-hfr", "private/repo", "-hff", "model.gguf"], env)
    assert (tmp_path / "hf" / "private" / "repo" / "model.gguf").stat().st_size == SIZE


def test_download_errors_name_the_problem(files, tmp_path):
    env = {"CRIA_CACHE": str(tmp_path), "HF_ENDPOINT": files}
    denied = refused(["-hfr", "private/repo", "-hff", "model.gguf"], env)
    assert "401" in denied and "HF_TOKEN" in denied
    missing = refused(["-mu", f"{files}/files/nothing.gguf"], env)
    assert "not found" in missing and "404" in missing
    assert "--hf-file" in refused(["-hfr", "owner/repo"], env)
    assert "--offline" in refused(["-mu", f"{files}/files/other.gguf", "--offline"], env)
    assert not list(tmp_path.rglob("*.gguf"))  # nothing half-written left under the final names
