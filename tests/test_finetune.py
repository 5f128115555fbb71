"""Fine-tuned zoo entries (gkt/zoo/finetune.py): the classification layer (paper Supp. B.4) or the whole
network (B.5) of a model of another zoo, on real tiny models and the embedded data sets."""
import json

import pytest
import safetensors.torch
import torch

from gkt.data.factory import get_dataset
from gkt.errors import GktError
from gkt.zoo.spec import ModelSpec, zoo_problem
from gkt.zoo.store import load_model, read_record, record_path, save_model, weights_path
from gkt.zoo.make import make_zoo_model

CPU = torch.device("cpu")
TINY = {"arch": "resnet10t", "kwargs": {"channels": [8, 8, 16, 16]}}


@pytest.fixture(scope="module")
def digits():
    return get_dataset({"name": "digits", "seed": 0})


@pytest.fixture(scope="module")
def base_zoo(tmp_path_factory, mnist):
    """A tiny CNN trained for one epoch on mnist5k: the base every test fine-tunes."""
    zoo = tmp_path_factory.mktemp("mnist_zoo")
    spec = ModelSpec(name="cnn", recipe={"epochs": 1, "lr": 0.003}, **TINY)
    save_model(*make_zoo_model(spec, mnist, CPU), zoo)
    return zoo


def _make(entry, dataset, zoo):
    model, record = make_zoo_model(ModelSpec.from_config(entry), dataset, CPU)
    save_model(model, record, zoo)
    return model, record


def test_head_tuning_changes_only_the_classification_layer(base_zoo, digits, tmp_path):
    entry = {"name": "cnn_head", "source": "finetune", "base": {"zoo": str(base_zoo), "model": "cnn"}, "tune": "head",
             "recipe": {"epochs": 1}}
    _, record = _make(entry, digits, tmp_path)
    base = read_record(base_zoo, "cnn")
    assert (record.source, record.tune, record.base_model, record.base_dataset) == ("finetune", "head", "cnn", "mnist5k")
    assert (record.base_source, record.base_weights_hash, record.dataset) == ("train", base.weights_hash, "digits")
    assert record.arch == "resnet10t" and record.kwargs == TINY["kwargs"] and record.family == "cnn"
    assert record.train_samples == digits.samples_key("train") and record.recipe["epochs"] == 1
    assert 0.1 < record.top1 <= 1 and record.weights_hash != base.weights_hash
    before = safetensors.torch.load_file(str(weights_path(base_zoo, "cnn")))
    after = safetensors.torch.load_file(str(weights_path(tmp_path, "cnn_head")))
    changed = sorted(k for k in before if not torch.equal(before[k], after[k]))
    assert changed == ["fc.bias", "fc.weight"]  # BatchNorm statistics included: the network stays fixed
    model, again = load_model("cnn_head", tmp_path, digits)  # the record's spec rebuilds it
    assert again == record and torch.equal(model.state_dict()["fc.weight"], after["fc.weight"])


def test_whole_network_on_another_data_set_serves_this_zoo(base_zoo, mnist, digits, tmp_path):
    """Supp. B.5: fine-tuned on digits, it sits in the mnist5k zoo (base: same zoo) as a domain-shifted teacher."""
    zoo = tmp_path / "zoo"
    for name in ("cnn.json", "cnn.safetensors"):
        (zoo / name).parent.mkdir(exist_ok=True)
        (zoo / name).write_bytes((base_zoo / name).read_bytes())
    entry = {"name": "cnn_shift", "source": "finetune", "base": {"zoo": str(zoo), "model": "cnn"}, "tune": "all",
             "dataset": {"name": "digits"}, "recipe": {"epochs": 1}}
    _, record = _make(entry, mnist, zoo)
    assert record.dataset == "digits" and record.train_samples == digits.samples_key("train")
    assert record.num_classes == 10 and record.tune == "all"
    before = safetensors.torch.load_file(str(weights_path(zoo, "cnn")))
    after = safetensors.torch.load_file(str(weights_path(zoo, "cnn_shift")))
    assert not torch.equal(before["conv1.0.weight"], after["conv1.0.weight"])
    load_model("cnn_shift", zoo, mnist)  # made on digits: mnist5k's train split is no concern

    # The base changes: readers of the fine-tuned model refuse it, naming the rerun.
    rec = json.loads(record_path(zoo, "cnn").read_text())
    record_path(zoo, "cnn").write_text(json.dumps({**rec, "weights_hash": "0" * 16}))
    with pytest.raises(GktError, match="was fine-tuned from 'cnn' with weights hash .* now has 0000"):
        load_model("cnn_shift", zoo, mnist)
    # ... and fine-tuning from a base whose weights are not its record's is refused too.
    with pytest.raises(GktError, match="has weights hash .* but its zoo record says 0000"):
        make_zoo_model(ModelSpec.from_config({**entry, "name": "again"}), mnist, CPU)


def test_finetune_problems_are_found_before_any_job(tmp_path):
    zoo = "results/x/zoo"
    ok = {"name": "a", "source": "finetune", "base": {"zoo": zoo, "model": "b"}, "tune": "head"}
    b = {"name": "b", "arch": "resnet10t"}
    assert zoo_problem([ok, b], zoo_dir=zoo) is None
    assert zoo_problem([ok], zoo_dir="results/other/zoo") is None  # another zoo: checked by its own study
    assert "base model 'b' is not in this zoo" in zoo_problem([ok], zoo_dir=zoo)
    loop = [ok, {**ok, "name": "b", "base": {"zoo": zoo, "model": "a"}}]
    assert "come back to itself (a <- b <- a)" in zoo_problem(loop, zoo_dir="./results/x/zoo")
    assert "needs tune: head" in zoo_problem([{**ok, "tune": "body"}, b])
    assert "needs base: {zoo:" in zoo_problem([{**ok, "base": {"model": "b"}}, b])
    assert "unknown dataset 'nope'" in zoo_problem([{**ok, "dataset": {"name": "nope"}}, b])
    assert "belong to source 'finetune'" in zoo_problem([{**b, "tune": "head"}])
    assert "give its timm architecture" in zoo_problem([{"name": "c"}])
