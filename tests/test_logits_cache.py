import json
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gkt.errors import GktError
from gkt.io import atomic_path
from gkt.logits.cache import logits_schema, read_logits, read_predictions, write_logits

META = dict(model="m", architecture="resnet10t", dataset="mnist5k", split="val", weights_hash="abc", transform={})


def random_logits(n=50, c=10, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, c)).astype(np.float32) * 3, rng.integers(0, c, size=n)


def test_schema_metadata_and_values_round_trip(tmp_path):
    logits, labels = random_logits()
    path = write_logits(tmp_path / "m.parquet", logits, labels, META)
    schema = pq.read_schema(path)
    assert schema.remove_metadata().equals(logits_schema(10))
    assert schema.field("logits").type == pa.list_(pa.float16(), 10)
    meta = {k.decode(): json.loads(v) for k, v in schema.metadata.items()}
    assert meta["model"] == "m" and meta["num_classes"] == 10 and meta["split"] == "val"
    assert set(meta["versions"]) == {"gkt", "timm", "torch"}
    got = read_logits(path)
    np.testing.assert_allclose(got.logits, logits, rtol=1e-3, atol=1e-3)  # float16 storage
    assert np.array_equal(got.pred, logits.argmax(1)) and np.array_equal(got.label, labels)
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    np.testing.assert_allclose(got.p_label, p[np.arange(50), labels], rtol=1e-6)
    np.testing.assert_allclose(got.p_max, p.max(1), rtol=1e-6)
    assert got.top1 == pytest.approx(meta["top1"])
    small = read_predictions(path)
    assert small.logits is None and np.array_equal(small.pred, got.pred)


def test_an_exception_mid_write_leaves_nothing(tmp_path):
    final = tmp_path / "m.parquet"
    with pytest.raises(RuntimeError):
        with atomic_path(final) as tmp:
            tmp.write_bytes(b"PAR1 half")
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_a_killed_write_leaves_no_cache_file(tmp_path):
    final = tmp_path / "m.parquet"
    code = f"""
import os, signal
from gkt.io import atomic_path
with atomic_path({str(final)!r}) as tmp:
    tmp.write_bytes(b"PAR1 half-written")
    os.kill(os.getpid(), signal.SIGKILL)
"""
    proc = subprocess.run([sys.executable, "-c", code])
    assert proc.returncode == -9
    assert not final.exists()
    with pytest.raises(GktError, match="does not exist: run the logits stage"):
        read_logits(final)


def test_truncated_parquet_is_one_clear_error(tmp_path):
    logits, labels = random_logits()
    path = write_logits(tmp_path / "m.parquet", logits, labels, META)
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(GktError, match=r"m.parquet is not a readable Parquet file .*rerun the logits stage"):
        read_logits(path)


def test_nan_logits_are_refused_on_write_and_on_read(tmp_path):
    logits, labels = random_logits()
    logits[3, 2] = np.nan
    with pytest.raises(GktError, match="non-finite logits"):
        write_logits(tmp_path / "w.parquet", logits, labels, META)
    assert not (tmp_path / "w.parquet").exists()
    # A cache damaged some other way: valid schema, NaN inside.
    good, _ = random_logits()
    path = write_logits(tmp_path / "m.parquet", good, labels, META)
    table = pq.read_table(path)
    values = good.astype(np.float16).ravel()
    values[7] = np.nan
    table = table.set_column(5, "logits", pa.FixedSizeListArray.from_arrays(pa.array(values), 10))
    pq.write_table(table, path)
    with pytest.raises(GktError, match="non-finite logits"):
        read_logits(path)


def test_class_and_row_count_checks(tmp_path):
    logits, labels = random_logits()
    path = write_logits(tmp_path / "m.parquet", logits, labels, META)
    with pytest.raises(GktError, match="has 10 classes, expected 1000"):
        read_predictions(path, num_classes=1000)
    with pytest.raises(GktError, match="has 50 rows, expected 1000"):
        read_predictions(path, rows=1000)
    with pytest.raises(GktError, match="labels outside 0..9"):
        write_logits(tmp_path / "x.parquet", logits, labels + 5, META)


def test_sample_order_is_checked(tmp_path):
    logits, labels = random_logits()
    path = write_logits(tmp_path / "m.parquet", logits, labels, META)
    table = pq.read_table(path)
    shuffled = table.take(pa.array(np.r_[1, 0, np.arange(2, 50)]))
    pq.write_table(shuffled, path)
    with pytest.raises(GktError, match="samples are not in order"):
        read_predictions(path)
