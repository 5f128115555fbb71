"""A transfer run's checkpoint (`checkpoint.pt`, saved every epoch) and the fingerprint of what the run
is made from: a checkpoint of other inputs is not resumed, and a run without outputs (a probe) is
recognised as finished by the fingerprint in its metrics.parquet."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from pathlib import Path

import numpy as np
import torch

from gkt.io import atomic_path

log = logging.getLogger(__name__)

# What a checkpoint holds, in its fingerprint: a checkpoint of another format is not resumed.
# 2: DP's routing counts since the last metrics row.
CHECKPOINT_FORMAT = 2
FINGERPRINT_KEY = "fingerprint"  # metrics.parquet metadata of a run without outputs (a probe)


def finished_rows(metrics_path: Path, fingerprint: str, epochs: int) -> list[dict] | None:
    """The metrics rows of a run without outputs that finished all `epochs` from the inputs with
    `fingerprint`, else None."""
    import pyarrow.parquet as pq

    from gkt.io import stamp_problem

    if not metrics_path.exists():
        return None
    pf = pq.ParquetFile(metrics_path)
    meta = pf.schema_arrow.metadata or {}
    if stamp_problem(metrics_path, meta) or meta.get(FINGERPRINT_KEY.encode(), b"").decode() != fingerprint:
        return None
    rows = pf.read().to_pylist()
    return rows if rows and rows[-1]["epoch"] == epochs else None


def _digest(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else a)
        h.update(f"{a.dtype}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def fingerprint(cfg, keys: dict, provenance: dict, samples: list[int], tables: dict, reference) -> dict:
    """What a run is made from, by content: settings, the weights of every participant (in `provenance`,
    with the samples keys of both splits), the sizes of both sets, the targets and the reference
    predictions (and the checkpoint format). A checkpoint made from anything else is not resumed."""
    return {
        "format": CHECKPOINT_FORMAT,
        "settings": json.dumps(dataclasses.asdict(cfg), sort_keys=True, default=str),
        "names": json.dumps(keys, sort_keys=True),
        **provenance,
        "samples": samples,
        "targets": {k: _digest(v) for k, v in sorted(tables.items())},
        "reference": _digest(reference.teacher_preds, reference.student_pred),
    }


def save_checkpoint(path: Path, state: dict) -> None:
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: Path, device: torch.device, fingerprint: dict) -> dict | None:
    """The checkpoint at `path` if it exists, reads and was made from `fingerprint`, else None (with a
    log line saying why a present one is not resumed)."""
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location=device, weights_only=False)
    except Exception as e:  # a damaged checkpoint only costs the run's progress
        log.warning("ignoring unreadable checkpoint %s (%s): starting over", path, e)
        return None
    stored = state.get("fingerprint")
    if stored != fingerprint:
        changed = sorted(k for k in fingerprint if not isinstance(stored, dict) or stored.get(k) != fingerprint[k])
        log.warning("checkpoint %s was made from other inputs (changed: %s): starting over",
                    path, ", ".join(changed) or "format")
        return None
    return state
