"""The workflow config's checks, run by the Snakefile before any job (`snakemake -n` included): the
schema (one line naming the key), then what the schema cannot see (unknown models, impossible pair
counts, out-of-range hyperparameters, results that no rerun trigger would replace), the studies of
other data sets beside it, and nested `--config` values typed as the schema says. It sits above every
stage, whose config sections it checks; the stages' commands never import it."""
from __future__ import annotations

import contextlib
import functools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from gkt.args import yaml_problem
from gkt.errors import GktError
from gkt.zoo.spec import resolve_bases, same_folder


# Config keys that were renamed: (section, list, old key) -> new key. A config with the old key fails
# with a line naming the new one instead of the schema's "unknown key".
RENAMED_KEYS = {("transfer", "multi", "objective"): "method"}


def renamed_key_problem(config: dict) -> str | None:
    for (section, entries, old), new in RENAMED_KEYS.items():
        for i, entry in enumerate((config.get(section) or {}).get(entries) or []):
            if isinstance(entry, dict) and old in entry:
                return (f"{section}.{entries}[{i}].{old} is now called {new} (the transfer method the teachers are "
                        f"combined with): rename the key to {new}")
    return None


def config_problem(config: dict, schema_path: str | Path) -> str | None:
    """The most relevant schema violation of a workflow config, as one line (None when valid).

    `snakemake.utils.validate` reports the same violations, but with the whole schema dumped; this
    names the key and what is allowed there, which is what a user needs to fix it. A renamed key
    (RENAMED_KEYS) is named with its new name first.
    """
    import jsonschema

    if problem := renamed_key_problem(config):
        return problem

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


def results_name(config: dict) -> str:
    """A config's results and figures folders are results/<name> and figures/<name>: its `name`, else its
    data set's."""
    return config.get("name", config["dataset"]["name"])


def zoo_dir(config: dict) -> str:
    """Where a config's zoo lives, as the workflow writes it (relative to the working directory)."""
    return f"results/{results_name(config)}/zoo"


def semantic_problem(config: dict) -> str | None:
    """The first config mistake the schema cannot see but that is knowable before any job starts
    (duplicate or unknown models, bad weights files, missing data folders, impossible pair counts,
    transfer runs without runs, out-of-range hyperparameters), as one line; None when there is none.
    Cheap by design: `snakemake -n` runs it on every start."""
    from gkt.complementary.pairs import PairSpec, sample_pairs
    from gkt.data.checks import dataset_problem
    from gkt.recommend.jobs import improve_jobs, probe_spec
    from gkt.transfer.jobs import explicit_jobs, planned_problem
    from gkt.zoo.spec import zoo_problem

    zoo, control = config.get("zoo", []), config.get("control")
    models = [m["name"] for m in zoo]
    if problem := zoo_problem(zoo, control, zoo_dir(config)) or dataset_problem(config["dataset"]):
        return problem
    try:
        sample_pairs(models, control, PairSpec.parse(config.get("pairs", "all")))
        transfer = config.get("transfer") or {}
        explicit_jobs(transfer, models)
        planned_problem(transfer, models)
        improve_jobs(config)
        probe_spec(config)
    except GktError as e:
        return str(e)
    return None


@dataclass(frozen=True)
class Study:
    """A config that the workflow runs beside its own (`studies:`, included as a Snakemake module), with
    its rules renamed `<prefix>*`: another data set's study (paper Supp. B.4) whose transfer runs join
    this config's database (`gkt db --extra-results`, Fig. 9)."""

    path: Path
    config: dict

    @property
    def name(self) -> str:
        return results_name(self.config)

    @property
    def results(self) -> str:
        return f"results/{self.name}"

    @property
    def prefix(self) -> str:
        return re.sub(r"\W", "_", self.name) + "_"


def study_path(entry: str, workflow_dir: str | Path) -> Path:
    """A `studies:` entry: a path as given (relative to the working directory), else relative to the
    workflow's folder (where the Snakefile is), so that `--directory` runs find the shipped configs."""
    given = Path(entry)
    if given.is_absolute() or given.exists():
        return given
    return Path(workflow_dir) / given


def load_studies(config: dict, schema_path: str | Path, workflow_dir: str | Path, fill_defaults) -> list[Study]:
    """The configs of `studies:`, each checked like a workflow config (schema, defaults, semantic checks),
    with one line naming the study on any problem; plus what only the configs together show: distinct
    results folders, and fine-tuned models whose base zoo is one of theirs naming a model of it. Then
    every fine-tuned entry of all of them gets its base's architecture (gkt.zoo.spec.resolve_bases, in
    place), so that every later reader of the zoo entries knows it when the workflow is parsed."""
    studies, names = [], {results_name(config): "this config"}
    for i, entry in enumerate(config.get("studies", [])):
        path = study_path(entry, workflow_dir)
        where = f"studies[{i}] ({entry})"
        if not path.is_file():
            raise GktError(f"{where} does not exist (nor in {workflow_dir}): fix the path")
        try:
            study = yaml.safe_load(path.read_text())
        except yaml.YAMLError as e:
            raise GktError(yaml_problem(e, f"{where}, {path}")) from None
        if not isinstance(study, dict):
            raise GktError(f"{where} is not a workflow config (a YAML mapping with dataset: and zoo:)")
        if problem := workflow_config_problem(study, schema_path, fill_defaults):
            raise GktError(f"{where}: {problem}")
        if study.get("studies"):
            raise GktError(f"{where} lists studies of its own: list every study in the main config instead")
        name = results_name(study)
        if name in names:
            raise GktError(f"{where} writes results/{name}, as {names[name]} does: give it another name: (or dataset.name)")
        names[name] = where
        studies.append(Study(path, study))
    zoos = {zoo_dir(c): c for c in [config] + [s.config for s in studies]}
    for c in zoos.values():
        for entry in c["zoo"]:
            base = entry.get("base") or {}
            known = next((z for folder, z in zoos.items() if base and same_folder(base["zoo"], folder)), None)
            if known is not None and base["model"] not in [m["name"] for m in known["zoo"]]:
                raise GktError(f"zoo model {entry['name']!r} of results/{results_name(c)}: its base {base['model']!r} is "
                               f"not in the zoo of results/{results_name(known)}: fix base.model or add it there")
    resolve_bases({folder: c["zoo"] for folder, c in zoos.items()})
    return studies


def results_problem(config: dict) -> str | None:
    """What the config's results folder holds that no rerun trigger would replace although it is not
    what the config makes: a logits cache made by another model or other weights than its zoo record
    (gkt.logits.cache.foreign_cache), or multi-teacher runs of the layout before their folders named the
    method (their runs would count twice beside the current folders'). One line, or None."""
    from gkt.logits.cache import foreign_cache
    from gkt.transfer.vocabulary import MODE_SEP, MULTI_PREFIX, legacy_multi_folders

    results = f"results/{results_name(config)}"
    if legacy := legacy_multi_folders(f"{results}/transfer"):
        return (f"{', '.join(legacy)} hold(s) multi-teacher runs of an earlier layout (no method in the folder "
                f"name), which gkt no longer reads: delete them; the workflow reruns configured runs in "
                f"{MULTI_PREFIX}<mode>{MODE_SEP}<method>/")
    return foreign_cache(f"{results}/logits", zoo_dir(config), [m["name"] for m in config["zoo"]])


def workflow_config_problem(config: dict, schema_path: str | Path, fill_defaults) -> str | None:
    """The schema (one line naming the key), then `fill_defaults` (snakemake's validate, which sets the
    schema's defaults), then `semantic_problem`, then `results_problem`: the first problem of a workflow
    config, or None."""
    problem = config_problem(config, schema_path)
    if problem is None:
        fill_defaults(config, str(schema_path))
        problem = semantic_problem(config) or results_problem(config)
    return problem


# JSON-schema types of YAML scalars (bool before int: a bool is an int in Python).
SCALAR_TYPES = (("boolean", bool), ("integer", int), ("number", (int, float)), ("null", type(None)))


def typed(value, schema: dict, root: dict):
    """`value` with the strings typed as the schema says where a string is not allowed: `snakemake --config
    'logits={"batch_size": 100}'` reads nested values with YAML's BaseLoader, as strings ('100')."""
    while "$ref" in schema:  # "#/$defs/<name>", the only references the schema makes
        schema = root["$defs"][schema["$ref"].rsplit("/", 1)[-1]]
    branches = [schema, *schema.get("oneOf", []), *schema.get("anyOf", [])]
    if isinstance(value, str):
        types = {t for b in branches for t in ([b["type"]] if isinstance(b.get("type"), str) else b.get("type", []))}
        if types and "string" not in types:
            parsed = yaml.safe_load(value) if value.strip() else value
            if isinstance(parsed, str) and "number" in types:  # YAML 1.1 reads 1e-3 (no dot) as a string
                with contextlib.suppress(ValueError):
                    parsed = float(value)
            if any(name in types and isinstance(parsed, kind) and not (kind is int and isinstance(parsed, bool))
                   for name, kind in SCALAR_TYPES):
                return parsed
        return value
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            for b in branches:
                if key in b.get("properties", {}):
                    item = typed(item, b["properties"][key], root)
                elif isinstance(b.get("additionalProperties"), dict):
                    item = typed(item, b["additionalProperties"], root)
            out[key] = item
        return out
    if isinstance(value, list):
        items = [b["items"] for b in branches if isinstance(b.get("items"), dict)]
        return [functools.reduce(lambda v, s: typed(v, s, root), items, item) for item in value]
    return value


def check_workflow_config(config: dict, schema_path: str | Path, fill_defaults) -> None:
    """What the Snakefile runs first: the values typed as the schema says (`typed`, in place), then
    `workflow_config_problem`. A problem ends the run before any job with `gkt: error: <line>` and exit
    status 1, nothing written."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    config.update(typed(dict(config), schema, schema))
    if problem := workflow_config_problem(config, schema_path, fill_defaults):
        raise SystemExit(f"gkt: error: {problem}")


def check_studies(config: dict, schema_path: str | Path, workflow_dir: str | Path, fill_defaults) -> list[Study]:
    """`load_studies` for the Snakefile: a problem ends the run before any job, like check_workflow_config."""
    try:
        return load_studies(config, schema_path, workflow_dir, fill_defaults)
    except GktError as e:
        raise SystemExit(f"gkt: error: {e}") from None
