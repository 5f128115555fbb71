"""Bad input and reused state: every config mistake knowable before work starts fails `snakemake -n`
with one line; a failing job's line reaches the terminal; state made from other inputs is never
reused. Real files, real runs."""
from __future__ import annotations

import copy
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from gkt.config import semantic_problem
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
    "too many pairs": (lambda c: c.update(pairs={"n": 1000}),
                       "the zoo's 2 models besides the control 'control' give only 2 ordered pairs"),
    "teacher is the student": (lambda c: c["transfer"]["runs"].__setitem__(
        0, {"methods": ["kl_dp"], "students": ["vit"], "teachers": ["vit"]}), "a model never teaches itself"),
    "unknown method": (lambda c: c["transfer"]["runs"][0].update(methods=["kl_nope"]),
                       "unknown transfer method 'kl_nope'"),
    "student not in zoo": (lambda c: c["transfer"]["runs"][0].update(students=["ghost"]),
                           "names models ['ghost'] that are not in the zoo"),
    "control not in zoo": (lambda c: c.update(control="nobody"), "control: model 'nobody' is not in the zoo"),
    "missing weights file": (lambda c: c["zoo"].append(_file_model("/nonexistent/w.safetensors")),
                             "weights file /nonexistent/w.safetensors does not exist"),
    "multi-teacher run with one teacher besides the student": (
        lambda c: c["transfer"].update(multi=[{"modes": ["sequential"], "method": "kl_dp", "students": ["vit"],
                                               "teachers": ["cnn", "vit"]}]),
        "two or more distinct teachers besides the student"),
}


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
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
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
    from gkt.data.registry import get_dataset

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
