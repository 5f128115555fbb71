"""Command-line arguments the stages' commands share: config fragments as inline JSON or a YAML/JSON
file (Snakemake rules pass the validated pieces they depend on as inline JSON, so a changed recipe
reruns exactly its job; people may pass a file instead), and the common options."""
from __future__ import annotations

import argparse
from pathlib import Path

import yaml


def json_or_file(value: str):
    """argparse type: inline JSON (`{"name": "mnist5k"}`) or a path to a YAML/JSON file."""
    text = value.strip()
    if not text.startswith(("{", "[")):
        path = Path(value)
        if not path.exists():
            raise argparse.ArgumentTypeError(f"{value!r} is neither inline JSON nor an existing YAML/JSON file")
        text = path.read_text()
    try:
        return yaml.safe_load(text)  # YAML is a superset of JSON
    except yaml.YAMLError as e:
        raise argparse.ArgumentTypeError(yaml_problem(e, repr(value[:60]))) from None


def yaml_problem(error: yaml.YAMLError, where: str) -> str:
    """A YAML syntax error as one line: `where` (the file), the line and column, what is wrong there."""
    mark = getattr(error, "problem_mark", None)
    at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    what = " ".join(str(getattr(error, "problem", None) or error).split())[:160]
    return f"{where}: YAML syntax error{at}: {what}; fix it there"


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", type=json_or_file, required=True,
                        help="the config's dataset mapping, inline JSON or a YAML file (e.g. '{\"name\": \"mnist5k\"}')")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's choice)")
