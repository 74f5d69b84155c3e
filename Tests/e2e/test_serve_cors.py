"""CORS as llama-server answers it, so a browser app on another origin can call the API."""
import requests

from conftest import sse_events

APP = "http://app.example:5173"


def preflight(server, path, origin=APP, **headers):
    return requests.options(server.url(path), headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                                                       "Access-Control-Request-Headers": "authorization, content-type",
                                                       **headers}, timeout=30)


def test_a_browser_app_on_another_origin_can_stream_a_chat_with_a_key(start_server):
    s = start_server("-np", "1", "-c", "256", "-t", "2", "--api-key", "secret")
    # The preflight carries no key (browsers never send one) and is answered before the key check.
    pre = preflight(s, "/v1/chat/completions")
    assert pre.status_code == 200 and pre.text == ""
    assert pre.headers["Access-Control-Allow-Origin"] == APP
    assert pre.headers["Access-Control-Allow-Credentials"] == "true"
    assert pre.headers["Access-Control-Allow-Methods"] == "GET, POST, DELETE, OPTIONS"
    assert pre.headers["Access-Control-Allow-Headers"] == "*"
    assert pre.headers["Vary"] == "Origin"  # the answer depends on the origin: caches must not share it
    # Unknown paths are preflighted too (llama-server answers every OPTIONS before routing).
    assert preflight(s, "/no-such-route").headers["Access-Control-Allow-Origin"] == APP

    r = s.post("/v1/chat/completions", {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 3,
                                        "stream": True},
               headers={"Origin": APP, "Authorization": "Bearer secret"}, stream=True)
    assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] == APP
    assert sse_events(r)[-1] == "[DONE]"
    # Errors carry the header as well, so the page can read why it was refused.
    refused = s.post("/completion", {"prompt": "a"}, headers={"Origin": APP})
    assert refused.status_code == 401 and refused.headers["Access-Control-Allow-Origin"] == APP
    missing = s.get("/nothing-here", headers={"Origin": APP, "Authorization": "Bearer secret"})
    assert missing.status_code == 404 and missing.headers["Access-Control-Allow-Origin"] == APP


def test_listed_origins_and_credentials_off(start_server):
    s = start_server("-np", "1", "-c", "256", "-t", "2", "--cors-origins", "http://a.example, http://b.example",
                     "--no-cors-credentials", "--cors-methods", "GET, POST", "--cors-headers", "content-type")
    pre = preflight(s, "/completion", origin="http://b.example")
    assert pre.headers["Access-Control-Allow-Origin"] == "http://b.example"
    assert pre.headers["Access-Control-Allow-Credentials"] == "false"
    assert pre.headers["Access-Control-Allow-Methods"] == "GET, POST"
    assert pre.headers["Access-Control-Allow-Headers"] == "content-type"
    # An origin not in the list gets no Access-Control-Allow-Origin: the browser blocks the call.
    other = preflight(s, "/completion", origin="http://evil.example")
    assert other.status_code == 200 and "Access-Control-Allow-Origin" not in other.headers
    assert "Access-Control-Allow-Origin" not in s.get("/health", headers={"Origin": "http://evil.example"}).headers


def test_one_fixed_origin_is_sent_as_given(start_server):
    s = start_server("-np", "1", "-c", "256", "-t", "2", "--cors-origins", "https://chat.example")
    for origin in ("https://chat.example", "http://other.example"):
        assert preflight(s, "/completion", origin=origin).headers["Access-Control-Allow-Origin"] == "https://chat.example"
    assert "Vary" not in s.get("/health", headers={"Origin": "http://other.example"}).headers
