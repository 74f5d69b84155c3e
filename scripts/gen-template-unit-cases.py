#!/usr/bin/env python3
"""Generates Tests/TemplatesTests/GeneratedCases.swift: small templates, one per
construct/filter/test/method, with the output Python jinja2 produces under the Hugging
Face environment (trim_blocks, lstrip_blocks, loopcontrols). Re-run after editing CASES."""
import json, re, sys
import jinja2
from jinja2.ext import Extension

class Generation(Extension):
    """`{% generation %}...{% endgeneration %}` renders its body unchanged (as transformers does)."""
    tags = {"generation"}
    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return jinja2.nodes.Scope(body, lineno=lineno)

env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols", Generation])
env.filters["tojson"] = lambda x, ensure_ascii=False, indent=None, separators=None, sort_keys=False: json.dumps(
    x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)
def raise_exception(msg): raise jinja2.exceptions.TemplateError(msg)
env.globals["raise_exception"] = raise_exception

V = {"msgs": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}],
     "d": {"b": 2, "a": 1, "C": 3}, "s": "  Hello World  ", "n": None, "xs": [3, 1, 2], "t": True}

CASES = [
 # name, template, vars-json-or-None (None -> V)
 ("text", "plain text", None),
 ("output_int", "{{ 1 + 2 }}", None),
 ("output_float", "{{ 1.0 }} {{ 7 / 2 }} {{ 0.1 + 0.2 }} {{ 1e20 }} {{ 2.5e-7 }}", None),
 ("output_none_bool", "{{ none }} {{ true }} {{ False }} {{ n }}", None),
 ("output_list_repr", "{{ [1, 'a', none, true, 1.5] }} {{ ('x',) }} {{ {'k': 'v', 'q': [1]} }}", None),
 ("repr_quotes", "{{ [\"it's\", 'say \"hi\"', 'both \\' \"'] }}", None),
 ("string_escapes", "{{ 'a\\nb\\tc\\\\d\\'e' }}|{{ \"\\u00e9\\x41\" }}", None),
 ("arith", "{{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 3 * 'ab' }} {{ [1] * 2 }} {{ 10 - 2.5 }}", None),
 ("concat_tilde", "{{ 'a' ~ 1 ~ none ~ undefined_var ~ [1] }}", None),
 ("compare_chain", "{{ 1 < 2 < 3 }} {{ 1 < 3 < 2 }} {{ 1 == 1.0 }} {{ 'a' != 'b' }} {{ [1,2] == [1,2] }} {{ true == 1 }}", None),
 ("in_not_in", "{{ 'ell' in 'hello' }} {{ 2 in [1,2] }} {{ 'a' in d }} {{ 'z' not in d }}", None),
 ("logic", "{{ 0 or 'x' }} {{ 1 and 'y' }} {{ not 0 }} {{ none or [] }} {{ '' and 1 }}", None),
 ("if_elif_else", "{% for i in range(4) %}{% if i == 0 %}zero{% elif i == 1 %}one{% elif i is even %}even{% else %}odd{% endif %},{% endfor %}", None),
 ("inline_if", "{{ 'a' if t else 'b' }}{{ 'c' if not t else 'd' }}[{{ 'e' if not t }}]", None),
 ("for_loop_vars", "{% for x in xs %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }};{% endfor %}", None),
 ("for_prev_next", "{% for x in xs %}{{ loop.previtem }}-{{ loop.nextitem }}|{% endfor %}", None),
 ("for_cycle", "{% for x in xs %}{{ loop.cycle('a', 'b') }}{% endfor %}", None),
 ("for_else", "{% for x in [] %}x{% else %}empty{% endfor %}", None),
 ("for_if_filter", "{% for x in xs if x > 1 %}{{ x }}{{ loop.length }}{% endfor %}", None),
 ("for_unpack_items", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}", None),
 ("for_dict_keys", "{% for k in d %}{{ k }}{% endfor %}", None),
 ("for_string", "{% for c in 'abc' %}{{ c }}.{% endfor %}", None),
 ("break_continue", "{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x > 4 %}{% break %}{% endif %}{{ x }}{% endfor %}", None),
 ("for_scope_no_leak", "{% set x = 1 %}{% for i in range(3) %}{% set x = x + 1 %}{{ x }}{% endfor %}{{ x }}", None),
 ("if_scope_leaks", "{% if true %}{% set y = 5 %}{% endif %}{{ y }}", None),
 ("namespace", "{% set ns = namespace(c=0, s='') %}{% for i in range(3) %}{% set ns.c = ns.c + i %}{% endfor %}{{ ns.c }}", None),
 ("set_tuple", "{% set a, b = 1, 2 %}{{ a }}{{ b }}", None),
 ("set_block", "{% set blk %}Hello {{ 1 + 1 }}{% endset %}[{{ blk }}]", None),
 ("set_block_filter", "{% set blk | upper %}abc{% endset %}{{ blk }}", None),
 ("macro_defaults", "{% macro m(a, b='B', c=none) %}{{ a }}{{ b }}{{ c }}{% endmacro %}{{ m(1) }}|{{ m(1, 2) }}|{{ m(1, c=3) }}", None),
 ("macro_varargs_kwargs", "{% macro m(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, 3, k=4) }}", None),
 ("macro_recursive", "{% macro f(n) %}{% if n > 0 %}{{ n }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(3) }}", None),
 ("call_block", "{% macro wrap(x) %}<{{ caller() }}{{ x }}>{% endmacro %}{% call wrap('!') %}body{% endcall %}", None),
 ("call_block_args", "{% macro each(xs) %}{% for x in xs %}{{ caller(x) }}{% endfor %}{% endmacro %}{% call(v) each([1,2]) %}[{{ v }}]{% endcall %}", None),
 ("filter_block", "{% filter upper %}shout {{ 'it' }}{% endfilter %}", None),
 ("generation_block", "a{% generation %}gen {{ 1 }}{% endgeneration %}b", None),
 ("raw_block", "{% raw %}{{ not parsed }}{% endraw %}", None),
 ("comment", "a{# comment #}b", None),
 ("ws_minus", "a  {{- 'b' -}}  c {%- if true -%}  d  {%- endif -%} e", None),
 ("ws_trim_blocks", "{% if true %}\nline\n{% endif %}\nafter", None),
 ("ws_lstrip_blocks", "x\n    {% if true %}\n    y\n    {% endif %}\nz", None),
 ("ws_plus", "x\n    {%+ if true %}y{% endif +%}\nz", None),
 ("ws_var_not_lstripped", "x\n    {{ 'v' }}\n", None),
 ("ws_comment_trim", "a\n  {# c #}\nb", None),
 ("trailing_newline", "text\n", None),
 ("slices", "{{ xs[1:] }}{{ xs[:-1] }}{{ xs[::-1] }}{{ xs[::2] }}{{ 'hello'[1:3] }}{{ 'hello'[-3:] }}{{ xs[5:] }}", None),
 ("index_attr", "{{ msgs[0].role }}{{ msgs[-1]['content'] }}{{ d['a'] }}{{ d.b }}", None),
 ("missing_attr_is_undefined", "[{{ d.zzz }}][{{ msgs[5] }}]{{ d.zzz is defined }}", None),
 ("none_attr_undefined", "[{{ n.x }}]{{ n.x is defined }}", None),
 ("dict_method_shadows_key", "{{ x.items is callable }} {{ x['items'] }}", '{"x": {"items": 7}}'),
 ("int_dict_keys", "{% set m = {0: 'a', 512: 'b'} %}{% for k, v in m | dictsort %}{{ k + 1 }}{{ v }}{% endfor %}{{ m[512] }}", None),
 # filters
 ("f_trim", "[{{ s | trim }}][{{ 'xxhixx' | trim('x') }}]", None),
 ("f_case", "{{ 'hello world' | upper }} {{ 'HeLLo' | lower }} {{ 'hello wORLD' | title }} {{ 'hELLO' | capitalize }}", None),
 ("f_length", "{{ xs | length }} {{ 'abc' | count }} {{ d | length }} {{ 'héllo' | length }}", None),
 ("f_tojson", "{{ d | tojson }} {{ 'é\"<' | tojson }} {{ [1, 2.5, none, true] | tojson }}", None),
 ("f_tojson_indent", "{{ d | tojson(indent=2) }}", None),
 ("f_tojson_sort", "{{ d | tojson(sort_keys=true) }}", None),
 ("f_join", "{{ xs | join(', ') }} {{ msgs | join('|', attribute='role') }} {{ 'abc' | join('-') }}", None),
 ("f_default", "{{ undefined_x | default('dflt') }} {{ '' | default('e') }} {{ '' | default('e', true) }} {{ n | d('nn') }} {{ 0 | default(5, boolean=true) }}", None),
 ("f_first_last", "{{ xs | first }}{{ xs | last }}{{ 'abc' | first }}", None),
 ("f_replace", "{{ 'aaa' | replace('a', 'b') }} {{ 'aaa' | replace('a', 'b', 2) }}", None),
 ("f_items", "{% for k, v in d | items %}{{ k }}{{ v }}{% endfor %}", None),
 ("f_selectattr", "{{ msgs | selectattr('role', 'equalto', 'user') | map(attribute='content') | list }} {{ msgs | rejectattr('role', 'eq', 'user') | list | length }}", None),
 ("f_select_reject", "{{ [1, 2, 3, 4] | select('odd') | list }} {{ [1, 2, 3, 4] | reject('odd') | list }} {{ [0, 1, '', 'a'] | select | list }}", None),
 ("f_map_filter", "{{ ['a', 'b'] | map('upper') | join }} {{ [1.6, 2.2] | map('round') | list }}", None),
 ("f_list_string", "{{ 'ab' | list }} {{ 5 | string }} {{ [1] | string }}", None),
 ("f_int_float", "{{ '42' | int }} {{ '4.7' | int }} {{ 'x' | int }} {{ 'x' | int(7) }} {{ '2.5' | float }} {{ 3 | float }}", None),
 ("f_abs_round", "{{ -3 | abs }} {{ 2.567 | round(2) }} {{ 2.5 | round }} {{ 2.1 | round(method='ceil') }}", None),
 ("f_unique_sort", "{{ [3, 1, 3, 2] | unique | list }} {{ xs | sort }} {{ xs | sort(reverse=true) }} {{ msgs | sort(attribute='role', reverse=true) | map(attribute='role') | join }}", None),
 ("f_dictsort", "{{ d | dictsort }} {{ d | dictsort(true) }} {{ d | dictsort(by='value', reverse=true) }}", None),
 ("f_reverse", "{{ xs | reverse | list }} {{ 'abc' | reverse }}", None),
 ("f_batch_slice", "{{ [1,2,3,4,5] | batch(2) | list }} {{ [1,2,3,4,5] | batch(2, 0) | list }} {{ [1,2,3,4,5] | slice(2) | list }}", None),
 ("f_sum_min_max", "{{ xs | sum }} {{ xs | min }} {{ xs | max }} {{ [{'v': 2}, {'v': 5}] | sum(attribute='v') }}", None),
 ("f_indent", "{{ 'a\\nb\\n\\nc' | indent(2) }}|{{ 'a\\nb' | indent(4, first=true) }}|{{ 'a\\n\\nb' | indent(2, blank=true) }}", None),
 ("f_wordcount_center", "{{ 'one two  three' | wordcount }}[{{ 'ab' | center(7) }}]", None),
 ("f_truncate", "{{ 'hello world foo bar baz qux' | truncate(12) }}|{{ 'hello world foo bar' | truncate(9, true) }}", None),
 ("f_escape_safe", "{{ '<a href=\"x\">&\\'' | e }} {{ '<b>' | safe }}", None),
 ("f_safe_plus_escapes", "{{ '<'|safe + '<' }}|{{ '<' + 'a'|safe }}|{{ ('x'|safe) ~ '<' }}", None),
 ("f_format", "{{ '%s-%d' | format('a', 3) }} {{ '%05.1f' % 3.14159 }}", None),
 # tests
 ("t_types", "{{ 's' is string }}{{ 1 is number }}{{ 1 is integer }}{{ 1.0 is float }}{{ true is boolean }}{{ d is mapping }}{{ xs is iterable }}{{ 's' is sequence }}{{ range is callable }}{{ n is none }}", None),
 ("t_defined", "{{ zz is defined }}{{ zz is undefined }}{{ d is defined }}{{ zz is not defined }}", None),
 ("t_bool", "{{ true is true }}{{ 1 is true }}{{ false is false }}{{ 0 is false }}", None),
 ("t_numbers", "{{ 3 is odd }}{{ 3 is even }}{{ 9 is divisibleby 3 }}{{ 9 is divisibleby(2) }}", None),
 ("t_compare", "{{ 1 is eq 1 }}{{ 1 is equalto 2 }}{{ 1 is ne 2 }}{{ 1 is lt 2 }}{{ 2 is gt 1 }}{{ 2 is le 2 }}{{ 2 is ge 3 }}{{ 2 is in [1, 2] }}", None),
 ("t_undefined_iterable", "{{ zz is iterable }}{{ zz | length }}{% for x in zz %}never{% endfor %}", None),
 ("t_lower_upper", "{{ 'abc' is lower }}{{ 'ABC' is upper }}{{ 'aBc' is lower }}", None),
 # methods
 ("m_strip", "[{{ s.strip() }}][{{ s.lstrip() }}][{{ s.rstrip() }}][{{ 'xxhixx'.strip('x') }}][{{ '\\n a \\n'.strip() }}]", None),
 ("m_split", "{{ 'a,b,,c'.split(',') }} {{ '  a  b '.split() }} {{ 'a b c'.split(' ', 1) }} {{ 'a=b=c'.rsplit('=', 1) }}", None),
 ("m_starts_ends", "{{ 'hello'.startswith('he') }}{{ 'hello'.endswith('lo') }}{{ 'hello'.endswith(('x', 'o')) }}{{ 'hello'.startswith(('x',)) }}", None),
 ("m_case", "{{ 'hello world'.title() }} {{ 'aBC'.capitalize() }} {{ 'x'.upper() }}{{ 'Y'.lower() }} {{ 'ab-cd ef'.title() }}", None),
 ("m_find_count_replace", "{{ 'hello'.find('l') }} {{ 'hello'.find('z') }} {{ 'hello'.count('l') }} {{ 'hello'.replace('l', 'L') }} {{ 'hello'.replace('l', 'L', 1) }}", None),
 ("m_join_format", "{{ '-'.join(['a', 'b']) }} {{ '{} and {}'.format(1, 'x') }} {{ '{0}{name}'.format('a', name='b') }}", None),
 ("m_is", "{{ '123'.isdigit() }}{{ 'abc'.isalpha() }}{{ 'a1'.isalnum() }}{{ ' '.isspace() }}{{ 'ab'.isupper() }}", None),
 ("m_dict", "{{ d.keys() | list }} {{ d.values() | list }} {{ d.get('a') }} {{ d.get('z') }} {{ d.get('z', 9) }} {{ d.items() | list }}", None),
 ("m_list", "{% set l = [1] %}{% set _ = l.append(2) %}{% set _ = l.extend([3, 4]) %}{{ l }} {{ l.pop() }} {{ l }} {{ l.index(2) }}{% set _ = l.insert(0, 0) %} {{ l }} {{ l.append(9) }}", None),
 ("m_dict_update", "{% set m = {} %}{% set _ = m.update({'a': 1}) %}{{ m }}{{ m.pop('a') }}{{ m }}", None),
 # globals
 ("g_range", "{{ range(3) | list }} {{ range(1, 7, 2) | list }} {{ range(3, 0, -1) | list }}", None),
 ("g_dict", "{{ dict(a=1, b='x') }}", None),
 ("g_joiner", "{% set j = joiner(', ') %}{% for x in xs %}{{ j() }}{{ x }}{% endfor %}", None),
 ("g_cycler", "{% set c = cycler('a', 'b') %}{{ c.next() }}{{ c.next() }}{{ c.current }}{{ c.next() }}", None),
 ("crlf_normalised", "a\r\nb\rc{{ 'x\r\ny' }}", None),
 ("g_namespace_attr_list", "{% set ns = namespace(items=[]) %}{% for x in xs %}{% set ns.items = ns.items + [x * 2] %}{% endfor %}{{ ns.items }}", None),
 ("recursive_loop", "{% for item in tree recursive %}{{ item.name }}{% if item.children %}({{ loop(item.children) }}){% endif %}{% endfor %}", '{"tree": [{"name": "a", "children": [{"name": "b", "children": []}, {"name": "c"}]}, {"name": "d"}]}'),
 ("loop_depth", "{% for item in tree recursive %}{{ loop.depth }}{% if item.children %}{{ loop(item.children) }}{% endif %}{% endfor %}", '{"tree": [{"name": "a", "children": [{"name": "b"}]}]}'),
 ("unicode", "{{ 'héllo 🌍'|upper }} {{ 'héllo 🌍'[1] }} {{ 'héllo 🌍'|length }} {{ '🌍' | tojson }}", None),
]

def swift_str(s):
    j = json.dumps(s, ensure_ascii=False)
    # JSON's \uXXXX (control characters only, given ensure_ascii=False) -> Swift's \u{XXXX};
    # skip escaped backslashes so a literal "\\u00e9" in a template stays intact.
    return re.sub(r'(?<!\\)((?:\\\\)*)\\u([0-9a-fA-F]{4})', lambda m: m.group(1) + '\\u{' + m.group(2) + '}', j)

out = ["// Generated by scripts/gen-template-unit-cases.py from Python jinja2 " + jinja2.__version__ + ". Do not edit by hand.",
       "", "/// Variables used by cases whose `vars` is empty.",
       "let generatedDefaultVars = " + swift_str(json.dumps(V)),
       "", "/// (name, template, variables as JSON or empty for the defaults, expected jinja2 output)",
       "let generatedCases: [(name: String, template: String, vars: String, expected: String)] = ["]
for name, tmpl, vars_json in CASES:
    vars_ = json.loads(vars_json) if vars_json else V
    try:
        result = env.from_string(tmpl).render(**vars_)
    except Exception as e:
        sys.exit(f"case {name} raised in jinja2: {e}")
    out.append(f"    ({swift_str(name)}, {swift_str(tmpl)}, {swift_str(vars_json or '')}, {swift_str(result)}),")
out.append("]")
open(sys.argv[1], "w").write("\n".join(out) + "\n")
print(len(CASES), "cases")
