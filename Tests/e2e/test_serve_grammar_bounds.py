"""Grammars and schemas whose matching or conversion would take unbounded work.

Nested optional repetitions used to stall the engine thread (every slot) for seconds to minutes
per token, and a schema with thousands of optional properties rendered gigabytes of grammar. Each
now gets a prompt 4xx, and a normal request right after is answered as quickly as ever.
"""
import time

from conftest import assert_openai_error

PROMPT = "The old lighthouse keeper climbed the spiral stairs every evening, and"
GREEDY = {"prompt": PROMPT, "n_predict": 8, "temperature": 0, "return_tokens": True}


def normal_request_is_quick(server):
    start = time.time()
    r = server.post("/completion", GREEDY)
    assert r.status_code == 200, r.text
    assert len(r.json()["tokens"]) == 8
    assert time.time() - start < 30


def test_nested_repetition_grammar_is_refused(server):
    for grammar in ['root ::= (("a"{0,100}){0,100}){0,100}', 'root ::= (("a"{0,1000}){0,1000}){0,1000}']:
        start = time.time()
        r = server.post("/completion", {"prompt": PROMPT, "n_predict": 4, "grammar": grammar})
        assert_openai_error(r, 400, contains="nested repetitions multiply")
        assert time.time() - start < 10
    normal_request_is_quick(server)


def test_nested_repetition_pattern_is_refused(server):
    schema = {"type": "string", "pattern": "^((a{0,1000}){0,1000}){0,1000}$"}
    r = server.post("/completion", {"prompt": PROMPT, "n_predict": 4, "json_schema": schema})
    assert_openai_error(r, 400, contains="nested repetitions multiply")
    normal_request_is_quick(server)


def test_grammar_past_the_parser_fails_on_the_work_budget(server):
    # Nested through a rule reference: admitted by the parser, stopped by the matcher's budget.
    start = time.time()
    r = server.post("/completion", {"prompt": PROMPT, "n_predict": 4,
                                    "grammar": 'root ::= x{0,1000}\nx ::= "a"{0,1000}'})
    assert_openai_error(r, 400, contains="too ambiguous")
    assert time.time() - start < 20
    normal_request_is_quick(server)


def test_many_optional_properties_are_refused_quickly(server):
    schema = {"type": "object", "properties": {f"p{i}": {"type": "string"} for i in range(10_000)}}
    start = time.time()
    r = server.post("/completion", {"prompt": PROMPT, "n_predict": 4, "json_schema": schema})
    assert_openai_error(r, 400, contains="optional properties")
    assert time.time() - start < 10
    normal_request_is_quick(server)
