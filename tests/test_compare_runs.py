"""scripts/compare_runs.py, the bit-identity check between two runs, on results written by the real writers."""
import shutil
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq

from tests.helpers import REPO


def _compare(a, b):
    return subprocess.run([sys.executable, str(REPO / "scripts/compare_runs.py"), str(a), str(b)],
                          capture_output=True, text=True)


def test_identical_runs_pass_and_a_changed_value_fails(results_dir, tmp_path):
    a, b = tmp_path / "a" / "results" / "toyset", tmp_path / "b" / "results" / "toyset"
    shutil.copytree(results_dir, a)
    shutil.copytree(results_dir, b)
    same = _compare(a.parents[1], b.parents[1])
    assert same.returncode == 0 and "0 difference(s)" in same.stdout, same.stdout
    pairs = b / "complementary" / "pairs.parquet"
    table = pq.read_table(pairs)
    rho = table.column("rho_pos").to_numpy().copy()
    rho[0] += 1e-12
    pq.write_table(table.set_column(table.column_names.index("rho_pos"), "rho_pos", pa.array(rho)), pairs)
    (b / "zoo" / "extra.json").write_text("{}")
    diff = _compare(a.parents[1], b.parents[1])
    assert diff.returncode == 1, diff.stdout
    assert "pairs.parquet: column 'rho_pos' differs" in diff.stdout and "only in" in diff.stdout
