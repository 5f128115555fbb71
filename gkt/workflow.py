"""Helpers the Snakemake rule files share: they turn the validated config into rule parameters."""
from __future__ import annotations

import json


def as_json(obj) -> str:
    """Config fragment for a command line: sorted, so an unchanged fragment keeps its params hash
    and Snakemake reruns exactly the jobs whose fragment changed."""
    return json.dumps(obj, sort_keys=True)


def model_fragment(config: dict, name: str) -> str:
    """A zoo entry with the config's recipe defaults folded in."""
    spec = next(dict(m) for m in config["zoo"] if m["name"] == name)
    if spec.get("source", "train") == "train":
        spec["recipe"] = {**config.get("train_defaults", {}), **spec.get("recipe", {})}
    return as_json(spec)


def rule_resources(config: dict, rule: str, **defaults) -> dict:
    """Rule defaults (sized for the embedded zoo), overridden by config `resources: {rule: {...}}`."""
    return {**defaults, **config.get("resources", {}).get(rule, {})}


def rule_threads(config: dict, rule: str, default: int = 1) -> int:
    return config.get("threads", {}).get(rule, default)


def transfer_batches(jobs, size: int) -> list[list]:
    """The config's single-teacher transfer jobs in batches of `size` runs (sorted by run folder, so a
    batch keeps its runs while the config does not change); none when `size` is 1."""
    if size <= 1:
        return []
    single = sorted((job for job in jobs if job.mode is None), key=lambda job: job.path)
    return [single[i:i + size] for i in range(0, len(single), size)]

