"""gpt-oss's chat template (Harmony) on /v1/chat/completions and /apply-template.

The server runs the Gemma 3 test model with OpenAI's gpt-oss template
(Tests/TemplatesTests/Fixtures/gpt-oss). The rendered prompt is compared with Python jinja2's
render of the same conversation (recorded in cases.json by scripts/gen-gpt-oss-template-cases.py),
with the date line of today. Reading Harmony replies is checked on recorded strings in
Tests/ServerTests/HarmonyParserTests.swift (the test model does not write Harmony on its own);
here a grammar makes it write one, so the parser runs on generated text, whole and streamed.
"""
import json
import pathlib
import time

import openai
import pytest

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "TemplatesTests" / "Fixtures" / "gpt-oss"
TEMPLATE = FIXTURES / "openai-gpt-oss-120b.jinja"
CASES = json.loads((FIXTURES / "cases.json").read_text())
WEATHER = CASES["tools"]["tools"][0]


@pytest.fixture(scope="module")
def oss_server(start_server):
    return start_server("-np", "1", "-c", "4096", "-t", "2", "--jinja", "--chat-template-file", str(TEMPLATE))


def expected(name):
    """jinja2's render, with today's date where the recording has its fixed one."""
    return CASES[name]["output"].replace("Current date: 2026-11-26", "Current date: " + time.strftime("%Y-%m-%d"))


def test_prompt_matches_jinja2(oss_server):
    r = oss_server.post("/apply-template", {"messages": CASES["system_and_turns"]["messages"]})
    assert r.status_code == 200, r.text
    assert r.json()["prompt"] == expected("system_and_turns")


def test_reasoning_content_of_a_tool_call_is_the_templates_thinking(oss_server):
    # As an OpenAI client sends it: content null, arguments as a JSON string, thoughts as
    # reasoning_content; the template gets them as `thinking` and argument objects.
    call = {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": json.dumps({"city": "Oslo", "days": 2})}}
    messages = [{"role": "user", "content": "Weather in Oslo?"},
                {"role": "assistant", "content": None, "tool_calls": [call], "reasoning_content": "Need the weather tool."},
                {"role": "tool", "tool_call_id": "c1", "content": "{\"temp\": 3}"}]
    r = oss_server.post("/apply-template", {"messages": messages, "tools": [WEATHER]})
    assert r.status_code == 200, r.text
    assert r.json()["prompt"] == expected("tool_call_and_result")


def test_template_kwargs_reach_the_template(oss_server):
    r = oss_server.post("/apply-template", {"messages": CASES["kwargs"]["messages"],
                                            "chat_template_kwargs": CASES["kwargs"]["kwargs"]})
    assert r.status_code == 200, r.text
    assert r.json()["prompt"] == expected("kwargs")


def test_assistant_prefill_continues_inside_the_harmony_message(oss_server):
    # As llama-server (tests/test-chat.cpp's continuation cases): the prompt ends inside the
    # analysis message when only thoughts are given, else inside the final one.
    base = oss_server.post("/apply-template", {"messages": [{"role": "user", "content": "Hi"}]}).json()["prompt"]
    assert base.endswith("<|start|>assistant")
    both = {"role": "assistant", "content": "Hello, ", "reasoning_content": "I'm thinking"}
    r = oss_server.post("/apply-template", {"messages": [{"role": "user", "content": "Hi"}, both]})
    assert r.json()["prompt"] == base + ("<|channel|>analysis<|message|>I'm thinking<|end|>"
                                         "<|start|>assistant<|channel|>final<|message|>Hello, ")
    thoughts = {"role": "assistant", "content": "", "reasoning_content": "I'm"}
    r = oss_server.post("/apply-template", {"messages": [{"role": "user", "content": "Hi"}, thoughts]})
    assert r.json()["prompt"] == base + "<|channel|>analysis<|message|>I'm"
    # The reply is read from inside the open message: here a grammar closes the thoughts and answers.
    body = {"messages": [{"role": "user", "content": "Hi"}, thoughts], "max_tokens": 40, "temperature": 0,
            "grammar": r'root ::= [a-z]{2,8} "<|end|><|start|>assistant<|channel|>final<|message|>" [a-z]{2,8}'}
    m = oss_server.post("/v1/chat/completions", body).json()["choices"][0]["message"]
    assert m["reasoning_content"].isalpha() and m["content"].isalpha()


def test_reasoning_budget_ends_the_analysis_message(oss_server):
    # The grammar lets the model think in letters for as long as it likes, then answer; a budget
    # of 1 token forces <|end|> after the first thinking token (as llama-server's thinking tags for
    # this format: <|channel|>analysis<|message|> … <|end|>), and the answer follows. Where the
    # model's own thinking is one token the budget changes nothing, so several prompts (the
    # greedy text depends on the numerics and on the date line the template writes): on each the
    # cut thinking is a prefix of the free one, and on at least one it is shorter.
    grammar = (r'root ::= "<|channel|>analysis<|message|>" [a-z]+ "<|end|><|start|>assistant<|channel|>final<|message|>"'
               r' [a-z]{1,6}')
    shortened = []
    for prompt in ["Hi", "Hello", "Tell me a story", "Write a poem about the sea"]:
        body = {"messages": [{"role": "user", "content": prompt}], "max_tokens": 40, "temperature": 0, "grammar": grammar}
        free = oss_server.post("/v1/chat/completions", body).json()["choices"][0]["message"]
        cut = oss_server.post("/v1/chat/completions", {**body, "reasoning_budget_tokens": 1}).json()
        m = cut["choices"][0]["message"]
        assert m["reasoning_content"] and free["reasoning_content"].startswith(m["reasoning_content"]), (prompt, free, m)
        assert m["content"].isalpha(), (prompt, m)
        if len(m["reasoning_content"]) < len(free["reasoning_content"]):
            shortened.append((body, m))
    assert shortened, "no prompt's thinking was longer than one token"
    body, m = shortened[0]
    raw = oss_server.post("/v1/chat/completions", {**body, "reasoning_budget_tokens": 1, "reasoning_format": "none"}).json()
    assert raw["choices"][0]["message"]["content"].startswith(
        "<|channel|>analysis<|message|>" + m["reasoning_content"] + "<|end|>")


def test_template_errors_are_400(oss_server):
    r = oss_server.post("/apply-template", {"messages": CASES["error_channel_in_content"]["messages"]})
    assert r.status_code == 400
    assert "<|channel|> tags in the content field" in r.json()["error"]["message"]


def test_reply_outside_the_format_is_content(oss_server):
    # The test model does not write Harmony: its text comes back as content, nothing as thoughts.
    client = openai.OpenAI(base_url=oss_server.url("/v1"), api_key="x")
    c = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "Hi"}], max_tokens=8, temperature=0)
    m = c.choices[0].message
    assert m.content and not getattr(m, "reasoning_content", None)


# A grammar makes the test model write a Harmony reply: thoughts, then a final answer.
HARMONY_GRAMMAR = (r'root ::= "<|channel|>analysis<|message|>" [a-z]{3,12} "<|end|><|start|>assistant<|channel|>final<|message|>" [a-z]{3,12}')


def test_harmony_reply_is_split_into_reasoning_and_content(oss_server):
    client = openai.OpenAI(base_url=oss_server.url("/v1"), api_key="x")
    kw = dict(model="m", messages=[{"role": "user", "content": "Hi"}], max_tokens=60, temperature=0,
              extra_body={"grammar": HARMONY_GRAMMAR})
    m = client.chat.completions.create(**kw).choices[0].message
    raw = oss_server.post("/v1/chat/completions", {**{k: v for k, v in kw.items() if k != "extra_body"},
                                                    "grammar": HARMONY_GRAMMAR, "reasoning_format": "none"}).json()
    text = raw["choices"][0]["message"]["content"]
    # reasoning_format none: the analysis block stays in content, markers included (llama-server).
    assert text.startswith("<|channel|>analysis<|message|>") and "<|end|>" in text
    thoughts, answer = text[len("<|channel|>analysis<|message|>"):].split("<|end|>")
    assert m.reasoning_content == thoughts and m.content == answer
    assert thoughts.isalpha() and answer.isalpha()
    # Streamed, the same split arrives as deltas, and no marker leaks into either.
    reasoning, content = "", ""
    for chunk in client.chat.completions.create(stream=True, **kw):
        if chunk.choices:
            d = chunk.choices[0].delta
            reasoning += getattr(d, "reasoning_content", None) or ""
            content += d.content or ""
    assert (reasoning, content) == (thoughts, answer)
