"""The Snakemake workflow on the 3-model micro config, run for real in a temp dir."""
import json

import pyarrow.parquet as pq
import yaml

from gkt.db.read import connect
from gkt.logits.cache import read_logits
from tests.helpers import REPO, snakemake


def test_micro_workflow_runs_and_is_incremental(tmp_path):
    run = snakemake(tmp_path)
    results = tmp_path / "results" / "mnist5k"
    # A quiet terminal (workflow/profiles/default): progress, no job blocks, which Snakemake's log keeps.
    terminal = run.stdout + run.stderr
    assert "steps (100%) done" in terminal and "reason:" not in terminal and "input:" not in terminal
    (log,) = (tmp_path / ".snakemake" / "log").glob("*.snakemake.log")
    assert log.read_text().count("reason:") >= 10
    for model in ("cnn", "vit", "control"):
        assert (results / "zoo" / f"{model}.json").exists()
        cache = read_logits(results / "logits" / "val" / f"{model}.parquet", num_classes=10, rows=1000)
        assert cache.meta["model"] == model and cache.meta["transform"]["input_size"] == [1, 28, 28]
    # Every stage ran: pair statistics, transfer, database, figures.
    pairs = pq.read_table(results / "complementary" / "pairs.parquet").to_pandas()
    assert len(pairs) == 4 and pairs.teacher_is_control.sum() == 2  # cnn<->vit, and the control teaches both
    run = results / "transfer" / "kl_dp" / "cnn__vit"
    metrics = pq.read_table(run / "metrics.parquet").to_pandas()
    assert metrics.epoch.tolist() == [0, 1] and set(metrics.objective) == {"kl_dp"}
    read_logits(run / "logits.parquet", num_classes=10, rows=1000)
    con = connect(results / "gkt.duckdb")
    n_pairs, = con.execute("SELECT count(*) FROM pairs").fetchone()
    final = con.execute("SELECT method, teacher, student, delta_transf FROM transfer_final").fetchall()
    assert n_pairs == 4 and [r[:3] for r in final] == [("kl_dp", "cnn", "vit")]
    # One val pass per model: the control's accuracy is its cache's, not a second pass in its zoo job.
    assert json.loads((results / "zoo" / "control.json").read_text())["top1"] is None
    top1, cached = con.execute("SELECT top1, logits_top1 FROM models WHERE name = 'control'").fetchone()
    assert top1 == cached and 0 <= top1 <= 1
    assert abs(final[0][3] - (metrics.acc.iloc[-1] - metrics.acc.iloc[0])) < 1e-9
    assert (tmp_path / "figures" / "mnist5k" / "index.html").exists()

    again = snakemake(tmp_path, "-n")
    assert "Nothing to be done" in again.stdout + again.stderr

    # Adding a model to the zoo only builds that model's entries.
    cfg = yaml.safe_load((REPO / "workflow/config/micro.yaml").read_text())
    cfg["zoo"].append({"name": "mixer", "arch": "gkt_mixer",
                       "kwargs": {"img_size": 28, "patch_size": 7, "embed_dim": 32, "num_blocks": 1}})
    bigger = tmp_path / "bigger.yaml"
    bigger.write_text(yaml.safe_dump(cfg))
    plan = snakemake(tmp_path, "-n", "--quiet", "rules", config=str(bigger))
    jobs = plan.stdout + plan.stderr
    assert "zoo_model" in jobs and "logits" in jobs
    dry = snakemake(tmp_path, "-n", config=str(bigger)).stdout
    assert "model=mixer" in dry and "model=cnn" not in dry and "model=vit" not in dry
    assert "rule transfer:" not in dry  # the existing run does not depend on the new model


def test_bad_config_key_is_refused_before_any_job(tmp_path):
    cfg = yaml.safe_load((REPO / "workflow/config/micro.yaml").read_text())
    cfg["zooo"] = cfg.pop("zoo")
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(cfg))
    proc = snakemake(tmp_path, "-n", config=str(bad), check=False)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "config: unknown key(s) 'zooo'; allowed: " in out
    assert not (tmp_path / "results").exists()


def test_train_caches_and_the_ranking_only_where_a_stage_reads_them(tmp_path):
    """Without KL+DP runs there is no ranking to fit: no recommend job, and train-split caches only for
    the transfer runs' models (at paper scale each is a pass over the transfer split)."""
    cfg = yaml.safe_load((REPO / "workflow/config/micro.yaml").read_text())
    cfg["transfer"]["runs"] = [{"methods": ["kl"], "students": ["vit"], "teachers": ["cnn"]}]
    path = tmp_path / "kl.yaml"
    path.write_text(yaml.safe_dump(cfg))
    dry = snakemake(tmp_path, "-n", config=str(path)).stdout
    assert "rule recommend:" not in dry and "rule all_pairs:" in dry
    train = {line.split("/")[-1] for line in dry.split() if "logits/train/" in line and line.endswith(".parquet")}
    assert train == {"cnn.parquet", "vit.parquet"}  # not the control's
    with_dp = snakemake(tmp_path, "-n").stdout
    assert "rule recommend:" in with_dp and "logits/train/control.parquet" in with_dp


def test_the_database_and_figures_rules_are_keyed_by_gkt_s_sql(tmp_path):
    """An upgraded gkt whose views or figure queries changed rebuilds the database and the figures: their rules
    carry a digest of the SQL as a param (Snakemake's params trigger), since no input file changes."""
    import shutil

    from gkt.workflow import sql_key

    sql = REPO / "gkt" / "sql"
    root = tmp_path / "sql"
    shutil.copytree(sql, root)
    views, queries = sql_key("views/*.sql", root=root), sql_key("*.sql", "shared/*.sql", root=root)
    assert (views, queries) == (sql_key("views/*.sql"), sql_key("*.sql", "shared/*.sql"))
    (root / "views" / "pairs.sql").write_text((root / "views" / "pairs.sql").read_text() + "\n-- changed\n")
    assert sql_key("views/*.sql", root=root) != views and sql_key("*.sql", "shared/*.sql", root=root) == queries
    (root / "shared" / "transfer_bins.sql").write_text("SELECT 1")
    assert sql_key("*.sql", "shared/*.sql", root=root) != queries
    rules = {name: (REPO / "workflow" / "rules" / f"{name}.smk").read_text() for name in ("db", "figures")}
    assert 'views=sql_key("views/*.sql")' in rules["db"] and 'queries=sql_key("*.sql", "shared/*.sql")' in rules["figures"]
