"""Google Cloud Vertex AI's custom-container protocol (AIP_MODE=PREDICTION), as today's
llama-server serves it: POST /predict runs each instance through the route its @requestFormat
names; AIP_HEALTH_ROUTE and AIP_HTTP_PORT are honoured."""
import subprocess

import pytest
import requests

from conftest import MODEL, assert_openai_error, cria_binary, free_port, wait_for

VERTEX = {"AIP_MODE": "PREDICTION", "AIP_HEALTH_ROUTE": "healthz"}
CHAT = {"@requestFormat": "chatCompletions", "max_tokens": 4, "temperature": 0,
        "messages": [{"role": "user", "content": "Say hello"}]}


@pytest.fixture(scope="module")
def vertex(start_server):
    return start_server("-np", "2", "-c", "2048", "--chat-template", "gemma", "--api-key", "k", env=VERTEX)


def predict(server, body, key="k"):
    return requests.post(server.url("/predict"), json=body, headers={"Authorization": f"Bearer {key}"}, timeout=300)


def test_instances_run_through_their_routes(vertex):
    direct = requests.post(vertex.url("/v1/chat/completions"), headers={"Authorization": "Bearer k"}, timeout=300,
                           json={k: v for k, v in CHAT.items() if k != "@requestFormat"}).json()
    r = predict(vertex, {"instances": [
        CHAT, {**CHAT, "stream": True}, {"@requestFormat": "/tokenize", "content": "Hello"},
        {"@requestFormat": "applyTemplate", "messages": [{"role": "user", "content": "Hi"}]},
        {"@requestFormat": "nope"}, 5, {"@requestFormat": "completion", "prompt": "x", "n_predict": -5e9},
        {"@requestFormat": "health"}]})
    assert r.status_code == 200, r.text
    p = r.json()["predictions"]
    assert len(p) == 8
    for chat in p[:2]:  # a stream is answered whole: the predict route has one answer per instance
        assert chat["object"] == "chat.completion"
        assert chat["choices"][0]["message"]["content"] == direct["choices"][0]["message"]["content"]
    assert p[2]["tokens"] and "<start_of_turn>user\nHi" in p[3]["prompt"]
    assert p[4]["error"]["code"] == 400 and "nope" in p[4]["error"]["message"]
    assert p[5]["error"]["code"] == 400
    assert p[6]["error"]["code"] == 400 and "n_predict" in p[6]["error"]["message"]
    assert p[7]["status"] == "ok"


def test_the_body_and_the_key_are_checked(vertex):
    assert predict(vertex, {"instances": [CHAT]}, key="wrong").status_code == 401
    assert_openai_error(predict(vertex, {}), 400, contains="instances")
    assert_openai_error(predict(vertex, {"instances": [{"@requestFormat": "health"}] * 129}), 400, contains="128")
    assert vertex.get("/healthz").json()["status"] == "ok"


def test_the_port_comes_from_aip_http_port(start_server):
    port = free_port()
    s = start_server("-np", "1", "-c", "512", env={"AIP_MODE": "PREDICTION", "AIP_HTTP_PORT": str(port)},
                     wait_ready=False)
    def ready():
        try:
            return requests.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False
    assert wait_for(ready, timeout=120), s.output()[-2000:]
    assert "AIP_HTTP_PORT" in s.output()


def test_a_predict_route_that_is_taken_is_refused():
    p = subprocess.run([str(cria_binary()), "serve", "-m", str(MODEL)], capture_output=True, text=True, timeout=60,
                       env={"AIP_MODE": "PREDICTION", "AIP_PREDICT_ROUTE": "v1/completions", "PATH": "/usr/bin:/bin"})
    assert p.returncode != 0 and "AIP_PREDICT_ROUTE" in p.stderr, p.stderr
