"""Config fragments on the command line: Snakemake rules pass the validated pieces they depend on as
inline JSON (so a changed recipe reruns exactly its job); people may pass a YAML/JSON file instead."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import yaml

from gkt.errors import GktError


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
        raise argparse.ArgumentTypeError(f"cannot parse {value[:60]!r}: {e}") from None


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", type=json_or_file, required=True,
                        help="the config's dataset mapping, inline JSON or a YAML file (e.g. '{\"name\": \"mnist5k\"}')")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's choice)")


def pick_model(entry_or_config: dict, name: str | None = None) -> dict:
    """A zoo entry given either directly or as a whole config plus a model name."""
    if "zoo" not in entry_or_config:
        return entry_or_config
    for entry in entry_or_config["zoo"]:
        if entry.get("name") == name:
            return entry
    raise GktError(f"model {name!r} is not in the config's zoo: add it under zoo: or fix the name")


def config_problem(config: dict, schema_path: str | Path) -> str | None:
    """The most relevant schema violation of a workflow config, as one line (None when valid).

    `snakemake.utils.validate` reports the same violations, but with the whole schema dumped; this
    names the key and what is allowed there, which is what a user needs to fix it.
    """
    import jsonschema

    schema = yaml.safe_load(Path(schema_path).read_text())
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(config))
    if error is None:
        return None
    where = "config" + "".join(f"[{p!r}]" for p in error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        return (f"{where}: unknown key(s) {', '.join(map(repr, extra))}; allowed: {', '.join(allowed)} "
                f"(see {schema_path})")
    return f"{where}: {error.message} (see {schema_path})"


def semantic_problem(config: dict) -> str | None:
    """The first config mistake the schema cannot see but that is knowable before any job starts
    (duplicate or unknown models, bad weights files, missing data folders, impossible pair counts,
    transfer runs without runs, out-of-range hyperparameters), as one line; None when there is none.
    Cheap by design: `snakemake -n` runs it on every start."""
    from gkt.complementary.pairs import PairSpec, sample_pairs
    from gkt.data.checks import dataset_problem
    from gkt.transfer.jobs import explicit_jobs, planned_problem
    from gkt.zoo.spec import zoo_problem

    zoo, control = config.get("zoo", []), config.get("control")
    models = [m["name"] for m in zoo]
    if problem := zoo_problem(zoo, control) or dataset_problem(config["dataset"]):
        return problem
    try:
        sample_pairs(models, control, PairSpec.parse(config.get("pairs", "all")))
        transfer = config.get("transfer") or {}
        explicit_jobs(transfer, models)
        planned_problem(transfer, models)
    except GktError as e:
        return str(e)
    return None


def check_workflow_config(config: dict, schema_path: str | Path, fill_defaults) -> None:
    """What the Snakefile runs first: the schema (one line naming the key), then `fill_defaults`
    (snakemake's validate, which sets the schema's defaults), then `semantic_problem`. A problem
    ends the run before any job with `gkt: error: <line>` and exit status 1, nothing written."""
    problem = config_problem(config, schema_path)
    if problem is None:
        fill_defaults(config, str(schema_path))
        problem = semantic_problem(config)
    if problem:
        raise SystemExit(f"gkt: error: {problem}")
