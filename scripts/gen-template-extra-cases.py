#!/usr/bin/env python3
"""Generates Tests/TemplatesTests/Fixtures/extra-cases.json: every corpus template rendered
by Python jinja2 (same environment as the corpus README) on conversations the corpus lacks
(content parts, reasoning, parallel tool calls), with and without tools.
Usage: gen-template-extra-cases.py <chat-templates dir> <output json>"""
import json, glob, os, sys
import jinja2
from jinja2.ext import Extension
class Generation(Extension):
    tags = {"generation"}
    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return jinja2.nodes.Scope(body, lineno=lineno)
env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols", Generation])
env.filters["tojson"] = lambda x, ensure_ascii=False, indent=None, separators=None, sort_keys=False: json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)
def raise_exception(msg): raise jinja2.exceptions.TemplateError(msg)
env.globals["raise_exception"] = raise_exception
env.globals["strftime_now"] = lambda f: "26 Nov 2026"
convs = {
 "parts": [{"role":"system","content":[{"type":"text","text":"Sys parts"}]},{"role":"user","content":[{"type":"text","text":"look"},{"type":"image"},{"type":"text","text":"at this"}]}],
 "reasoning": [{"role":"user","content":"q1"},{"role":"assistant","content":"<think>\nhmm\n</think>\n\nans1","reasoning_content":"hmm"},{"role":"user","content":"q2"}],
 "two_tools": [{"role":"user","content":"x"},{"role":"assistant","content":None,"tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":{"x":1}}},{"id":"b","type":"function","function":{"name":"g","arguments":"{\"y\": 2}"}}]},{"role":"tool","tool_call_id":"a","content":"1"},{"role":"tool","tool_call_id":"b","content":"2"},{"role":"assistant","content":"done"}],
}
out = {}
for f in sorted(glob.glob(os.path.join(sys.argv[1], '*.jinja'))):
    src = open(f).read()
    for name, msgs in convs.items():
        for tools in (None, [{"type":"function","function":{"name":"f","description":"d","parameters":{"type":"object","properties":{"x":{"type":"integer"}}}}}]):
            key = os.path.basename(f) + "|" + name + ("|tools" if tools else "")
            try:
                r = env.from_string(src).render(messages=msgs, add_generation_prompt=True, bos_token="<s>", eos_token="</s>", tools=tools, documents=None, enable_thinking=False)
                out[key] = {"output": r, "messages": msgs, "tools": tools}
            except Exception as e:
                out[key] = {"error": str(e), "error_type": type(e).__name__, "messages": msgs, "tools": tools}
json.dump(out, open(sys.argv[2], 'w'), ensure_ascii=False)
print(len(out), sum('error' in v for v in out.values()))
