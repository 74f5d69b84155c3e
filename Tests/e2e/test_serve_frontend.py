"""The built-in web front end: its files served as they are in Sources/WebUI, and the /completion.js
module pages import, run in Node. The page itself is tested in a browser: test_webui_browser.py."""
import json
import pathlib
import shutil
import subprocess

import pytest

from conftest import assert_openai_error

# Drives completion.js as a page would, with fetch's relative URLs resolved against the server.
DRIVER = """
const [base, module, apiKey] = process.argv.slice(2);
const realFetch = globalThis.fetch;
globalThis.fetch = (url, options) => realFetch(new URL(url, base), options);
const js = await import(module);
const config = apiKey ? { api_key: apiKey } : {};
const params = { n_predict: 6, temperature: 0 };
const prompt = "The old lighthouse keeper";

const chunks = [];
let content = null;
const generator = js.llama(prompt, params, config);
for (;;) {
  const { value, done } = await generator.next();
  if (done) { content = value; break; }
  chunks.push(value.data);
}
const promised = await js.llamaPromise(prompt, params, config);
const events = await new Promise((resolve) => {
  const seen = [];
  const target = js.llamaEventTarget(prompt, params, config);
  for (const type of ["message", "generation_settings", "timings"]) target.addEventListener(type, () => seen.push(type));
  target.addEventListener("done", (e) => resolve({ seen, content: e.detail.content }));
});
let early = 0;
for await (const chunk of js.llama(prompt, { n_predict: 500, temperature: 0 }, config)) { if (++early === 2) break; }
// Breaking out must cancel the request (this process still holds its connections): the slot frees.
let freed = false;
for (let i = 0; i < 200 && !freed; i++) {
  const health = await (await fetch("/health")).json();
  freed = health.slots_processing === 0;
  if (!freed) await new Promise((r) => setTimeout(r, 50));
}
let error = null;
try { await js.llamaPromise(prompt, { n_predict: -7 }, config); } catch (e) { error = { message: e.message, status: e.status }; }
const info = await js.llamaModelInfo(config);
console.log(JSON.stringify({ chunks, content, promised, events, error, info, freed }));
"""


@pytest.fixture(scope="module")
def node():
    path = shutil.which("node")
    if path is None:
        pytest.skip("node is not installed: completion.js cannot be run")
    return path


def run_completion_js(node, server, tmp_path, api_key=None):
    module = tmp_path / "completion.mjs"
    module.write_text(server.get("/completion.js").text)
    driver = tmp_path / "driver.mjs"
    driver.write_text(DRIVER)
    r = subprocess.run([node, driver, server.base, module.as_uri(), api_key or ""], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


WEBUI = pathlib.Path(__file__).resolve().parents[2] / "Sources" / "WebUI"
TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}


def test_every_web_ui_file_is_served_as_it_is_in_the_repo(server):
    files = sorted(p for p in WEBUI.iterdir() if p.suffix in TYPES)
    assert {p.name for p in files} >= {"index.html", "completion.js", "app.js", "style.css"}
    for path in files:
        url = {"index.html": "/", "completion.js": "/completion.js"}.get(path.name, f"/ui/{path.name}")
        r = server.get(url)
        assert r.status_code == 200, url
        assert r.headers["content-type"].startswith(TYPES[path.suffix]), url
        assert r.content == path.read_bytes(), f"{url} differs from {path}: rebuild the binary"
    assert server.get("/index.html").content == (WEBUI / "index.html").read_bytes()
    assert '<script type="module" src="/ui/app.js">' in server.get("/").text
    assert server.get("/ui/missing.js").status_code == 404


def test_completion_js_exports_the_documented_names(server):
    js = server.get("/completion.js")
    assert js.headers["content-type"].startswith("text/javascript")
    for name in ("llama", "llamaPromise", "llamaEventTarget", "llamaComplete", "llamaModelInfo", "serverSentEvents"):
        assert f"export async function* {name}(" in js.text or f"export async function {name}(" in js.text \
            or f"export function {name}(" in js.text, name


def test_completion_js_streams_like_the_completion_route(server, node, tmp_path):
    direct = server.post("/completion", {"prompt": "The old lighthouse keeper", "n_predict": 6, "temperature": 0}).json()
    out = run_completion_js(node, server, tmp_path)
    assert out["content"] == direct["content"] == out["promised"] == out["events"]["content"]
    assert "".join(c["content"] for c in out["chunks"]) == direct["content"]
    assert out["chunks"][-1]["stop"] is True and out["chunks"][-1]["tokens_predicted"] == 6
    assert {"message", "generation_settings", "timings"} <= set(out["events"]["seen"])
    assert "n_predict" in out["error"]["message"]  # the server's error message, not a bare status
    assert out["error"]["status"] == 400
    assert out["info"]["n_ctx"] == 1024 and "temperature" in out["info"]
    assert out["freed"]  # breaking out of the loop cancelled the request


def test_front_end_stays_open_with_api_key(start_server, node, tmp_path):
    s = start_server("-np", "1", "-c", "256", "--api-key", "secret")
    for path in ("/", "/completion.js", "/ui/app.js", "/ui/style.css"):
        assert s.get(path).status_code == 200, path
    assert_openai_error(s.post("/completion", {"prompt": "x"}), 401, kind="authentication_error")
    assert_openai_error(s.post("/completions", {"prompt": "x"}), 401, kind="authentication_error")
    out = run_completion_js(node, s, tmp_path, api_key="secret")
    assert out["chunks"][-1]["tokens_predicted"] == 6


def test_path_files_replace_built_in_ones(start_server, tmp_path):
    (tmp_path / "completion.js").write_text("export const mine = 1;")
    (tmp_path / "other.txt").write_text("other")
    s = start_server("-np", "1", "-c", "256", "--path", tmp_path)
    assert s.get("/completion.js").text == "export const mine = 1;"
    assert s.get("/other.txt").text == "other"
    assert "<title>cria</title>" in s.get("/").text  # no index.html in --path: the built-in page
