"""The config's `recommend:` section (no torch: Snakemake imports this at parse time).

    recommend:
      improve:                      # sequential KL+DP from a student's top-K ranked teachers
        - {student: vit_a, teachers: 3}

Each entry is one `gkt improve` job, results in recommend/improve/<student>__top<K>/.
"""
from __future__ import annotations

from gkt.errors import GktError


def improve_jobs(config: dict) -> list[tuple[str, int]]:
    """(student, K) of every `recommend.improve` entry, checked against the zoo before any job starts."""
    zoo = config.get("zoo", [])
    candidates = [m["name"] for m in zoo if m.get("source", "train") != "random"]
    jobs = []
    for i, entry in enumerate((config.get("recommend") or {}).get("improve") or []):
        where = f"recommend.improve[{i}]"
        student, k = entry["student"], int(entry["teachers"])
        if student not in candidates:
            raise GktError(f"{where}.student = {student!r} is not a trained zoo model: choose one of "
                           f"{', '.join(candidates)}")
        others = len(candidates) - 1  # controls are never picked
        if others < 2:
            raise GktError(f"{where}: the zoo has {others} trained model(s) besides {student!r}, sequential transfer "
                           f"needs 2 or more teachers: add models to the zoo or drop the entry")
        if not 2 <= k <= others:
            raise GktError(f"{where}.teachers = {k}: give 2 to {others} (the zoo's other trained models)")
        if (student, k) not in jobs:
            jobs.append((student, k))
    return jobs
