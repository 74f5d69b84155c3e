#!/usr/bin/env python3
"""Generate and verify the JSON Schema corpus used by GrammarTests.

The corpus lives in Tests/GrammarTests/schemas.json. Each entry has a schema,
instances that must be accepted by the generated grammar ("valid"), instances
that must be rejected ("invalid"), raw texts that must be rejected
("invalid_texts": malformed JSON or schema-invalid) and raw texts that are valid
JSON Schema instances but are outside what the grammar deliberately generates
("rejected_by_design", e.g. numbers beyond the 15-digit cap).

Labels are checked with the `jsonschema` package (Draft 2020-12 with format
checking; Tests/e2e/json_formats.py supplies the RFC 3339 date-time and time
checks jsonschema skips without its optional extras), so the Swift tests do
not grade themselves.

    python3 scripts/check-schema-corpus.py          # verify the committed file
    python3 scripts/check-schema-corpus.py --write  # regenerate it from CORPUS
"""
import json
import os
import sys

import jsonschema

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "Tests", "e2e"))
import json_formats  # noqa: E402  (shared with the end-to-end schema tests)

CORPUS_PATH = os.path.join(HERE, "..", "Tests", "GrammarTests", "schemas.json")


def entry(name, schema, valid, invalid, invalid_texts=(), rejected_by_design=()):
    return {
        "name": name,
        "schema": schema,
        "valid": list(valid),
        "invalid": list(invalid),
        "invalid_texts": list(invalid_texts),
        "rejected_by_design": list(rejected_by_design),
    }


CORPUS = [
    entry("required-props",
          {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
           "required": ["name", "age"], "additionalProperties": False},
          [{"name": "Bob", "age": 42}, {"name": "", "age": -7}, {"name": "é \"q\" \\ \n\t/", "age": 0}],
          [{"name": "Bob"}, {"name": "Bob", "age": "42"}, {"name": "Bob", "age": 42, "x": 1},
           {"name": "Bob", "age": 4.5}, {}, []],
          ['{"name":"Bob","age":42', '{"name":"Bob" "age":42}', '{"name":"Bob","age":042}']),
    entry("optional-props",
          {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "number"}, "c": {"type": "boolean"}},
           "additionalProperties": False},
          [{}, {"a": "x"}, {"b": 1.5}, {"c": True}, {"a": "x", "c": False}, {"a": "x", "b": -200000.0, "c": False},
           {"b": 3, "c": True}],
          [{"d": 1}, {"a": 1}, {"c": "true"}, {"a": "x", "b": "y"}, None],
          ['{"a":"x",}', '{,"a":"x"}']),
    entry("nested-objects",
          {"type": "object", "properties": {
              "person": {"type": "object", "properties": {
                  "name": {"type": "string", "minLength": 1},
                  "address": {"type": "object", "properties": {
                      "street": {"type": "string"}, "city": {"type": "string"},
                      "zip": {"type": "string", "pattern": "^[0-9]{5}$"}},
                      "required": ["street", "city", "zip"], "additionalProperties": False}},
                  "required": ["name", "address"], "additionalProperties": False}},
           "required": ["person"], "additionalProperties": False},
          [{"person": {"name": "Ann", "address": {"street": "1 Main St", "city": "Springfield", "zip": "12345"}}}],
          [{"person": {"name": "", "address": {"street": "x", "city": "y", "zip": "12345"}}},
           {"person": {"name": "Ann", "address": {"street": "x", "city": "y", "zip": "1234"}}},
           {"person": {"name": "Ann", "address": {"street": "x", "city": "y"}}},
           {"person": {"name": "Ann"}}]),
    entry("string-array-bounds",
          {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3},
          [["a"], ["a", "b"], ["a", "b", "c"]],
          [[], ["a", "b", "c", "d"], [1], "a"],
          ['["a",]', '["a" "b"]']),
    entry("integer-array",
          {"type": "array", "items": {"type": "integer"}},
          [[], [1, 2, 3], [-1, 0, 123456789012345]],
          [[1.5], ["1"], {}, [None]]),
    entry("enum-strings",
          {"enum": ["red", "green", "blue"]},
          ["red", "green", "blue"],
          ["Red", "yellow", 1, None, "re"]),
    entry("enum-mixed",
          {"enum": ["a", 1, None, True, [1, 2], {"k": "v"}]},
          ["a", 1, None, True, [1, 2], {"k": "v"}],
          ["b", 2, False, [1], {"k": "w"}, [2, 1]]),
    entry("const-object",
          {"const": {"x": [1, "two", None], "y": {"z": False}}},
          [{"x": [1, "two", None], "y": {"z": False}}],
          [{"x": [1, "two"], "y": {"z": False}}, {"x": [1, "two", None], "y": {"z": True}}, "x"]),
    entry("pattern-phone",
          {"type": "string", "pattern": "^\\+?[0-9]{1,3}-[0-9]{3}-[0-9]{4}$"},
          ["+1-555-1234", "44-123-4567", "123-000-0000"],
          ["1-55-1234", "+1-555-12345", "abc", "", "+1234-555-1234"]),
    entry("pattern-unanchored",
          {"type": "string", "pattern": "ab+c"},
          ["abc", "xxabbbcyy", "abbc!"],
          ["ac", "abx", "", "a b c"]),
    entry("pattern-groups-alternation",
          {"type": "string", "pattern": "^(cat|dog)s?( [0-9]+)?$"},
          ["cat", "dogs", "cats 12", "dog 7"],
          ["cow", "cats12", "cat ", "Cat"]),
    entry("pattern-classes-escapes",
          {"type": "string", "pattern": "^[A-Z][a-z]*\\.\\d{2}(?:-\\w+)*$"},
          ["Hello.42", "A.00", "Xy.99-a_1-b"],
          ["hello.42", "Hello42", "Hello.4", "Hello.42-"]),
    entry("pattern-json-escapes",
          {"type": "string", "pattern": "^a\"b\\\\c[\\n ]$"},
          ["a\"b\\c\n", "a\"b\\c "],
          ["ab\\c\n", "a\"bc ", "a\"b\\c\t"]),
    entry("pattern-negated-class-and-dot",
          {"type": "string", "pattern": "^[^0-9]{2}.+$"},
          ["abX", "é日本語", "--\""],
          ["1bc", "a1c", "ab"]),
    entry("pattern-unicode",
          {"type": "string", "pattern": "^[α-ω]+$"},
          ["αβγ", "ω"],
          ["abc", "", "αβγA"]),
    entry("format-date",
          {"type": "string", "format": "date"},
          ["2024-01-31", "1999-12-01", "2024-02-29", "2000-02-29", "1600-02-29", "2023-02-28", "2024-04-30",
           "0001-01-01", "0004-02-29"],
          ["2024-13-01", "24-01-01", "2024-1-1", "2024-01-32", "2023-02-29", "1900-02-29", "2024-02-30",
           "2024-04-31", "2024-11-31", "0000-01-01", "2024-00-10", "2024-01-00"]),
    entry("format-date-time",
          {"type": "string", "format": "date-time"},
          ["2024-01-31T12:34:56Z", "2024-01-31T12:34:56.789+02:00", "2000-02-29T00:00:00-05:30"],
          ["2024-01-31 12:34:56Z", "2024-01-31T25:00:00Z", "2024-01-31T12:34:56", "2024-01-31"]),
    entry("format-time",
          {"type": "string", "format": "time"},
          ["12:34:56Z", "23:59:59.5+01:00"],
          ["12:34", "24:00:00Z", "12:34:56"]),
    entry("format-uuid",
          {"type": "string", "format": "uuid"},
          ["123e4567-e89b-12d3-a456-426614174000", "00000000-0000-0000-0000-000000000000"],
          ["123e4567e89b12d3a456426614174000", "123e4567-e89b-12d3-a456-42661417400g", "123e4567-e89b-12d3-a456"]),
    entry("integer-range",
          {"type": "integer", "minimum": 1, "maximum": 100},
          [1, 9, 10, 50, 99, 100],
          [0, 101, -5, 1000, 1.5, "5"]),
    entry("integer-exclusive",
          {"type": "integer", "exclusiveMinimum": -10, "exclusiveMaximum": 10},
          [-9, -1, 0, 1, 9],
          [-10, 10, -11, 123, -123]),
    entry("integer-minimum-only",
          {"type": "integer", "minimum": 18},
          [18, 19, 20, 99, 100, 123456, 999999999999999],
          [17, 0, -18, 5, 1],
          rejected_by_design=["1000000000000000"]),
    entry("integer-maximum-negative",
          {"type": "integer", "maximum": -3},
          [-3, -4, -9, -10, -100, -99999],
          [-2, 0, 3, 1]),
    entry("integer-range-wide",
          {"type": "integer", "minimum": -1000, "maximum": 2500},
          [-1000, -999, -10, -1, 0, 7, 99, 999, 1000, 1999, 2499, 2500],
          [-1001, 2501, 3000, -2000, 9999, 10000]),
    entry("string-length",
          {"type": "string", "minLength": 2, "maxLength": 5},
          ["ab", "abcde", "日本", "a\"b"],
          ["a", "abcdef", "", "日本語日本語"]),
    entry("defs-ref",
          {"$defs": {"item": {"type": "object", "properties": {
              "id": {"type": "integer"}, "tags": {"type": "array", "items": {"type": "string"}}},
              "required": ["id"], "additionalProperties": False}},
           "type": "array", "items": {"$ref": "#/$defs/item"}},
          [[], [{"id": 1, "tags": ["x"]}, {"id": 2}]],
          [[{"id": "1"}], [{"tags": []}], [{"id": 1, "tags": [1]}]]),
    entry("recursive-tree",
          {"type": "object", "properties": {
              "value": {"type": "integer"},
              "children": {"type": "array", "items": {"$ref": "#"}}},
           "required": ["value"], "additionalProperties": False},
          [{"value": 1}, {"value": 1, "children": [{"value": 2, "children": [{"value": 3}]}, {"value": 4}]}],
          [{"value": 1, "children": [{"children": []}]}, {"value": 1, "children": [{"value": "x"}]}, {"children": []}]),
    entry("definitions-draft7",
          {"definitions": {"point": {"type": "object", "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
                                     "required": ["x", "y"], "additionalProperties": False}},
           "type": "object", "properties": {"from": {"$ref": "#/definitions/point"}, "to": {"$ref": "#/definitions/point"}},
           "required": ["from", "to"], "additionalProperties": False},
          [{"from": {"x": 0, "y": 1.5}, "to": {"x": -3, "y": 1e-05}}],
          [{"from": {"x": 0}, "to": {"x": 1, "y": 2}}, {"from": {"x": 0, "y": 0}}]),
    entry("anyOf-scalars",
          {"anyOf": [{"type": "string", "maxLength": 3}, {"type": "integer", "minimum": 0}]},
          ["abc", "", 5, 0, 12345],
          ["abcd", -1, None, 1.5]),
    entry("oneOf-tagged",
          {"oneOf": [
              {"type": "object", "properties": {"kind": {"const": "circle"}, "r": {"type": "number"}},
               "required": ["kind", "r"], "additionalProperties": False},
              {"type": "object", "properties": {"kind": {"const": "square"}, "side": {"type": "number"}},
               "required": ["kind", "side"], "additionalProperties": False}]},
          [{"kind": "circle", "r": 1.5}, {"kind": "square", "side": 2}],
          [{"kind": "circle", "side": 2}, {"kind": "triangle", "r": 1}, {"kind": "square"}]),
    entry("allOf-merge",
          {"allOf": [{"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
                     {"properties": {"b": {"type": "integer", "minimum": 0}}, "required": ["b"]}]},
          [{"a": "x", "b": 0}, {"a": "", "b": 77}],
          [{"a": "x"}, {"a": 1, "b": 2}, {"a": "x", "b": -1}, {"b": 3}]),
    entry("type-array-nullable",
          {"type": ["string", "null"], "maxLength": 3},
          ["abc", "", None],
          ["abcd", 1, False]),
    entry("any-value",
          {},
          [None, True, 0, -1.25e+20, "s", [], [1, [2, {"a": None}]], {"k": {"n": [True, "x"]}}],
          [],
          ["{", "tru", "[1,]", "{\"a\"}", "nul", "\"abc", "01"]),
    entry("true-schema",
          True,
          [1, "x", {"a": [1, 2]}, []],
          [],
          ["[", "}", "\"\\x\""]),
    entry("additional-properties-schema",
          {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"],
           "additionalProperties": {"type": "string"}},
          [{"id": 1}, {"id": 1, "x": "y", "z": "w"}, {"id": 1, "i": "a", "idx": "b"}],
          [{"id": 1, "x": 2}, {"x": "y"}, {"id": 1, "z": None}]),
    entry("map-of-numbers",
          {"type": "object", "additionalProperties": {"type": "number"}},
          [{}, {"a": 1, "b": 2.5}, {"": -1}],
          [{"a": "x"}, {"a": None}, []]),
    entry("tuple-exact",
          {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "items": False, "minItems": 2},
          [["a", 1], ["", -5]],
          [["a"], ["a", 1, 2], [1, "a"], []]),
    entry("tuple-prefix-optional",
          {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "items": False},
          [[], ["a"], ["a", 1]],
          [[1], ["a", "b"], ["a", 1, 2]]),
    entry("tuple-with-items",
          {"type": "array", "prefixItems": [{"const": "cmd"}], "items": {"type": "number"}, "maxItems": 3},
          [["cmd"], ["cmd", 1], ["cmd", 1, 2.5]],
          [["cmd", 1, 2, 3], ["x"], ["cmd", "a"]]),
    entry("numbers",
          {"type": "number"},
          [0, -1.5, 3.14159, 10000000000.0, 0.0025, 123456789012345, 1e-07, -0.0],
          ["1", True, None, [1]],
          ["01", "1.", "-", ".5", "1e", "+1"],
          rejected_by_design=["1234567890123456", "0.1234567890123456"]),
    entry("boolean-and-null",
          {"type": "object", "properties": {"flag": {"type": "boolean"}, "nothing": {"type": "null"}},
           "required": ["flag", "nothing"], "additionalProperties": False},
          [{"flag": True, "nothing": None}, {"flag": False, "nothing": None}],
          [{"flag": "true", "nothing": None}, {"flag": True, "nothing": 0}, {"flag": True}]),
    entry("nested-array-bounds",
          {"type": "array", "items": {"type": "array", "items": {"type": "integer"}, "maxItems": 2}, "maxItems": 2},
          [[], [[]], [[1, 2], [3]]],
          [[[1, 2, 3]], [[1], [2], [3]], [1]]),
    entry("tool-call",
          {"type": "object", "properties": {
              "name": {"enum": ["get_weather", "get_time"]},
              "arguments": {"type": "object", "properties": {
                  "city": {"type": "string"}, "unit": {"enum": ["c", "f"]}, "days": {"type": "integer", "minimum": 1, "maximum": 14}},
                  "required": ["city"], "additionalProperties": False}},
           "required": ["name", "arguments"], "additionalProperties": False},
          [{"name": "get_weather", "arguments": {"city": "Paris"}},
           {"name": "get_time", "arguments": {"city": "東京", "unit": "c", "days": 14}},
           {"name": "get_weather", "arguments": {"city": "Oslo", "days": 1}}],
          [{"name": "get_news", "arguments": {"city": "Paris"}},
           {"name": "get_weather", "arguments": {"city": "Paris", "days": 15}},
           {"name": "get_weather", "arguments": {"unit": "c"}},
           {"name": "get_weather"}]),
]


def check(corpus):
    errors = []
    names = set()
    for e in corpus:
        name = e["name"]
        if name in names:
            errors.append(f"duplicate name {name}")
        names.add(name)
        schema = e["schema"]
        cls = jsonschema.validators.validator_for(schema if isinstance(schema, dict) else {}, default=jsonschema.Draft202012Validator)
        cls.check_schema(schema) if isinstance(schema, dict) else None
        v = json_formats.validator(schema)
        for inst in e["valid"]:
            errs = list(v.iter_errors(inst))
            if errs:
                errors.append(f"{name}: labeled valid but invalid: {inst!r}: {errs[0].message}")
        for inst in e["invalid"]:
            if v.is_valid(inst):
                errors.append(f"{name}: labeled invalid but valid: {inst!r}")
        for text in e["invalid_texts"]:
            try:
                inst = json.loads(text)
            except ValueError:
                continue
            if v.is_valid(inst):
                errors.append(f"{name}: invalid_text parses and validates: {text!r}")
        for text in e["rejected_by_design"]:
            inst = json.loads(text)  # must be real JSON that the validator accepts
            if not v.is_valid(inst):
                errors.append(f"{name}: rejected_by_design text is schema-invalid anyway: {text!r}")
    return errors


def main():
    if "--write" in sys.argv:
        errors = check(CORPUS)
        if errors:
            print("\n".join(errors))
            return 1
        with open(CORPUS_PATH, "w", encoding="utf-8") as f:
            json.dump(CORPUS, f, ensure_ascii=False, indent=1)
            f.write("\n")
        print(f"wrote {len(CORPUS)} schemas to {os.path.normpath(CORPUS_PATH)}")
        return 0
    with open(CORPUS_PATH, encoding="utf-8") as f:
        committed = json.load(f)
    errors = check(committed)
    if committed != json.loads(json.dumps(CORPUS)):
        errors.append("committed schemas.json differs from CORPUS in this script (run with --write)")
    n_valid = sum(len(e["valid"]) for e in committed)
    n_invalid = sum(len(e["invalid"]) + len(e["invalid_texts"]) for e in committed)
    if errors:
        print("\n".join(errors))
        return 1
    print(f"ok: {len(committed)} schemas, {n_valid} valid and {n_invalid} invalid instances verified by jsonschema")
    return 0


if __name__ == "__main__":
    sys.exit(main())
