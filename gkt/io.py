"""Atomic file output: an interrupted run never leaves a half-written result behind."""
from __future__ import annotations

import contextlib
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


def write_parquet(table: pa.Table, path: str | os.PathLike) -> Path:
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
    return Path(path)


def write_json(obj, path: str | os.PathLike) -> Path:
    return write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n", path)


def write_text(text: str, path: str | os.PathLike) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def open_parquet(path: str | os.PathLike, what: str, missing: str, damaged: str) -> pq.ParquetFile:
    """A Parquet file a stage reads, or one GktError naming the file (`what` says which kind) and
    the fix: `missing` when it does not exist, `damaged` when it is no readable Parquet."""
    path = Path(path)
    if not path.exists():
        raise GktError(f"{what} {path} does not exist: {missing}".lstrip())
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as e:
        raise _unreadable(path, what, e, damaged) from None


def read_parquet(path: str | os.PathLike, what: str, missing: str, damaged: str,
                 columns: list[str] | None = None) -> pa.Table:
    """`open_parquet`, then the table (or `columns` of it); a damaged body is the same one error."""
    pf = open_parquet(path, what, missing, damaged)
    try:
        return pf.read(columns=columns)
    except (pa.ArrowInvalid, OSError) as e:
        raise _unreadable(Path(path), what, e, damaged) from None


def _unreadable(path: Path, what: str, error: Exception, damaged: str) -> GktError:
    detail = (str(error).splitlines() or [type(error).__name__])[0]
    return GktError(f"{what} {path} is not a readable Parquet file ({detail}); {damaged}".lstrip())
