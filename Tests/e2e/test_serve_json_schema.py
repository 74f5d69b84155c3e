"""Schema-constrained generation end to end: sampled output always validates against its schema.

Every schema below is sent to a real `cria serve` at temperature 1 with fixed seeds, through the
three ways a client can ask for it: /completion `json_schema`, and /v1/chat/completions
`response_format` in OpenAI's `json_schema` form and in the `json_object` + `schema` form. The
output must parse with `json.loads` and pass a Draft 2020-12 validator that checks formats. It must
also be complete: stopping on the token limit is a failure, so the schemas bound their sizes
(maxLength, maxItems, enum, bounded patterns) where an unbounded part could run on forever.

All requests run up front, four at a time against a 4-slot server, so the whole corpus costs about
as much wall time as a quarter of it; each case then reports as its own test.
"""
import concurrent.futures
import json

import pytest

from conftest import assert_openai_error
from json_formats import validator

S = {"type": "string", "maxLength": 16}  # a short free-text string

SCHEMAS = {
    "required-props": {
        "type": "object", "properties": {"name": S, "age": {"type": "integer", "minimum": 0, "maximum": 130}},
        "required": ["name", "age"], "additionalProperties": False},
    "optional-props": {
        "type": "object", "properties": {"a": S, "b": {"type": "number"}, "c": {"type": "boolean"}},
        "additionalProperties": False},
    "nested-objects": {
        "type": "object", "properties": {"person": {
            "type": "object", "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 16},
                "address": {"type": "object", "properties": {
                    "street": S, "city": S, "zip": {"type": "string", "pattern": "^[0-9]{5}$"}},
                    "required": ["street", "city", "zip"], "additionalProperties": False}},
            "required": ["name", "address"], "additionalProperties": False}},
        "required": ["person"], "additionalProperties": False},
    "string-array-bounds": {"type": "array", "items": S, "minItems": 1, "maxItems": 3},
    "integer-array-bounds": {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 5},
    "nested-array-bounds": {
        "type": "array", "items": {"type": "array", "items": {"type": "integer"}, "maxItems": 2}, "maxItems": 2},
    "enum-strings": {"enum": ["red", "green", "blue"]},
    "enum-mixed": {"enum": ["a", 1, None, True, [1, 2], {"k": "v"}]},
    "const-object": {"const": {"x": [1, "two", None], "y": {"z": False}}},
    "const-in-object": {
        "type": "object", "properties": {"version": {"const": 2}, "ok": {"type": "boolean"}},
        "required": ["version", "ok"], "additionalProperties": False},
    "pattern-phone": {"type": "string", "pattern": "^\\+?[0-9]{1,3}-[0-9]{3}-[0-9]{4}$"},
    "pattern-groups-alternation": {"type": "string", "pattern": "^(cat|dog)s?( [0-9]{1,3})?$"},
    "pattern-classes-escapes": {"type": "string", "pattern": "^[A-Z][a-z]{0,8}\\.\\d{2}(?:-\\w{1,5}){0,2}$"},
    "pattern-unicode": {"type": "string", "pattern": "^[α-ω]{1,6}$"},
    "format-date": {"type": "string", "format": "date"},
    "format-date-time": {"type": "string", "format": "date-time"},
    "format-time": {"type": "string", "format": "time"},
    "format-uuid": {"type": "string", "format": "uuid"},
    "formats-in-object": {
        "type": "object", "properties": {
            "id": {"type": "string", "format": "uuid"}, "day": {"type": "string", "format": "date"},
            "at": {"type": "string", "format": "time"}},
        "required": ["id", "day", "at"], "additionalProperties": False},
    "integer-range": {"type": "integer", "minimum": 1, "maximum": 100},
    "integer-exclusive": {"type": "integer", "exclusiveMinimum": -10, "exclusiveMaximum": 10},
    "integer-minimum-only": {"type": "integer", "minimum": 18},
    "integer-maximum-negative": {"type": "integer", "maximum": -3},
    "integer-range-wide": {"type": "integer", "minimum": -1000, "maximum": 2500},
    "numbers": {"type": "number"},
    "string-length": {"type": "string", "minLength": 2, "maxLength": 5},
    "defs-ref": {
        "$defs": {"item": {"type": "object", "properties": {
            "id": {"type": "integer"}, "tags": {"type": "array", "items": S, "maxItems": 2}},
            "required": ["id"], "additionalProperties": False}},
        "type": "array", "items": {"$ref": "#/$defs/item"}, "maxItems": 3},
    "definitions-draft7": {
        "definitions": {"point": {"type": "object", "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
                                  "required": ["x", "y"], "additionalProperties": False}},
        "type": "object", "properties": {"from": {"$ref": "#/definitions/point"}, "to": {"$ref": "#/definitions/point"}},
        "required": ["from", "to"], "additionalProperties": False},
    # A tree two levels deep through $defs. A truly recursive schema ("$ref": "#") is left to the
    # matcher corpus: at temperature 1 this model nests it until the token limit about half the time.
    "defs-tree": {
        "$defs": {
            "leaf": {"type": "object", "properties": {"value": {"type": "integer"}},
                     "required": ["value"], "additionalProperties": False},
            "node": {"type": "object", "properties": {
                "value": {"type": "integer"}, "children": {"type": "array", "items": {"$ref": "#/$defs/leaf"}, "maxItems": 2}},
                "required": ["value"], "additionalProperties": False}},
        "type": "object", "properties": {
            "value": {"type": "integer"}, "children": {"type": "array", "items": {"$ref": "#/$defs/node"}, "maxItems": 2}},
        "required": ["value"], "additionalProperties": False},
    "anyOf-scalars": {"anyOf": [{"type": "string", "maxLength": 3}, {"type": "integer", "minimum": 0}]},
    "oneOf-tagged": {"oneOf": [
        {"type": "object", "properties": {"kind": {"const": "circle"}, "r": {"type": "number"}},
         "required": ["kind", "r"], "additionalProperties": False},
        {"type": "object", "properties": {"kind": {"const": "square"}, "side": {"type": "number"}},
         "required": ["kind", "side"], "additionalProperties": False}]},
    "allOf-merge": {"allOf": [
        {"type": "object", "properties": {"a": S}, "required": ["a"]},
        {"properties": {"b": {"type": "integer", "minimum": 0}}, "required": ["b"]}]},
    "type-array-nullable": {"type": ["string", "null"], "maxLength": 3},
    "openapi-nullable": {
        "type": "object", "properties": {"n": {"type": "integer", "nullable": True}},
        "required": ["n"], "additionalProperties": False},
    "boolean-and-null": {
        "type": "object", "properties": {"flag": {"type": "boolean"}, "nothing": {"type": "null"}},
        "required": ["flag", "nothing"], "additionalProperties": False},
    "tuple-exact": {"type": "array", "prefixItems": [S, {"type": "integer"}], "items": False, "minItems": 2},
    "tuple-with-items": {"type": "array", "prefixItems": [{"const": "cmd"}], "items": {"type": "number"}, "maxItems": 3},
    "tool-call": {
        "type": "object", "properties": {
            "name": {"enum": ["get_weather", "get_time"]},
            "arguments": {"type": "object", "properties": {
                "city": S, "unit": {"enum": ["c", "f"]}, "days": {"type": "integer", "minimum": 1, "maximum": 14}},
                "required": ["city"], "additionalProperties": False}},
        "required": ["name", "arguments"], "additionalProperties": False},
    "order": {
        "type": "object", "properties": {
            "customer": S, "status": {"enum": ["new", "paid", "shipped"]},
            "lines": {"type": "array", "minItems": 1, "maxItems": 3, "items": {
                "type": "object", "properties": {
                    "sku": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{3}$"},
                    "qty": {"type": "integer", "minimum": 1, "maximum": 9}},
                "required": ["sku", "qty"], "additionalProperties": False}}},
        "required": ["customer", "status", "lines"], "additionalProperties": False},
    # Any JSON at all: nothing bounds it, so it runs on the base seeds only (at temperature 1 about
    # one sample in forty is a sprawling object that outlasts n_predict; these seeds are not).
    "any-value": {},
}

# Schemas whose grammars have the most freedom (or the fiddliest rules) get extra seeds.
EXTRA_SEEDS = {"format-date": [11, 12, 13, 14, 15], "format-date-time": [11, 12], "defs-tree": [11, 12],
               "numbers": [11, 12], "oneOf-tagged": [11, 12], "enum-mixed": [11], "pattern-unicode": [11]}

ROUTES = ["completion", "chat-json-schema", "chat-json-object"]
N_PREDICT = 400


def cases():
    out = []
    for name in SCHEMAS:
        for i, route in enumerate(ROUTES):
            out.append((name, route, 1 + i))
        for seed in EXTRA_SEEDS.get(name, []):
            out.append((name, ROUTES[seed % len(ROUTES)], seed))
    return out


CASES = cases()


def request_for(name, route, seed):
    schema = SCHEMAS[name]
    ask = f"Write one JSON value that matches this JSON schema: {json.dumps(schema)}"
    if route == "completion":
        return "/completion", {"prompt": ask + "\nJSON:", "json_schema": schema, "temperature": 1, "seed": seed,
                               "n_predict": N_PREDICT}
    fmt = ({"type": "json_schema", "json_schema": {"name": name, "schema": schema}} if route == "chat-json-schema"
           else {"type": "json_object", "schema": schema})
    return "/v1/chat/completions", {"messages": [{"role": "user", "content": ask}], "response_format": fmt,
                                    "temperature": 1, "seed": seed, "max_tokens": N_PREDICT}


def output_of(route, body):
    """(text, stopped on the token limit) of a response body."""
    if route == "completion":
        return body["content"], body["stopped_limit"]
    choice = body["choices"][0]
    return choice["message"]["content"], choice["finish_reason"] == "length"


@pytest.fixture(scope="module")
def results(server):
    def run(case):
        path, body = request_for(*case)
        return server.post(path, body)

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(CASES, pool.map(run, CASES)))


def test_corpus_size():
    assert len(SCHEMAS) >= 30 and len(CASES) >= 3 * len(SCHEMAS)


@pytest.mark.parametrize("name,route,seed", CASES, ids=[f"{n}-{r}-s{s}" for n, r, s in CASES])
def test_output_validates(results, name, route, seed):
    response = results[(name, route, seed)]
    assert response.status_code == 200, response.text
    text, hit_limit = output_of(route, response.json())
    assert not hit_limit, f"generation hit n_predict={N_PREDICT} before the value was complete: {text!r}"
    value = json.loads(text)
    errors = sorted(validator(SCHEMAS[name]).iter_errors(value), key=str)
    assert not errors, f"{text!r} violates the schema: {errors[0].message}"


# ---------------------------------------------------------------------------------------------
# Schemas and grammars that cannot be used are refused up front.

@pytest.mark.parametrize("schema,contains", [
    ({"type": "array", "items": {"type": "integer"}, "uniqueItems": True}, "uniqueItems"),
    ({"$ref": "#/$defs/missing"}, "missing"),
    ({"type": "string", "pattern": "^(ab$"}, "pattern"),
    ({"type": "integer", "minimum": 5, "maximum": 1}, "json_schema"),
])
def test_bad_schema_is_400(server, schema, contains):
    r = server.post("/completion", {"prompt": "x", "n_predict": 1, "json_schema": schema})
    assert_openai_error(r, 400, contains=contains)
    fmt = {"type": "json_schema", "json_schema": {"name": "bad", "schema": schema}}
    r = server.post("/v1/chat/completions", {"messages": [{"role": "user", "content": "x"}], "max_tokens": 1,
                                             "response_format": fmt})
    assert_openai_error(r, 400, contains=contains)


@pytest.mark.parametrize("grammar", [
    "root ::= undefined-rule",
    'root ::= "unterminated',
    'root ::= [z-a]',
    "root ::= root \"a\"",
    'thing ::= "a"',
])
def test_bad_grammar_is_400(server, grammar):
    r = server.post("/completion", {"prompt": "x", "n_predict": 1, "grammar": grammar})
    assert_openai_error(r, 400, contains="grammar")


def test_bad_response_format_is_400(server):
    r = server.post("/v1/chat/completions", {"messages": [{"role": "user", "content": "x"}], "max_tokens": 1,
                                             "response_format": {"type": "yaml"}})
    assert_openai_error(r, 400, contains="yaml")
