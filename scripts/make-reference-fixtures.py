#!/usr/bin/env python3
"""Copies the parts of llama.cpp's recorded reference outputs that the tests read into
Tests/Fixtures/reference/ (see the README there for where every number came from).

    python3 scripts/make-reference-fixtures.py [SOURCE]

SOURCE is the full recording (default: ../shared/reference beside the repository). Only fields
the tests use are kept; chat-template sources (third-party text) are left out.
"""
import json
import pathlib
import shutil
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
SOURCE = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "reference"
DEST = ROOT / "Tests" / "Fixtures" / "reference"

# Sampler settings of the recording server (the e2e test replays its repeat_penalty).
SETTINGS = ["seed", "temperature", "top_k", "top_p", "min_p", "repeat_last_n", "repeat_penalty", "samplers"]
COMPLETION = ["name", "prompt", "prompt_tokens_with_bos", "content", "tokens", "top1_logprobs", "stop_type",
              "tokens_predicted", "tokens_evaluated"]
TEMPLATE = ["meta", "tag", "messages", "apply_template_prompt", "rendered", "messages_4turn", "rendered_4turn"]


def write(path: pathlib.Path, top: dict) -> None:
    """Top-level keys one per line and list entries one per line: small, and diffs stay readable."""
    lines = ["{"]
    for i, (key, value) in enumerate(top.items()):
        comma = "," if i < len(top) - 1 else ""
        if isinstance(value, list) and value and isinstance(value[0], dict):
            entries = [json.dumps(v, ensure_ascii=False) for v in value]
            lines.append(f"  {json.dumps(key)}: [\n    " + ",\n    ".join(entries) + f"\n  ]{comma}")
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}{comma}")
    lines.append("}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    src = SOURCE / "gemma3-270m"
    dest = DEST / "gemma3-270m"
    dest.mkdir(parents=True, exist_ok=True)

    write(dest / "tokenize.json", json.loads((src / "tokenize.json").read_text()))

    data = json.loads((src / "completions.json").read_text())
    completions = []
    for c in data["completions"]:
        kept = {k: c[k] for k in COMPLETION}
        kept["generation_settings"] = {k: c["generation_settings"][k] for k in SETTINGS}
        completions.append(kept)
    write(dest / "completions.json",
          {"meta": data["meta"], "request_template": data["request_template"], "completions": completions})

    for path in sorted(src.glob("chat_template_*.json")):
        record = json.loads(path.read_text())
        write(dest / path.name, {k: record[k] for k in TEMPLATE if k in record})

    shutil.copyfile(SOURCE / "texts-gpl-3.txt", DEST / "texts-gpl-3.txt")
    print(f"wrote {DEST.relative_to(ROOT)} from {SOURCE}")


if __name__ == "__main__":
    main()
