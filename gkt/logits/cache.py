"""The logits cache: one Parquet file per (dataset, split, model) with an explicit Arrow schema.

Readers validate everything a later stage relies on (which zoo model and weights made it, schema,
class count, row count, sample order, finite values), so a bad cache fails loudly with its file name
instead of misaligning silently.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from gkt.errors import GktError
from gkt.io import open_parquet, write_parquet

META_KEYS = (
    "model", "architecture", "dataset", "split", "num_classes", "top1", "weights_hash", "transform", "versions",
    "samples",  # DatasetSource.samples_key of the split: which images, in which order
    "eval_size",  # the evaluation convention: timm's test size ("test") or the training size ("train")
    "request",  # gkt.logits.groups.request_key: what the logits job was asked (workflow bookkeeping)
)
BASE_FIELDS = [
    pa.field("sample", pa.int32(), nullable=False),
    pa.field("label", pa.int16(), nullable=False),
    pa.field("pred", pa.int16(), nullable=False),
    pa.field("p_label", pa.float32(), nullable=False),
    pa.field("p_max", pa.float32(), nullable=False),
]
PREDICTION_COLUMNS = [f.name for f in BASE_FIELDS]


def logits_schema(num_classes: int) -> pa.Schema:
    return pa.schema(BASE_FIELDS + [pa.field("logits", pa.list_(pa.float16(), num_classes), nullable=False)])


@dataclass
class LogitsFile:
    sample: np.ndarray
    label: np.ndarray
    pred: np.ndarray
    p_label: np.ndarray
    p_max: np.ndarray
    logits: np.ndarray | None  # float32 [n, C]; None when only predictions were read
    meta: dict

    @property
    def num_classes(self) -> int:
        return int(self.meta["num_classes"])

    @property
    def top1(self) -> float:
        return float((self.pred == self.label).mean())


def versions() -> dict:
    import timm
    import torch

    import gkt

    return {"gkt": gkt.__version__, "timm": timm.__version__, "torch": torch.__version__}


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def write_logits(path: str | Path, logits: np.ndarray, labels: np.ndarray, meta: dict) -> Path:
    """Write float32 logits [n, C] and labels [n] with metadata; atomic (temp file, then rename)."""
    logits = np.asarray(logits, dtype=np.float32)
    labels = np.asarray(labels)
    n, num_classes = logits.shape
    if labels.shape != (n,):
        raise GktError(f"{path}: {len(labels)} labels for {n} rows of logits")
    if not np.isfinite(logits).all():
        raise GktError(f"{path}: the model produced non-finite logits; check its weights and input preprocessing")
    if labels.min(initial=0) < 0 or labels.max(initial=0) >= num_classes:
        raise GktError(f"{path}: labels outside 0..{num_classes - 1}: the model's class count does not fit the dataset")
    probs = softmax(logits)
    pred = logits.argmax(1)
    values = pa.array(logits.astype(np.float16).ravel(), type=pa.float16())
    table = pa.Table.from_arrays(
        [
            pa.array(np.arange(n, dtype=np.int32)),
            pa.array(labels.astype(np.int16)),
            pa.array(pred.astype(np.int16)),
            pa.array(probs[np.arange(n), labels].astype(np.float32)),
            pa.array(probs.max(1).astype(np.float32)),
            pa.FixedSizeListArray.from_arrays(values, num_classes),
        ],
        schema=logits_schema(num_classes),
    )
    full = {**meta, "num_classes": num_classes, "top1": float((pred == labels).mean()), "versions": versions()}
    table = table.replace_schema_metadata({k: json.dumps(v) for k, v in full.items()})
    write_parquet(table, path, stamp=False)
    _stamp(Path(path))  # its logits were checked finite above
    return Path(path)


# Finite logits, checked once per file. The writer checks every value; readers that need only the
# small columns (pair statistics read 301 caches of 50,000 x 1,000 logits: 30 GB at paper scale)
# trust a stamp beside the file that records the size and modification time the check saw. A
# file without a matching stamp (written by another tool, edited, replaced) has its logits column
# streamed once, row group by row group, before it is used.
def _stamp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.finite")


def _identity(path: Path) -> dict:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _stamp(path: Path) -> None:
    try:
        _stamp_path(path).write_text(json.dumps(_identity(path)))
    except OSError:  # a read-only results folder: the next reader checks again
        pass


def _stamped(path: Path) -> bool:
    try:
        return json.loads(_stamp_path(path).read_text()) == _identity(path)
    except (OSError, ValueError):
        return False


def _check_finite_once(path: Path, pf: pq.ParquetFile) -> None:
    if _stamped(path):
        return
    for i in range(pf.metadata.num_row_groups):
        values = pf.read_row_group(i, columns=["logits"]).column("logits").combine_chunks().flatten()
        if not np.isfinite(values.to_numpy(zero_copy_only=False)).all():
            raise GktError(f"logits cache {path} holds non-finite logits (NaN/inf); delete it and rerun the logits stage")
    _stamp(path)


def read_meta(path: str | Path) -> dict | None:
    """A cache's metadata (META_KEYS), or None when the file is missing or unreadable: for deciding
    whether to reuse it, never for reading its contents (read_logits validates those)."""
    try:
        raw = pq.read_schema(path).metadata or {}
        return {k.decode(): json.loads(v) for k, v in raw.items() if k.decode() in META_KEYS}
    except (OSError, ValueError, pa.ArrowException):
        return None


def foreign_cache(logits_dir: str | Path, zoo_dir: str | Path, models: list[str]) -> str | None:
    """`owner_problem` of the first cache `<logits_dir>/<split>/<model>.parquet` of `models` that is not
    older than its model's zoo record, None when there is none. Snakemake reruns a logits job only
    when its cache is older than the record (or its rule changed), so a cache copied over another
    model's (`cp -p`, a restore from a backup) would otherwise be used as it is. Footers and records
    only: the workflow runs this at every start."""
    from gkt.zoo.record import ModelRecord, record_path

    for model in models:
        try:
            record_file = record_path(zoo_dir, model)
            record, record_mtime = ModelRecord(**json.loads(record_file.read_text())), record_file.stat().st_mtime
        except (OSError, ValueError, TypeError):
            continue  # no zoo record yet, or a damaged one: the zoo job and its readers report that
        for split in ("val", "train"):
            path = Path(logits_dir) / split / f"{model}.parquet"
            try:
                if path.stat().st_mtime < record_mtime:
                    continue  # older than its record: the logits job reruns and replaces it
            except OSError:
                continue
            meta = read_meta(path)
            if meta is not None and (problem := owner_problem(path, meta, record)):
                return problem
    return None


def move_cache(src: str | Path, dst: str | Path) -> Path:
    """Move a cache written by `write_logits` (e.g. staged by a logits group job) to `dst`, atomically,
    with its finite-logits stamp; `dst` gets the current time, as a file written now would."""
    src, dst = Path(src), Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    os.replace(src, dst)
    os.utime(dst)
    _stamp(dst)
    _stamp_path(src).unlink(missing_ok=True)
    return dst


def _schema_problem(schema: pa.Schema, num_classes: int) -> str | None:
    """What differs from the cache schema, in one line (None when it matches)."""
    expected = logits_schema(num_classes)
    if schema.names != expected.names:
        return f"columns {schema.names} instead of {expected.names}"
    for field in BASE_FIELDS:
        if schema.field(field.name).type != field.type:
            return f"column {field.name} is {schema.field(field.name).type}, expected {field.type}"
    logits = schema.field("logits").type
    if not (pa.types.is_fixed_size_list(logits) and logits.value_type == pa.float16()):
        return f"column logits is {logits}, expected fixed-size list of float16"
    if logits.list_size != num_classes:
        return f"logits hold {logits.list_size} classes but the metadata says {num_classes}"
    return None


def owner_problem(path: str | Path, meta: dict, record) -> str | None:
    """Whether the cache with metadata `meta` was made by zoo model `record` (anything with `name` and
    `weights_hash`, e.g. a ModelRecord): None if so, else the one line that says it was not. A cache
    copied over another model's keeps its times, so only its own metadata tells."""
    model, weights = meta.get("model"), meta.get("weights_hash")
    if model == record.name and weights == record.weights_hash:
        return None
    made_by = f"model {model!r}" if model != record.name else "other weights"
    return (f"logits cache {path} was made by {made_by} (weights {weights}), not by zoo model {record.name!r} "
            f"(weights {record.weights_hash}): delete it and rerun (snakemake {path})")


def _open(path: Path) -> tuple[pq.ParquetFile, dict]:
    pf = open_parquet(path, "logits cache", missing=f"run the logits stage for it (snakemake {path})",
                      damaged="delete it and rerun the logits stage", stamped=False)
    raw = pf.schema_arrow.metadata or {}
    meta = {k.decode(): json.loads(v) for k, v in raw.items() if k.decode() in META_KEYS}
    missing = [k for k in ("model", "num_classes", "split", "dataset") if k not in meta]
    if missing:
        raise GktError(f"logits cache {path} lacks metadata {missing}: it was not written by gkt; rerun the logits stage")
    problem = _schema_problem(pf.schema_arrow, int(meta["num_classes"]))
    if problem:
        raise GktError(f"logits cache {path}: {problem}; it was written by another tool or version, rerun the logits stage")
    return pf, meta


def read_logits(
    path: str | Path, with_logits: bool = True, num_classes: int | None = None, rows: int | None = None,
    samples: str | None = None, record=None,
) -> LogitsFile:
    """Read and validate a cache; `num_classes`/`rows`/`samples` (the split's samples key), when
    given, must match too. `record`: the zoo model it is read for (gkt.zoo.record.ModelRecord), which
    must have made it (`owner_problem`); every pipeline stage passes it. The checks before the data
    read the file's footer only."""
    path = Path(path)
    pf, meta = _open(path)
    if record is not None and (problem := owner_problem(path, meta, record)):
        raise GktError(problem)
    if samples is not None and meta.get("samples") != samples:
        raise GktError(
            f"logits cache {path} was made from other samples of {meta['dataset']}/{meta['split']} than the "
            f"configured data set (a changed dataset seed, subset or folder?): delete it and rerun the logits stage"
        )
    if num_classes is not None and int(meta["num_classes"]) != num_classes:
        raise GktError(
            f"logits cache {path} has {meta['num_classes']} classes, expected {num_classes}: "
            f"the model and dataset disagree; rebuild the cache for this dataset"
        )
    if rows is not None and pf.metadata.num_rows != rows:
        raise GktError(
            f"logits cache {path} has {pf.metadata.num_rows} rows, expected {rows} (the {meta['split']} split's size); "
            f"rerun the logits stage"
        )
    columns = PREDICTION_COLUMNS + (["logits"] if with_logits else [])
    try:
        table = pf.read(columns=columns)
    except (pa.ArrowInvalid, OSError) as e:
        raise GktError(f"logits cache {path} is damaged ({e}); delete it and rerun the logits stage") from None
    cols = {c: table.column(c).to_numpy() for c in PREDICTION_COLUMNS}
    n = table.num_rows
    if n == 0:
        raise GktError(f"logits cache {path} has no rows; rerun the logits stage")
    if not np.array_equal(cols["sample"], np.arange(n, dtype=np.int32)):
        raise GktError(f"logits cache {path}: samples are not in order 0..{n - 1}; rerun the logits stage")
    logits = None
    if with_logits:
        flat = table.column("logits").combine_chunks().flatten().to_numpy(zero_copy_only=False)
        logits = flat.astype(np.float32).reshape(n, int(meta["num_classes"]))
        if not np.isfinite(logits).all():
            raise GktError(f"logits cache {path} holds non-finite logits (NaN/inf); delete it and rerun the logits stage")
        _stamp(path)
    else:
        if not (np.isfinite(cols["p_label"]).all() and np.isfinite(cols["p_max"]).all()):
            raise GktError(f"logits cache {path} holds non-finite probabilities (NaN/inf); delete it and rerun the "
                           f"logits stage")
        _check_finite_once(path, pf)
    return LogitsFile(logits=logits, meta=meta, **cols)


def read_predictions(path: str | Path, **expect) -> LogitsFile:
    """Only the small columns (sample, label, pred, p_label, p_max): what pair statistics need."""
    return read_logits(path, with_logits=False, **expect)
