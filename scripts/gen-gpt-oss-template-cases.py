#!/usr/bin/env python3
"""Generates Tests/TemplatesTests/Fixtures/gpt-oss/cases.json: OpenAI's gpt-oss chat template
(Harmony format, Fixtures/gpt-oss/openai-gpt-oss-120b.jinja) rendered by Python jinja2 under the
Hugging Face environment (trim_blocks, lstrip_blocks, loopcontrols, `strftime_now` fixed to
2026-11-26) on conversations that exercise every branch Cria's chat path uses: system and
developer instructions, tools with nested parameter types, tool calls with their analysis,
tool results, kwargs (`reasoning_effort`, `model_identity`, `builtin_tools`), a final assistant
turn with its thinking, and the template's own errors. Messages are given as Cria's server
passes them (reasoning in `thinking`). Usage: gen-gpt-oss-template-cases.py (re-run after editing)."""
import json, os
import jinja2

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "TemplatesTests", "Fixtures", "gpt-oss")
env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
env.filters["tojson"] = lambda x, ensure_ascii=False, indent=None, separators=None, sort_keys=False: json.dumps(
    x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)
def raise_exception(msg): raise jinja2.exceptions.TemplateError(msg)
env.globals["raise_exception"] = raise_exception
env.globals["strftime_now"] = lambda f: "2026-11-26"
template = env.from_string(open(os.path.join(HERE, "openai-gpt-oss-120b.jinja")).read())

weather = {"type": "function", "function": {"name": "get_weather", "description": "Current weather in a city",
    "parameters": {"type": "object", "properties": {
        "city": {"type": "string", "description": "City name"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"},
        "days": {"type": "integer", "default": 1},
        "tags": {"type": "array", "items": {"type": "string"}},
        "points": {"type": "array", "items": {"type": "object", "properties": {"x": {"type": "number"}}}},
        "note": {"type": "string", "nullable": True},
        "either": {"oneOf": [{"type": "string", "description": "a name"}, {"type": "number"}]},
        "options": {"type": "object", "properties": {"fast": {"type": "boolean"}, "depth": {"type": "integer"}}, "required": ["fast"]},
        "kind": {"type": ["string", "number"]}},
      "required": ["city"]}}}
now = {"type": "function", "function": {"name": "now", "description": "The time", "parameters": {"type": "object", "properties": {}}}}
call = {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Oslo", "days": 2}}}

CASES = {
 "user_only": dict(messages=[{"role": "user", "content": "Hi"}]),
 "system_and_turns": dict(messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
     {"role": "assistant", "content": "Hello!", "thinking": "A greeting."}, {"role": "user", "content": "Bye"}]),
 "developer": dict(messages=[{"role": "developer", "content": "Answer in French."}, {"role": "user", "content": "Hi"}]),
 "tools": dict(messages=[{"role": "user", "content": "Weather in Oslo?"}], tools=[weather, now]),
 "tool_call_and_result": dict(messages=[{"role": "user", "content": "Weather in Oslo?"},
     {"role": "assistant", "tool_calls": [call], "thinking": "Need the weather tool."},
     {"role": "tool", "tool_call_id": "c1", "content": "{\"temp\": 3}"}], tools=[weather]),
 "tool_call_then_final": dict(messages=[{"role": "user", "content": "Weather in Oslo?"},
     {"role": "assistant", "tool_calls": [call], "thinking": "Need the weather tool."},
     {"role": "tool", "tool_call_id": "c1", "content": "3 degrees"},
     {"role": "assistant", "content": "It is 3 degrees."}, {"role": "user", "content": "Thanks"}], tools=[weather]),
 "tool_call_content_as_analysis": dict(messages=[{"role": "user", "content": "Time?"},
     {"role": "assistant", "content": "Checking the clock.", "tool_calls": [{"type": "function", "function": {"name": "now", "arguments": {}}}]},
     {"role": "tool", "content": "12:00"}], tools=[now]),
 "final_turn_with_thinking": dict(messages=[{"role": "user", "content": "Hi"},
     {"role": "assistant", "content": "Hello!", "thinking": "Greet back."}], add_generation_prompt=False),
 "kwargs": dict(messages=[{"role": "user", "content": "Hi"}], reasoning_effort="high",
     model_identity="You are a test model.", builtin_tools=["browser", "python"]),
 "error_channel_in_content": dict(messages=[{"role": "user", "content": "Hi"},
     {"role": "assistant", "content": "<|channel|>final<|message|>x"}, {"role": "user", "content": "?"}]),
 "error_tool_without_call": dict(messages=[{"role": "user", "content": "Hi"}, {"role": "tool", "content": "x"}]),
 "error_content_and_thinking_with_call": dict(messages=[{"role": "user", "content": "Hi"},
     {"role": "assistant", "content": "a", "thinking": "b", "tool_calls": [call]}], tools=[weather]),
}

out = {}
for name, case in CASES.items():
    kwargs = {k: v for k, v in case.items() if k not in ("messages", "tools", "add_generation_prompt")}
    add = case.get("add_generation_prompt", True)
    entry = {"messages": case["messages"], "tools": case.get("tools"), "add_generation_prompt": add, "kwargs": kwargs}
    try:
        entry["output"] = template.render(messages=case["messages"], tools=case.get("tools"), add_generation_prompt=add,
                                          bos_token="", eos_token="", **kwargs)
    except jinja2.exceptions.TemplateError as e:
        entry["error"] = str(e)
    out[name] = entry
with open(os.path.join(HERE, "cases.json"), "w") as f:
    json.dump(out, f, ensure_ascii=False, indent=1)
    f.write("\n")
print(len(out), "cases,", sum("error" in v for v in out.values()), "errors")
