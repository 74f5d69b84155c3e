"""Start-up checks: a mistyped --chat-template name, a broken template, a missing model file or
a busy port stop `cria serve` at once with a message naming the problem."""
import socket
import subprocess

from conftest import cria_binary, free_port


def refused(*args, timeout=120):
    r = subprocess.run([str(cria_binary()), "serve", "--port", str(free_port()), *map(str, args)],
                       capture_output=True, text=True, timeout=timeout)
    assert r.returncode != 0, r.stdout
    return r.stdout + r.stderr


def test_unknown_chat_template_name_lists_the_built_in_names(model_path):
    message = refused("-m", model_path, "--chat-template", "llama-3")
    assert "unknown chat template 'llama-3'" in message
    for name in ("chatml", "llama3", "gemma", "mistral-v7"):
        assert name in message


def test_broken_jinja_source_is_refused(model_path):
    assert "could not be parsed" in refused("-m", model_path, "--chat-template", "{% if %}")


def test_names_and_jinja_source_are_both_accepted(start_server):
    named = start_server("-np", "1", "-c", "256", "-t", "2", "--chat-template", "llama3")
    prompt = named.post("/apply-template", {"messages": [{"role": "user", "content": "Hi"}]}).json()["prompt"]
    assert "<|start_header_id|>user<|end_header_id|>" in prompt
    source = start_server("-np", "1", "-c", "256", "-t", "2", "--chat-template",
                          "{% for m in messages %}[{{ m.content }}]{% endfor %}")
    assert source.post("/apply-template", {"messages": [{"role": "user", "content": "Hi"}]}).json()["prompt"] == "[Hi]"
    # As llama-server (its own suite does this): text that is not a bare word is a template, markup or not.
    sentence = start_server("-np", "1", "-c", "256", "-t", "2", "--chat-template", "This is not a chat template, it is")
    rendered = sentence.post("/apply-template", {"messages": [{"role": "user", "content": "Hi"}]}).json()["prompt"]
    assert rendered == "This is not a chat template, it is"


def test_template_command_refuses_unknown_names_too(cria, tmp_path):
    messages = tmp_path / "m.json"
    messages.write_text('[{"role": "user", "content": "Hi"}]')
    r = cria("template", "--chat-template", "chatml2", "--messages", messages, check=False)
    assert r.returncode != 0 and "unknown chat template 'chatml2'" in r.stderr


def test_missing_model_file_and_busy_port(model_path, tmp_path):
    assert str(tmp_path / "nope.gguf") in refused("-m", tmp_path / "nope.gguf")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = subprocess.run([str(cria_binary()), "serve", "-m", str(model_path), "--port", str(port)],
                           capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert str(port) in r.stdout + r.stderr


def test_a_context_beyond_memory_is_refused_at_startup(model_path):
    # Cria allocates a slot's KV cells on its first request; without the start-up check a -c no
    # machine holds was accepted and the first request crashed the server.
    out = refused("-m", model_path, "-c", 1 << 40)
    assert "KV cache too large: 1099511627776 tokens need" in out and "lower -c" in out, out
    out = refused("-m", model_path, "-c", (1 << 63) - 1)
    assert "more bytes than a 64-bit count holds" in out, out
    # Every slot counts: 4 slots of a quarter each need what one slot of all of it needs.
    out = refused("-m", model_path, "-c", 1 << 40, "-np", 4)
    assert "4 sequences of 274877906944 tokens need" in out, out
