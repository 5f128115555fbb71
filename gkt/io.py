"""Atomic file output: an interrupted run never leaves a half-written result behind; and Parquet
results that carry a content stamp, so a file changed after gkt wrote it is refused by every reader."""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from gkt.errors import GktError


@contextlib.contextmanager
def atomic_path(final: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `final`; rename it onto `final` only if the block succeeds.

    The temp file lives in the same directory so the rename is atomic on POSIX file systems.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        try:
            yield tmp
        except OSError as e:
            if e.errno is None or e.filename:
                raise
            # Writers such as pyarrow's name no file ("Error writing bytes to file ... [errno 28]"): the one
            # being written is this one.
            raise OSError(e.errno, os.strerror(e.errno), str(final)) from e
        # mkstemp creates 0600, and some writers replace the file with one of their own (safetensors
        # does): results are shared files, so the file that lands gets the mode the umask allows.
        tmp.chmod(0o666 & ~_umask())
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


def _umask() -> int:
    umask = os.umask(0)  # reading it means setting it
    os.umask(umask)
    return umask


# Footer key holding the SHA-256 of the file's data pages (everything before the footer). The footer is
# written after the pages and only its key-value metadata differs between two writes of one table, so
# the digest of a first write is the digest of the stamped one; a file rewritten by any other tool
# (DuckDB's COPY, polars, pandas) lacks the key or no longer matches it.
STAMP_KEY = b"gkt.content_sha256"


def _pages_digest(data: bytes | memoryview) -> str:
    footer = int.from_bytes(data[-8:-4], "little")
    return hashlib.sha256(data[: len(data) - 8 - footer]).hexdigest()


def write_parquet(table: pa.Table, path: str | os.PathLike, stamp: bool = True) -> Path:
    """Write `table` atomically; with `stamp`, its data pages' digest goes into the footer (STAMP_KEY).
    Logits caches go unstamped: they are checked against the zoo record that made them instead, which
    costs no pass over their bytes at ImageNet scale."""
    if stamp:
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        digest = _pages_digest(memoryview(sink.getvalue()))
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), STAMP_KEY: digest})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
        if stamp and _pages_digest(tmp.read_bytes()) != digest:
            raise RuntimeError(f"pyarrow wrote other data pages for {path} the second time; the stamp cannot hold")
    return Path(path)


def stamp_problem(path: str | os.PathLike, metadata: dict | None) -> str | None:
    """None when the Parquet file at `path` (whose schema metadata is `metadata`) is as gkt wrote it,
    else what is wrong with it, as words after its path."""
    expected = (metadata or {}).get(STAMP_KEY)
    if expected is None:
        return "was not written by gkt (it has no content stamp): it was rewritten by another tool"
    if _pages_digest(Path(path).read_bytes()) != expected.decode():
        return "was changed after gkt wrote it (its content no longer matches its stamp)"
    return None


def write_json(obj, path: str | os.PathLike) -> Path:
    return write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n", path)


def write_text(text: str, path: str | os.PathLike) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def open_parquet(path: str | os.PathLike, what: str, missing: str, damaged: str,
                 stamped: bool = True) -> pq.ParquetFile:
    """A Parquet file a stage reads, or one GktError naming the file (`what` says which kind) and
    the fix: `missing` when it does not exist, `damaged` when it is no readable Parquet or, for a
    `stamped` one (everything gkt writes but logits caches), no longer what gkt wrote."""
    path = Path(path)
    if not path.exists():
        raise GktError(f"{what} {path} does not exist: {missing}".lstrip())
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as e:
        raise _unreadable(path, what, e, damaged) from None
    problem = stamped and stamp_problem(path, pf.schema_arrow.metadata)
    if problem:
        raise GktError(f"{what} {path} {problem}; {damaged}".lstrip())
    return pf


def read_parquet(path: str | os.PathLike, what: str, missing: str, damaged: str,
                 columns: list[str] | None = None) -> pa.Table:
    """`open_parquet` (stamped), then the table (or `columns` of it); a damaged body is the same one error."""
    pf = open_parquet(path, what, missing, damaged)
    try:
        return pf.read(columns=columns)
    except (pa.ArrowInvalid, OSError) as e:
        raise _unreadable(Path(path), what, e, damaged) from None


def _unreadable(path: Path, what: str, error: Exception, damaged: str) -> GktError:
    detail = (str(error).splitlines() or [type(error).__name__])[0]
    return GktError(f"{what} {path} is not a readable Parquet file ({detail}); {damaged}".lstrip())
