"""Which ordered (teacher, student) pairs the complementary-knowledge study measures.

Config key `pairs`: `all` (every ordered pair of distinct zoo models) or `{n, seed}` (n pairs drawn
without replacement). The random-init control is never drawn; it is added as teacher of every
student that the drawn pairs contain, so each student has its chance-level reference.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import yaml

from gkt.complementary.schemas import PAIR_LIST_SCHEMA
from gkt.errors import GktError
from gkt.io import read_parquet, write_parquet


@dataclass(frozen=True)
class PairSpec:
    n: int | None  # None: all ordered pairs
    seed: int = 0

    @classmethod
    def parse(cls, value) -> "PairSpec":
        """From the config value: "all", {"n": ..., "seed": ...}, or either written as JSON/YAML text."""
        if isinstance(value, str):
            try:
                value = yaml.safe_load(value)  # YAML is a superset of JSON; a bare `all` stays "all"
            except yaml.YAMLError:
                pass  # fails below, quoting the text
        if value == "all":
            return cls(n=None)
        if isinstance(value, dict) and set(value) <= {"n", "seed"} and "n" in value:
            n, seed = value["n"], value.get("seed", 0)
            if isinstance(n, int) and isinstance(seed, int) and not isinstance(n, bool) and n >= 1:
                return cls(n=n, seed=seed)
        raise GktError(
            f"bad pair specification {value!r} (config key pairs): use `all` or a mapping like {{n: 466, seed: 0}} "
            f"with integer n >= 1 and integer seed"
        )

    def to_config(self):
        return "all" if self.n is None else {"n": self.n, "seed": self.seed}


def sample_pairs(models: list[str], control: str | None, spec: PairSpec) -> list[tuple[str, str]]:
    """Ordered (teacher, student) pairs without self-pairs; the same list for the same models and seed.

    Models are sorted first, so the draw does not depend on the order the config lists them in.
    """
    duplicates = sorted({m for m in models if models.count(m) > 1})
    if duplicates:
        raise GktError(f"model names {duplicates} appear more than once (zoo): give every zoo model a unique name")
    if control is not None and control not in models:
        raise GktError(f"control model {control!r} is not in the zoo: add it under zoo: or fix the control name")
    students = sorted(m for m in models if m != control)
    if len(students) < 2:
        raise GktError(
            f"the zoo has {len(students)} model(s) besides the control; pairs need at least two: add models under zoo:"
        )
    candidates = [(t, s) for t in students for s in students if t != s]
    if spec.n is None:
        chosen = candidates
    else:
        if spec.n > len(candidates):
            raise GktError(
                f"pairs.n = {spec.n} but the zoo's {len(students)} models"
                + (f" besides the control {control!r}" if control else "")
                + f" give only {len(candidates)} ordered pairs (config key pairs): lower n or use `all`"
            )
        picked = np.random.default_rng(spec.seed).choice(len(candidates), size=spec.n, replace=False)
        chosen = [candidates[i] for i in np.sort(picked)]
    if control is None:
        return chosen
    return chosen + [(control, s) for s in sorted({s for _, s in chosen})]


def write_pair_list(pairs: list[tuple[str, str]], control: str | None, spec: PairSpec, path: str | Path) -> Path:
    teachers, students = zip(*pairs)
    table = pa.Table.from_pydict({"teacher": list(teachers), "student": list(students)}, schema=PAIR_LIST_SCHEMA)
    # The control's name travels with the list so `gkt complementary` can flag its rows.
    meta = {"control": json.dumps(control), "pairs": json.dumps(spec.to_config())}
    return write_parquet(table.replace_schema_metadata(meta), path)


def read_pair_list(path: str | Path) -> tuple[list[tuple[str, str]], str | None]:
    """The pairs and the control model's name (None when the list names none)."""
    table = read_parquet(path, "pair list", missing=f"write it with `gkt pairs --out {path} ...`",
                         damaged="rewrite it with `gkt pairs`")
    if not {"teacher", "student"} <= set(table.column_names) or table.num_rows == 0:
        raise GktError(f"pair list {path} needs rows with columns teacher, student: rewrite it with `gkt pairs`")
    pairs = list(zip(table.column("teacher").to_pylist(), table.column("student").to_pylist()))
    selfs = [t for t, s in pairs if t == s]
    if selfs:
        raise GktError(f"pair list {path} pairs model {selfs[0]!r} with itself: remove self-pairs")
    meta = table.schema.metadata or {}
    control = json.loads(meta[b"control"]) if b"control" in meta else None
    return pairs, control
