"""A second data set's study run beside the main config (`studies:`, a Snakemake module of the same
workflow), domain-shifted teachers and multi-teacher runs of two objectives: Figs. 9 and 10 and Tab. 9
from the pipeline's own stages, with real Snakemake on the micro configs, and the ImageNet path (paper
Supp. B.4, B.5) on tiny generated image folders with timm models from local weights files."""
import json
from pathlib import Path

import pytest
import safetensors.torch
import timm
import torch
import yaml
from snakemake.utils import validate

from gkt.workflow.config import load_studies
from gkt.db.read import connect
from gkt.errors import GktError
from tests.helpers import REPO, SYNSETS, snakemake, write_image_folder

SCHEMA = REPO / "workflow/schemas/config.schema.yaml"
THREE = {"fig9", "fig10", "tab9"}


def rendered(figures: Path) -> set[str]:
    return {p.stem for p in figures.glob("*") if p.suffix in (".png", ".md")}


def test_micro_study_renders_figs_9_10_and_tab_9(micro_studies_run):
    tmp_path = micro_studies_run
    figures = tmp_path / "figures" / "mnist5k"
    assert THREE <= rendered(figures), sorted(rendered(figures))
    assert (tmp_path / "figures" / "digits" / "index.html").exists()  # the study's own figures too

    con = connect(tmp_path / "results" / "mnist5k" / "gkt.duckdb")
    datasets = con.execute("SELECT dataset, count(*) FROM transfer_datasets GROUP BY 1 ORDER BY 1").fetchall()
    assert datasets == [("digits", 3), ("mnist5k", 4)]  # the 2 runs of the domain-shifted teacher are Fig. 10's
    shifted = con.execute("SELECT DISTINCT method, teacher, teacher_dataset, student_dataset FROM transfer_final "
                          "WHERE teacher_domain_shifted ORDER BY method").fetchall()
    assert shifted == [("kl", "cnn_digits", "digits", "mnist5k"), ("kl_dp", "cnn_digits", "digits", "mnist5k")]
    multi = con.execute("SELECT run, method FROM transfer_final WHERE is_multi ORDER BY run").fetchall()
    assert multi == [("multi_sequential-kl/cnn+mixer__vit", "kl"), ("multi_sequential-kl_dp/cnn+mixer__vit", "kl_dp")]
    (teacher,) = con.execute("SELECT base_model, base_dataset, base_weights_hash, tune, dataset FROM models "
                             "WHERE name = 'cnn_digits'").fetchall()
    (cnn_hash,) = con.execute("SELECT weights_hash FROM models WHERE name = 'cnn'").fetchone()
    assert teacher == ("cnn", "mnist5k", cnn_hash, "all", "digits")
    con.close()
    digits = json.loads((tmp_path / "results/digits/zoo/vit.json").read_text())
    assert (digits["source"], digits["tune"], digits["base_model"], digits["base_dataset"]) == \
        ("finetune", "head", "vit", "mnist5k")
    tab9 = (figures / "tab9.md").read_text()
    assert "cnn, mixer" in tab9 and "sequential" in tab9

    again = snakemake(tmp_path, "-n", config="workflow/config/micro_studies.yaml")
    assert "Nothing to be done" in again.stdout + again.stderr


def test_probes_run_as_workflow_jobs_and_join_the_ranking(micro_studies_run):
    """recommend.probe: one probe job for vit, every trained model a candidate (the control never), its
    scores in the ranking beside the measured runs, and the probe figure drawn from them."""
    con = connect(micro_studies_run / "results" / "mnist5k" / "gkt.duckdb")
    probes = con.execute("SELECT teacher, probe_delta_transf, epochs, run_epochs, holdout_images FROM recommend_probes "
                         "WHERE student = 'vit' ORDER BY teacher").fetchall()
    assert [p[0] for p in probes] == ["cnn", "cnn_digits", "mixer"]
    assert {p[2:] for p in probes} == {(1, 1, 100)}
    joined = con.execute("SELECT teacher, probe_delta_transf FROM teacher_ranking WHERE student = 'vit' AND "
                         "probe_delta_transf IS NOT NULL ORDER BY teacher").fetchall()
    assert joined == [p[:2] for p in probes]
    con.close()
    assert (micro_studies_run / "figures" / "mnist5k" / "probe_fit.png").exists()
    log = (micro_studies_run / "results/mnist5k/logs/recommend/probe/vit.log").read_text()
    assert "held-out train acc" in log and "val acc" not in log


def _study(tmp_path, file, **changes):
    cfg = yaml.safe_load((REPO / "workflow/config/micro_digits.yaml").read_text())
    cfg.update(changes)
    path = tmp_path / f"{file}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def test_study_problems_are_one_line_naming_the_study(tmp_path):
    main = yaml.safe_load((REPO / "workflow/config/micro_studies.yaml").read_text())
    validate(main, str(SCHEMA))

    def problem(*studies):
        with pytest.raises(GktError) as e:
            load_studies({**main, "studies": list(studies)}, SCHEMA, REPO, validate)
        return str(e.value)

    studies = load_studies(main, SCHEMA, REPO, validate)  # relative to the workflow's folder
    assert [(s.name, s.prefix, s.results) for s in studies] == [("digits", "digits_", "results/digits")]
    vit = next(e for e in studies[0].config["zoo"] if e["name"] == "vit")
    assert vit["arch"] == "vit_tiny_patch16_224" and vit["base"]["source"] == "train"  # filled in from the base
    assert "studies[0] (nowhere.yaml) does not exist" in problem("nowhere.yaml")
    bad = problem(_study(tmp_path, "bad", zooo=[]))
    assert bad.startswith("studies[0] (") and "unknown key(s) 'zooo'" in bad
    twice = problem(_study(tmp_path, "a"), _study(tmp_path, "b"))
    assert "studies[1]" in twice and "writes results/digits, as studies[0]" in twice
    assert "writes results/mnist5k, as this config does" in problem(
        _study(tmp_path, "m", name="mnist5k", zoo=[{"name": "a", "arch": "resnet10t"}, {"name": "b", "arch": "resnet10t"}], transfer={}))
    zoo = [{"name": n, "source": "finetune", "base": {"zoo": "results/mnist5k/zoo", "model": b}, "tune": "head"}
           for n, b in (("vit", "nope"), ("cnn", "cnn"))]
    assert "its base 'nope' is not in the zoo of results/mnist5k" in problem(_study(tmp_path, "z", zoo=zoo, transfer={}))
    assert "lists studies of its own" in problem(_study(tmp_path, "n", studies=["x.yaml"]))


# ------------------------------------------------------------------------------------ ImageNet path
ARCHS = {"r10": "resnet10t", "tvit": "test_vit"}


def test_imagenet_path_other_dataset_and_domain_shift(tmp_path):
    """Supp. B.4 and B.5 end to end on tiny folders: ImageNet models (random init, local weights files)
    fine-tuned (head) on a folder data set with its own classes, and a teacher fine-tuned (whole) on an
    ImageNet-labelled folder of another domain; Figs. 9 and 10 from their runs."""
    write_image_folder(tmp_path / "imagenet", SYNSETS, per_class=4)
    write_image_folder(tmp_path / "infograph", SYNSETS, per_class=3, size=32)
    write_image_folder(tmp_path / "birds", ["001.Black_footed_Albatross", "002.Laysan_Albatross"], per_class=4)
    zoo = []
    for name, arch in ARCHS.items():
        torch.manual_seed(0)
        safetensors.torch.save_file(timm.create_model(arch, num_classes=1000).state_dict(), str(tmp_path / f"{name}.safetensors"))
        zoo.append({"name": name, "arch": arch, "source": "file", "file": str(tmp_path / f"{name}.safetensors")})
    fast = {"defaults": {"epochs": 1, "batch_size": 4, "targets": "cached", "seed": 0}, "gpu": 0}
    birds = {
        "dataset": {"type": "imagefolder", "name": "birds", "root": str(tmp_path / "birds")},
        "zoo": [{"name": n, "source": "finetune", "base": {"zoo": "results/inet/zoo", "model": n}, "tune": "head",
                 "recipe": {"epochs": 1, "batch_size": 4}} for n in ARCHS],
        "logits": {"batch_size": 8},
        "transfer": {**fast, "runs": [{"methods": ["kl_dp"], "students": ["tvit"], "teachers": ["r10"]}]},
    }
    (tmp_path / "birds.yaml").write_text(yaml.safe_dump(birds))
    inet = {
        "name": "inet", "dataset": {"name": "imagenet", "root": str(tmp_path / "imagenet")},
        "zoo": zoo + [{"name": "r10_infograph", "source": "finetune", "base": {"zoo": "results/inet/zoo", "model": "r10"},
                       "tune": "all", "dataset": {"type": "imagenet", "name": "infograph", "root": str(tmp_path / "infograph")},
                       "recipe": {"epochs": 1, "batch_size": 4, "lr": 1e-4}}],
        "logits": {"batch_size": 8},
        # Fig. 10's runs (the shifted teacher), and one within ImageNet: Fig. 9 compares data sets without them.
        "transfer": {**fast, "runs": [{"methods": ["kl", "kl_dp"], "students": ["tvit"], "teachers": ["r10_infograph"]},
                                      {"methods": ["kl_dp"], "students": ["tvit"], "teachers": ["r10"]}]},
        "studies": [str(tmp_path / "birds.yaml")],
    }
    (tmp_path / "inet.yaml").write_text(yaml.safe_dump(inet))
    snakemake(tmp_path, config=str(tmp_path / "inet.yaml"))

    assert {"fig9", "fig10"} <= rendered(tmp_path / "figures" / "inet")
    con = connect(tmp_path / "results" / "inet" / "gkt.duckdb")
    assert con.execute("SELECT DISTINCT dataset FROM transfer_datasets ORDER BY 1").fetchall() == [("birds",), ("inet",)]
    assert con.execute("SELECT DISTINCT teacher FROM transfer_final WHERE teacher_domain_shifted").fetchall() == \
        [("r10_infograph",)]
    con.close()
    record = json.loads((tmp_path / "results/birds/zoo/tvit.json").read_text())
    assert (record["num_classes"], record["base_source"], record["base_dataset"], record["dataset"]) == \
        (2, "file", "imagenet", "birds")  # a new 2-class head on the ImageNet model
    head = safetensors.torch.load_file(str(tmp_path / "results/birds/zoo/tvit.safetensors"))
    assert head["head.weight"].shape == (2, head["head.weight"].shape[1])
    shifted = json.loads((tmp_path / "results/inet/zoo/r10_infograph.json").read_text())
    assert (shifted["dataset"], shifted["num_classes"], shifted["tune"]) == ("infograph", 1000, "all")
