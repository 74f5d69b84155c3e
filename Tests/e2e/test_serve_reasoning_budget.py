"""`--reasoning-budget N`, `--reasoning-budget-message` and a request's `reasoning_budget_tokens`.

The test model does not think by itself, so the chat template opens `<think>` in the generation
prompt; `ignore_eos` keeps it writing. A reply without a budget (`reasoning_format: none`, so
its raw text comes back) is the reference for what the model thinks in its first N tokens.
"""
import openai
import pytest

from conftest import assert_openai_error, sse_events
from test_serve_tool_calls import THINKING_TEMPLATE

MESSAGES = [{"role": "user", "content": "Tell me about the sea."}]
BASE = {"messages": MESSAGES, "temperature": 0, "ignore_eos": True}
MESSAGE = " Time is up."


@pytest.fixture(scope="module")
def template_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("tpl") / "thinking.jinja"
    path.write_text(THINKING_TEMPLATE)
    return str(path)


@pytest.fixture(scope="module")
def plain(start_server, template_file):
    """No budget on the command line: only requests set one."""
    return start_server("-np", "1", "-c", "1024", "-t", "2", "--jinja", "--chat-template-file", template_file)


@pytest.fixture(scope="module")
def budgeted(start_server, template_file):
    return start_server("-np", "1", "-c", "1024", "-t", "2", "--jinja", "--chat-template-file", template_file,
                        "--reasoning-budget", "6", "--reasoning-budget-message", MESSAGE)


def chat(server, **kw):
    r = server.post("/v1/chat/completions", dict(BASE, **kw))
    assert r.status_code == 200, r.text
    return r.json()


def raw_thoughts(server, n):
    """The text of the model's first n thinking tokens, with no budget in force."""
    body = chat(server, max_tokens=n, reasoning_format="none")
    assert body["usage"]["completion_tokens"] == n
    return body["choices"][0]["message"]["content"]


def check_cut(server, thoughts, message, max_tokens, **kw):
    """A reply whose budget ran out: the raw text is the model's first thoughts, the message, the
    closing marker, then the rest of the reply; split, the thoughts and message are
    `reasoning_content` and only the rest is `content`."""
    raw = chat(server, max_tokens=max_tokens, reasoning_format="none", **kw)
    text = raw["choices"][0]["message"]["content"]
    head = thoughts + message + "</think>"
    assert text.startswith(head), (text, head)
    rest = text[len(head):].lstrip()
    assert rest.strip(), "the reply goes on after the forced end of thinking"
    # Forced tokens are generated tokens: the reply ran to max_tokens, all of them counted.
    assert raw["usage"]["completion_tokens"] == max_tokens
    assert raw["choices"][0]["finish_reason"] == "length"

    body = chat(server, max_tokens=max_tokens, **kw)
    m = body["choices"][0]["message"]
    assert m["reasoning_content"] == (thoughts + message).strip()
    assert m["content"] == rest, "the closing marker is not part of the content"
    assert body["usage"]["completion_tokens"] == max_tokens
    return body


@pytest.mark.parametrize("budget", [2, 3, 5])
def test_request_budget_cuts_thoughts_after_n_tokens(plain, budget):
    thoughts = raw_thoughts(plain, budget)
    check_cut(plain, thoughts, "", 24, reasoning_budget_tokens=budget)


def test_request_message_and_thinking_budget_tokens_alias(plain):
    thoughts = raw_thoughts(plain, 3)
    check_cut(plain, thoughts, " Enough!", 24, thinking_budget_tokens=3, reasoning_budget_message=" Enough!")


def test_server_budget_and_message(budgeted):
    thoughts = raw_thoughts(budgeted, 6)  # max_tokens 6 ends the reply before the budget acts
    check_cut(budgeted, thoughts, MESSAGE, 30)


def test_request_budget_overrides_the_server(budgeted):
    thoughts = raw_thoughts(budgeted, 2)
    check_cut(budgeted, thoughts, "", 20, reasoning_budget_tokens=2, reasoning_budget_message="")
    # -1 in a request means "the server's budget", as in llama-server.
    default = chat(budgeted, max_tokens=30)["choices"]
    assert chat(budgeted, max_tokens=30, reasoning_budget_tokens=-1)["choices"] == default


def test_streamed_reply_matches(budgeted):
    full = chat(budgeted, max_tokens=30)["choices"][0]["message"]
    r = budgeted.post("/v1/chat/completions", dict(BASE, max_tokens=30, stream=True), stream=True)
    events = [e for e in sse_events(r) if e != "[DONE]"]
    deltas = [e["choices"][0]["delta"] for e in events if e["choices"]]
    assert "".join(d.get("reasoning_content") or "" for d in deltas) == full["reasoning_content"]
    assert "".join(d.get("content") or "" for d in deltas) == full["content"]


def test_logprobs_cover_forced_tokens(plain):
    body = chat(plain, max_tokens=16, reasoning_budget_tokens=2, logprobs=True, top_logprobs=2)
    entries = body["choices"][0]["logprobs"]["content"]
    assert len(entries) == body["usage"]["completion_tokens"] == 16
    assert "</think>" in "".join(e["token"] for e in entries)


def test_openai_client_extra_body(plain):
    thoughts = raw_thoughts(plain, 2)
    c = openai.OpenAI(base_url=plain.url("/v1"), api_key="x").chat.completions.create(
        model="m", messages=MESSAGES, max_tokens=20, temperature=0,
        extra_body={"ignore_eos": True, "reasoning_budget_tokens": 2})
    assert c.choices[0].message.model_extra["reasoning_content"] == thoughts.strip()
    assert c.choices[0].message.content


def test_zero_budget_in_a_request_closes_at_once(plain):
    body = chat(plain, max_tokens=10, reasoning_budget_tokens=0, reasoning_budget_message="No time.")
    m = body["choices"][0]["message"]
    assert m["reasoning_content"] == "No time."
    raw = chat(plain, max_tokens=10, reasoning_budget_tokens=0, reasoning_budget_message="No time.", reasoning_format="none")
    assert raw["choices"][0]["message"]["content"].startswith("No time.</think>")
    assert m["content"] == raw["choices"][0]["message"]["content"][len("No time.</think>"):].strip()


def test_no_budget_leaves_thoughts_alone(plain):
    m = chat(plain, max_tokens=12)["choices"][0]["message"]
    assert m.get("content") in (None, "")
    assert m["reasoning_content"] == raw_thoughts(plain, 12).strip()
    assert chat(plain, max_tokens=12, reasoning_budget_tokens=-1)["choices"][0]["message"] == m


@pytest.mark.parametrize("field,value", [("reasoning_budget_tokens", -2), ("thinking_budget_tokens", -7),
                                         ("reasoning_budget_tokens", 2 ** 31), ("reasoning_budget_tokens", "5"),
                                         ("reasoning_budget_tokens", 1.5), ("reasoning_budget_message", 3)])
def test_bad_request_values(plain, field, value):
    r = plain.post("/v1/chat/completions", dict(BASE, max_tokens=4, **{field: value}))
    assert_openai_error(r, 400, contains=field)


def test_command_line_values(cria, model_path):
    for bad in ["-2", "2147483648"]:
        r = cria("serve", "-m", model_path, "--reasoning-budget", bad, check=False, timeout=60)
        assert r.returncode != 0 and "reasoning-budget" in (r.stderr + r.stdout)


def test_zero_budget_on_the_command_line_is_reasoning_off(start_server, template_file):
    s = start_server("-np", "1", "-c", "512", "-t", "2", "--jinja", "--chat-template-file", template_file,
                     "--reasoning-budget", "0")
    prompt = s.post("/apply-template", {"messages": MESSAGES}).json()["prompt"]
    assert prompt.endswith("<think>\n\n</think>\n\n")
