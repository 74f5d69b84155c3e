"""Which routes need --api-key: all but llama-server's public ones (/health, /v1/health, the
web front end), plus --path static files, which Cria leaves open (docs/compatibility.md)."""
import openai
import pytest

from conftest import assert_openai_error


@pytest.fixture(scope="module")
def keyed(start_server, tmp_path_factory):
    static = tmp_path_factory.mktemp("static")
    (static / "style.css").write_text("body {}")
    return start_server("-np", "1", "-c", "256", "-t", "2", "--api-key", "k1", "--metrics", "--path", static)


def test_public_routes_stay_open(keyed):
    for path in ("/health", "/v1/health", "/", "/completion.js", "/ui/app.js", "/ui/chat.js", "/style.css"):
        assert keyed.get(path).status_code == 200, path
    assert keyed.get("/v1/health").json()["status"] == "ok"


def test_every_other_route_needs_the_key(keyed):
    for path in ("/v1/models", "/models", "/props", "/metrics", "/slots", "/missing.css", "/ui/missing.js", "/no-such-route"):
        assert_openai_error(keyed.get(path), 401, kind="authentication_error", contains="Invalid API Key")
    for path in ("/completion", "/v1/chat/completions", "/tokenize", "/apply-template", "/slots/0?action=erase"):
        assert_openai_error(keyed.post(path, {}), 401, kind="authentication_error")
    assert_openai_error(keyed.post("/tokenize", {"content": "x"}, headers={"Authorization": "Bearer k2"}), 401,
                        kind="authentication_error")
    assert_openai_error(keyed.post("/tokenize", {"content": "x"}, headers={"Authorization": "k1x"}), 401,
                        kind="authentication_error")


def test_the_key_opens_them(keyed):
    for headers in ({"Authorization": "Bearer k1"}, {"X-Api-Key": "k1"}):
        assert keyed.get("/v1/models", headers=headers).status_code == 200
        assert keyed.get("/metrics", headers=headers).status_code == 200
        assert keyed.post("/tokenize", {"content": "x"}, headers=headers).json()["tokens"]


def test_openai_client_with_and_without_the_key(keyed):
    good = openai.OpenAI(base_url=keyed.url("/v1"), api_key="k1", max_retries=0, timeout=120)
    reply = good.chat.completions.create(model="any", messages=[{"role": "user", "content": "Hi"}], max_tokens=2)
    assert reply.choices[0].message.content is not None
    bad = openai.OpenAI(base_url=keyed.url("/v1"), api_key="wrong", max_retries=0, timeout=120)
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()
