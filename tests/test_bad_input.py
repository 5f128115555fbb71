"""Bad input and reused state: every config mistake knowable before work starts fails `snakemake -n`
with one line; a failing job's line reaches the terminal; state made from other inputs is never
reused. Real files, real runs."""
from __future__ import annotations

import contextlib
import copy
import json
import os
import shutil
import stat
import subprocess

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
import yaml

from gkt.workflow.config import semantic_problem
from gkt.errors import GktError
from gkt.logits.cache import read_logits, read_predictions, write_logits
from tests.helpers import REPO, snakemake

MICRO = yaml.safe_load((REPO / "workflow/config/micro.yaml").read_text())


def micro(change) -> dict:
    cfg = copy.deepcopy(MICRO)
    change(cfg)
    return cfg


def _file_model(path):
    return {"name": "filem", "arch": "resnet10t", "source": "file", "file": str(path)}


CASES = {
    "unknown timm architecture": (lambda c: c["zoo"][0].update(arch="resnet_nope"),
                                  "zoo[0] (cnn): unknown timm architecture 'resnet_nope'"),
    "duplicate model name": (lambda c: c["zoo"].append(dict(c["zoo"][0])),
                             "model name(s) ['cnn'] appear more than once"),
    "negative temperature": (lambda c: c["transfer"]["hparams"].update(kl_dp={"temperature": -1}),
                             "transfer.hparams.kl_dp.temperature = -1 must be > 0"),
    "misspelt loss key": (lambda c: c["transfer"]["hparams"].update(kl_dp={"temprature": 2}),
                          "['temprature'] are not hyperparameters of 'kl_dp'"),
    "MCL tau out of range": (lambda c: (c["transfer"]["hparams"].update(xekl_mcl={"tau": 1.5}),
                                        c["transfer"]["runs"][0].update(methods=["xekl_mcl"])),
                             "transfer.hparams.xekl_mcl.tau = 1.5 must be in (0, 1)"),
    "augmentation with cached targets": (lambda c: c["transfer"]["defaults"].update(augmentation="light"),
                                         "transfer.defaults.augmentation = 'light' changes the teachers' targets"),
    "unknown data set type": (lambda c: c["dataset"].update(type="cifar"),
                              "unknown dataset 'cifar' (config key dataset.type): use one of digits, imagefolder, "
                              "imagenet, mnist5k"),
    "too many pairs": (lambda c: c.update(pairs={"n": 1000}),
                       "the zoo's 2 models besides the control 'control' give only 2 ordered pairs"),
    "teacher is the student": (lambda c: c["transfer"]["runs"].__setitem__(
        0, {"methods": ["kl_dp"], "students": ["vit"], "teachers": ["vit"]}), "a model never teaches itself"),
    "unknown method": (lambda c: c["transfer"]["runs"][0].update(methods=["kl_nope"]),
                       "unknown transfer method 'kl_nope'"),
    "student not in zoo": (lambda c: c["transfer"]["runs"][0].update(students=["ghost"]),
                           "names models ['ghost'] that are not in the zoo"),
    "control not in zoo": (lambda c: c.update(control="nobody"), "control: model 'nobody' is not in the zoo"),
    "probe of a model not in the zoo": (lambda c: c.update(recommend={"probe": {"students": ["ghost"]}}),
                                        "recommend.probe.students: 'ghost' is not a trained zoo model"),
    "missing weights file": (lambda c: c["zoo"].append(_file_model("/nonexistent/w.safetensors")),
                             "weights file /nonexistent/w.safetensors does not exist"),
    "multi-teacher run with one teacher besides the student": (
        lambda c: c["transfer"].update(multi=[{"modes": ["sequential"], "method": "kl_dp", "students": ["vit"],
                                               "teachers": ["cnn", "vit"]}]),
        "two or more distinct teachers besides the student"),
}


def test_a_renamed_key_names_its_new_name_at_dry_run():
    from gkt.workflow.config import config_problem

    cfg = micro(lambda c: c["transfer"].update(multi=[{"modes": ["sequential"], "objective": "kl_dp", "students": ["vit"],
                                                      "teachers": ["cnn", "control"]}]))
    assert config_problem(cfg, REPO / "workflow/schemas/config.schema.yaml") == (
        "transfer.multi[0].objective is now called method (the transfer method the teachers are combined with): "
        "rename the key to method")


@pytest.mark.parametrize("case", sorted(CASES))
def test_config_mistakes_are_one_line_before_any_job(case):
    change, expected = CASES[case]
    problem = semantic_problem(micro(change))
    assert problem is not None and expected in problem and "\n" not in problem


def test_text_file_as_weights_and_empty_class_folders(tmp_path):
    text = tmp_path / "weights.pt"
    text.write_text("not weights\n")
    problem = semantic_problem(micro(lambda c: c["zoo"].append(_file_model(text))))
    assert problem == f"zoo[3] (filem): {text} is not a weights file (neither safetensors nor a torch checkpoint); " \
                      f"fix its 'file:' path"
    for split in ("train", "val"):
        (tmp_path / "imagenet" / split / "n01440764").mkdir(parents=True)
    problem = semantic_problem(micro(lambda c: c.update(dataset={"name": "imagenet", "root": str(tmp_path / "imagenet")})))
    assert "class folder(s) in" in problem and "hold no images (e.g. 'n01440764'" in problem
    assert semantic_problem(copy.deepcopy(MICRO)) is None


def test_snakemake_n_prints_one_line_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(micro(CASES["unknown timm architecture"][0])))
    proc = snakemake(tmp_path, "-n", config=str(bad), check=False)
    assert proc.returncode == 1
    # Besides Snakemake's note that it loaded the workflow profile (workflow/profiles/default).
    lines = [line for line in (proc.stdout + proc.stderr).splitlines()
             if line.strip() and not line.startswith("Using workflow specific profile")]
    assert len(lines) == 1 and lines[0].startswith("gkt: error: zoo[0] (cnn): unknown timm architecture")
    assert 'File "' not in proc.stderr and not (tmp_path / "results").exists()


def test_failing_job_shows_its_error_line_in_the_terminal(tmp_path):
    # Safetensors' first bytes pass the parse-time check; the content is garbage, so the job fails.
    weights = tmp_path / "broken.safetensors"
    weights.write_bytes((10).to_bytes(8, "little") + b"{not json}" + bytes(64))
    cfg = micro(lambda c: c["zoo"].append(_file_model(weights)))
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    proc = snakemake(tmp_path, "results/mnist5k/zoo/filem.json", config=str(path), check=False)
    assert proc.returncode != 0
    shown = [line for line in proc.stderr.splitlines() if line.startswith("gkt: error:")]
    assert shown and "model 'filem': could not load pretrained weights" in shown[0]
    log = (tmp_path / "results/mnist5k/logs/zoo/filem.log").read_text()
    assert shown[0] in log
    assert not (tmp_path / "results/mnist5k/zoo/filem.json").exists()


def _cache(tmp_path, samples="abc"):
    rng = np.random.default_rng(0)
    path = tmp_path / "m.parquet"
    write_logits(path, rng.normal(size=(50, 10)), rng.integers(0, 10, 50),
                 {"model": "m", "dataset": "mnist5k", "split": "val", "samples": samples})
    return path


def _with_nan_logit(path):
    """Rewrite a cache as another tool might: one NaN logit, the small columns left as they were."""
    table = pq.read_table(path)
    logits = np.stack(table.column("logits").to_numpy(zero_copy_only=False)).astype(np.float16)
    logits[7, 3] = np.nan
    column = pa.FixedSizeListArray.from_arrays(pa.array(logits.ravel(), type=pa.float16()), 10)
    pq.write_table(table.set_column(5, "logits", column), path)


def test_non_finite_logits_are_refused_by_every_reader(tmp_path):
    path = _cache(tmp_path)
    assert read_predictions(path).pred.shape == (50,)
    _with_nan_logit(path)
    for read in (read_predictions, read_logits):
        with pytest.raises(GktError, match="holds non-finite logits"):
            read(path)


def test_prediction_readers_read_the_logits_once(tmp_path):
    """Readers of the small columns stream the logits of a file only while no stamp vouches for it:
    the writer's stamp records the size and time of the file it checked. (Here a stamp is forged
    for a NaN file, to show that a vouched-for file is not read again.)"""
    path = _cache(tmp_path)
    stamp = tmp_path / ".m.parquet.finite"
    assert stamp.exists()
    _with_nan_logit(path)
    stat = path.stat()
    stamp.write_text(json.dumps({"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}))
    assert read_predictions(path).pred.shape == (50,)
    stamp.unlink()
    with pytest.raises(GktError, match="holds non-finite logits"):
        read_predictions(path)
    assert not stamp.exists()


def test_caches_from_other_samples_are_refused(tmp_path):
    from gkt.data.factory import get_dataset

    seed0, seed1 = (get_dataset({"name": "mnist5k", "seed": s}) for s in (0, 1))
    # The sorted stratified subset's labels repeat whatever the seed: only the ids tell them apart.
    sub0 = np.sort(np.random.default_rng(0).choice(len(seed0.labels("train")), 100, replace=False))
    assert seed0.samples_key("train") != seed1.samples_key("train")
    assert seed0.samples_key("train", sub0) != seed1.samples_key("train", sub0)
    path = _cache(tmp_path, samples=seed0.samples_key("val"))
    read_predictions(path, samples=seed0.samples_key("val"))
    with pytest.raises(GktError, match="made from other samples"):
        read_predictions(path, samples=seed1.samples_key("val"))


def test_changed_zoo_model_under_a_finished_transfer_equals_a_clean_run(tmp_path):
    """Retraining the student under a finished transfer must not resume the old checkpoint: the
    rerun's results equal, bit for bit, those of a clean run on the new config."""
    first, clean = tmp_path / "first", tmp_path / "clean"
    run = "results/mnist5k/transfer/kl_dp/cnn__vit"
    targets = [f"{run}/metrics.parquet", f"{run}/logits.parquet", f"{run}/student.safetensors"]
    snakemake(first, *targets)
    before = pq.read_table(first / run / "metrics.parquet").to_pylist()
    changed = micro(lambda c: c["zoo"][1].setdefault("recipe", {}).update(epochs=2))
    path = tmp_path / "changed.yaml"
    path.write_text(yaml.safe_dump(changed))
    snakemake(first, *targets, config=str(path))
    log = (first / "results/mnist5k/logs/transfer/kl_dp/cnn__vit.log").read_text()
    assert "was made from other inputs (changed: " in log and "student_weights" in log
    assert "resuming" not in log
    snakemake(clean, *targets, config=str(path))

    def rows(root):  # as JSON text, where NaN (no DP routing at epoch 0) equals NaN
        table = pq.read_table(root / run / "metrics.parquet")
        return json.dumps([{k: v for k, v in r.items() if k != "seconds"} for r in table.to_pylist()])

    assert rows(first) == rows(clean)
    assert json.loads(rows(first))[0]["acc"] != before[0]["acc"]
    for name in ("logits.parquet", "student.safetensors"):
        a, b = (root / run / name for root in (first, clean))
        if name.endswith(".parquet"):
            assert pq.read_table(a).equals(pq.read_table(b))
        else:
            assert a.read_bytes() == b.read_bytes()


# --- issue 19: nothing is trusted that should not be ---------------------------------------------

def _errors(proc) -> list[str]:
    """The `gkt: error:` lines a run showed (Snakemake may print its own progress lines around them)."""
    return [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("gkt: error:")]


def test_cache_of_another_model_is_refused_whatever_its_times(tmp_path, gkt):
    """`cp -p` of vit's val cache over cnn's (a restore from a backup keeps the times): no rerun trigger
    fires, so the workflow refuses it at start, with `-n` too; every reader refuses it as well. The fix
    the line names rebuilds the cache as it was."""
    from gkt.data.factory import get_dataset
    from gkt.transfer.run import Inputs, teacher_val_preds
    from gkt.zoo.store import read_record

    caches = [f"results/mnist5k/logits/val/{m}.parquet" for m in ("cnn", "vit")]
    snakemake(tmp_path, *caches)
    results = tmp_path / "results/mnist5k"
    cnn = results / "logits/val/cnn.parquet"
    clean = pq.read_table(cnn)
    shutil.copy2(results / "logits/val/vit.parquet", cnn)  # cp -p
    swapped = cnn.read_bytes()
    line = ("gkt: error: logits cache results/mnist5k/logits/val/cnn.parquet was made by model 'vit' (weights {}), "
            "not by zoo model 'cnn' (weights {}): delete it and rerun (snakemake results/mnist5k/logits/val/cnn.parquet)")
    line = line.format(read_record(results / "zoo", "vit").weights_hash, read_record(results / "zoo", "cnn").weights_hash)
    for dry in (["-n"], []):
        proc = snakemake(tmp_path, *dry, *caches, check=False)
        assert proc.returncode == 1 and _errors(proc) == [line] and 'File "' not in proc.stderr
    assert cnn.read_bytes() == swapped

    # Each stage that reads caches refuses it, named the same way (paths as given).
    assert gkt("pairs", "--models", "cnn", "vit", "--out", str(tmp_path / "pl.parquet")).returncode == 0
    proc = gkt("complementary", "--dataset", json.dumps(MICRO["dataset"]), "--pair-list", str(tmp_path / "pl.parquet"),
               "--logits-dir", str(cnn.parent), "--zoo-dir", str(results / "zoo"),
               "--out-pairs", str(tmp_path / "p.parquet"), "--out-per-class", str(tmp_path / "c.parquet"))
    assert proc.returncode == 2 and "was made by model 'vit'" in proc.stderr and "delete it and rerun" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "p.parquet").exists()
    proc = gkt("all-pairs", "--results", str(results), "--out", str(tmp_path / "all.parquet"))
    assert proc.returncode == 2 and f"logits cache {cnn} was made by model 'vit'" in proc.stderr
    assert not (tmp_path / "all.parquet").exists()
    inputs = Inputs(get_dataset(MICRO["dataset"]), results / "zoo", results / "logits", torch.device("cpu"))
    with pytest.raises(GktError, match="was made by model 'vit'"):
        teacher_val_preds(inputs, [read_record(results / "zoo", "cnn")])

    cnn.unlink()
    snakemake(tmp_path, "results/mnist5k/logits/val/cnn.parquet")
    assert pq.read_table(cnn).equals(clean)
    assert "Nothing to be done" in snakemake(tmp_path, "-n", *caches).stdout


def test_results_changed_by_hand_are_refused(tmp_path, gkt, results_dir):
    """A result rewritten by another tool (DuckDB's COPY over pairs.parquet), or edited in place with its
    metadata kept (pyarrow), is refused by the database build and by each stage that reads it: one
    line naming the file and the fix, and no database written. The database rule reruns whenever a
    result is newer than it, so the next `snakemake` shows this line instead of building over the edit."""
    import duckdb

    results = tmp_path / "results" / results_dir.name
    shutil.copytree(results_dir, results, ignore=shutil.ignore_patterns("gkt.duckdb"))
    pairs = results / "complementary" / "pairs.parquet"
    assert gkt("db", "--results", str(results)).returncode == 0
    (results / "gkt.duckdb").unlink()

    edited = tmp_path / "edited.parquet"
    duckdb.sql(f"COPY (SELECT * REPLACE (0.0 AS rho_pos) FROM '{pairs}') TO '{edited}' (FORMAT parquet)")
    shutil.move(edited, pairs)
    proc = gkt("db", "--results", str(results))
    assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [
        f"gkt: error: results file {pairs} was not written by gkt (it has no content stamp): it was rewritten by "
        f"another tool; delete it and rerun snakemake, whose complementary stage rewrites it"]
    assert not (results / "gkt.duckdb").exists()
    proc = gkt("transfer-plan", "--transfer", json.dumps({"runs": {"n": 1, "seed": 0}}), "--pairs", str(pairs),
               "--models", "cnn_s", "vit_s", "--out", str(tmp_path / "plan.json"))
    assert proc.returncode == 2 and f"{pairs} was not written by gkt" in proc.stderr
    assert not (tmp_path / "plan.json").exists()

    # Edited with pyarrow, stamp and all: the content no longer matches it.
    metrics = sorted((results / "transfer" / "kl_dp").glob("*/metrics.parquet"))[0]
    table = pq.read_table(metrics)
    column = table.column_names.index("delta_transf")
    pq.write_table(table.set_column(column, "delta_transf", pa.array([9.9] * table.num_rows)), metrics)
    shutil.copy2(results_dir / "complementary" / "pairs.parquet", pairs)
    proc = gkt("db", "--results", str(results))
    assert proc.returncode == 2 and f"results file {metrics} was changed after gkt wrote it" in proc.stderr
    proc = gkt("recommend", "--results", str(results), "--student", "vit_s")
    assert proc.returncode == 2 and f"{metrics} was changed after gkt wrote it" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_cache_older_than_a_retrained_model_is_recomputed_not_refused(tmp_path):
    """A cache of the model's earlier weights is older than its new zoo record: Snakemake reruns its
    logits job then, so the start-up check refuses it only once it is as new as the record."""
    from gkt.workflow.config import results_problem
    from gkt.io import write_json

    results = tmp_path / "results/mnist5k"
    cache = results / "logits/val/cnn.parquet"
    cache.parent.mkdir(parents=True)
    _cache(tmp_path).rename(cache)  # made by model 'm' with no weights hash
    write_json({"name": "cnn", "arch": "resnet10t", "source": "train", "family": "cnn", "arch_family": "resnet",
                "params": 1, "num_classes": 10, "dataset": "mnist5k", "weights_hash": "new"}, results / "zoo/cnn.json")
    os.utime(cache, (1, 1))
    with contextlib.chdir(tmp_path):
        assert results_problem(MICRO) is None
        os.utime(cache)
        assert results_problem(MICRO).startswith(
            "logits cache results/mnist5k/logits/val/cnn.parquet was made by model 'm' (weights None), not by zoo "
            "model 'cnn' (weights new): delete it and rerun")


def _image_zoo(tmp_path, gkt):
    """An image folder of 3 classes (2 JPEGs each per split) and a random-init zoo model for it."""
    from tests.helpers import SYNSETS, write_image_folder

    write_image_folder(tmp_path / "images", SYNSETS, per_class=2)
    dataset = json.dumps({"name": "folders", "type": "imagefolder", "root": str(tmp_path / "images")})
    entry = {"name": "r", "arch": "resnet10t", "source": "random", "kwargs": {"channels": [8, 16, 32, 64]}}
    assert gkt("zoo-model", "--dataset", dataset, "--model", json.dumps(entry), "--zoo-dir", str(tmp_path / "zoo"),
               "--threads", "1").returncode == 0
    return dataset


@pytest.mark.parametrize("damage", ["truncated", "empty"])
@pytest.mark.parametrize("workers", [0, 1])
def test_a_damaged_image_is_named_with_the_fix(tmp_path, gkt, damage, workers):
    dataset = _image_zoo(tmp_path, gkt)
    bad = sorted((tmp_path / "images/val").glob("*/*.JPEG"))[3]
    data = bad.read_bytes()
    bad.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"")
    out = tmp_path / "logits/val/r.parquet"
    proc = gkt("logits", "--dataset", dataset, "--model", "r", "--zoo-dir", str(tmp_path / "zoo"), "--split", "val",
               "--out", str(out), "--batch-size", "2", "--workers", str(workers), "--threads", "1")
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"gkt: error: image {bad} is truncated or corrupt (PIL: ")
    assert lines[0].endswith("): replace or delete it")
    assert not out.exists() and not list(out.parent.glob(".*tmp"))


def test_unknown_pretrained_tag_fails_dry_run_with_the_known_tags(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(micro(lambda c: c["zoo"][0].update(arch="resnet18.nonexistent_tag"))))
    proc = snakemake(tmp_path, "-n", config=str(bad), check=False)
    assert proc.returncode == 1 and 'File "' not in proc.stderr
    assert _errors(proc) == ["gkt: error: zoo[0] (cnn): unknown pretrained tag 'nonexistent_tag' of resnet18; its tags: "
                             "a1_in1k, a2_in1k, a3_in1k, fb_ssl_yfcc100m_ft_in1k, fb_swsl_ig1b_ft_in1k, gluon_in1k, tv_in1k "
                             "(timm.list_pretrained('resnet18.*'))"]
    assert not (tmp_path / "results").exists()


def test_shipped_pretrained_list_is_timms():
    """gkt/zoo/timm_pretrained.txt is the installed timm's list; after a timm upgrade, rerun
    scripts/timm_pretrained.py."""
    import timm

    from gkt.zoo.spec import PRETRAINED_LIST

    lines = PRETRAINED_LIST.read_text().splitlines()
    assert lines[0] == f"# timm.list_pretrained() of timm {timm.__version__}", "rerun scripts/timm_pretrained.py"
    assert lines[1:] == sorted(timm.list_pretrained()), "rerun scripts/timm_pretrained.py"


def test_yaml_syntax_error_of_a_study_names_file_and_line(tmp_path):
    study = tmp_path / "study.yaml"
    study.write_text("dataset: {name: digits}\nzoo: [\n  {name: a, arch: resnet10t]\n")
    proc = snakemake(tmp_path, "-n", config=str(_config_with(tmp_path, studies=[str(study)])), check=False)
    assert proc.returncode == 1
    assert _errors(proc) == [f"gkt: error: studies[0] ({study}), {study}: YAML syntax error at line 3, column 28: "
                             f"expected ',' or '}}', but got ']'; fix it there"]


def _config_with(tmp_path, **change):
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(micro(lambda c: c.update(change))))
    return path


def test_nested_config_values_are_typed_as_the_schema_says(tmp_path):
    ok = snakemake(tmp_path, "-n", "--config", 'logits={"batch_size": 100, "group_size": 2}',
                   'train_defaults={"lr": 1e-3, "epochs": 1}', check=False)
    assert ok.returncode == 0, ok.stderr
    assert "--batch-size 100" in snakemake(tmp_path, "-n", "-p", "--config", 'logits={"batch_size": 100}').stdout
    bad = snakemake(tmp_path, "-n", "--config", 'logits={"batch_size": "many"}', check=False)
    assert bad.returncode == 1 and _errors(bad) == [
        "gkt: error: config['logits']['batch_size']: 'many' is not of type 'integer' "
        f"(see {REPO}/workflow/schemas/config.schema.yaml)"]


def test_weights_and_results_get_the_umask_mode(tmp_path):
    from gkt.io import write_parquet
    from gkt.zoo.store import save_weights

    old = os.umask(0o022)
    try:
        save_weights(torch.nn.Linear(2, 2), tmp_path / "w.safetensors")
        write_parquet(pa.table({"x": [1]}), tmp_path / "t.parquet")
        os.umask(0o077)
        save_weights(torch.nn.Linear(2, 2), tmp_path / "private.safetensors")
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    assert modes == {"w.safetensors": 0o644, "t.parquet": 0o644, "private.safetensors": 0o600}


@pytest.fixture
def full_disk(tmp_path):
    """A folder on a 64 KiB tmpfs (ENOSPC) where mounting works (root), else a read-only folder (EACCES)."""
    folder = tmp_path / "full"
    folder.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], capture_output=True).returncode:
        if os.geteuid() == 0:
            pytest.skip("neither a tmpfs mount nor a permission error is possible here")
        folder.chmod(0o555)
        yield folder, "Permission denied"
        folder.chmod(0o755)
        return
    try:
        with contextlib.suppress(OSError), open(folder / "filler", "wb") as f:
            while True:  # until the disk is full
                f.write(bytes(4096))
                f.flush()
        yield folder, "No space left on device"
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_full_disk_is_one_line_naming_the_file(tmp_path, gkt, full_disk):
    from gkt.data.factory import get_dataset
    from tests.helpers import tiny_zoo

    folder, reason = full_disk
    tiny_zoo(tmp_path / "res", get_dataset({"name": "digits"}), ["m"], arch="resnet10t", source="random",
             kwargs={"channels": [8, 16, 32, 64]})
    out = folder / "logits/val/m.parquet"
    proc = gkt("logits", "--dataset", '{"name": "digits"}', "--model", "m", "--zoo-dir", str(tmp_path / "res/zoo"),
               "--split", "val", "--out", str(out), "--threads", "1")
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"gkt: error: {folder}") and f": {reason}: " in lines[0] and lines[0].endswith("and rerun")
    assert not out.exists() and [p.name for p in folder.rglob("*") if p.is_file()] in ([], ["filler"])
