"""Zoo metadata from a timm-format results table (written by the test, never copied from timm)."""
import logging

import pytest
import safetensors.torch
import timm
import torch

from gkt.data.factory import get_dataset
from gkt.errors import GktError
from gkt.zoo.results_table import lookup, read_results, timm_top1
from gkt.zoo.spec import ModelSpec
from gkt.zoo.make import make_zoo_model
from tests.helpers import SYNSETS, write_image_folder

HEADER = "model,top1,top1_err,top5,top5_err,param_count,img_size,crop_pct,interpolation\n"
ROWS = [
    "resnet10t.c3_in1k,66.250,33.750,86.500,13.500,5.44,224,0.950,bicubic",
    "resnet18.tv_in1k,69.750,30.250,89.090,10.910,11.69,224,0.875,bilinear",
    "resnet18,71.500,28.500,90.000,10.000,11.69,224,0.950,bicubic",  # an older table's untagged row
    "vit_tiny_patch16_224.augreg_in21k_ft_in1k,75.450,24.550,92.850,7.150,5.72,224,0.900,bicubic",
]


def write_table(path, rows=ROWS, header=HEADER):
    path.write_text(header + "\n".join(rows) + "\n")
    return path


def test_rows_are_read_and_tags_resolved(tmp_path):
    table = read_results(write_table(tmp_path / "results.csv"))
    assert set(table) == {r.split(",")[0] for r in ROWS}
    row = table["resnet10t.c3_in1k"]
    assert (row.top1, row.top5, row.param_count, row.img_size, row.crop_pct, row.interpolation) == (
        66.25, 86.5, 5.44, 224, 0.95, "bicubic")
    assert lookup(table, "resnet10t.c3_in1k") is row
    assert lookup(table, "resnet10t") is row  # bare name = timm's default tag (c3_in1k)
    assert lookup(table, "resnet18.tv_in1k").top1 == 69.75
    assert lookup(table, "resnet18.a1_in1k").top1 == 71.5  # untagged row stands for the default tag ...
    assert lookup(table, "resnet18.gluon_in1k") is None  # ... and for no other tag
    assert lookup(table, "resnet50.a1_in1k") is None
    assert timm_top1(tmp_path / "results.csv", "vit_tiny_patch16_224.augreg_in21k_ft_in1k") == pytest.approx(0.7545)


@pytest.mark.parametrize("content, message", [
    ("name,acc\nresnet18,70\n", r"lacks column\(s\) \['model', 'top1'\]"),
    (HEADER + "resnet18.tv_in1k,697.5,,,,,,,\n", r"line 2: model 'resnet18.tv_in1k' has top1 '697.5'"),
    (HEADER + "resnet18.tv_in1k,abc,,,,,,,\n", r"has top1 'abc'; expected a percentage"),
    (HEADER + "resnet18.tv_in1k,69.7,,,,,,,\nresnet18.tv_in1k,70.1,,,,,,,\n", "appears twice with different top1"),
    (HEADER, "has no rows"),
])
def test_bad_tables_are_one_clear_error(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(GktError, match=message):
        read_results(path)


def test_missing_table(tmp_path):
    with pytest.raises(GktError, match=r"timm results table .*nope.csv does not exist \(config key dataset.timm_results\)"):
        read_results(tmp_path / "nope.csv")


def test_zoo_record_takes_top1_from_the_table_and_counts_params(tmp_path, caplog):
    write_image_folder(tmp_path / "img", SYNSETS, per_class=1)
    # The table's param_count is deliberately wrong: params always come from the model itself.
    table = write_table(tmp_path / "results.csv", rows=["resnet10t.c3_in1k,66.250,33.750,86.500,13.500,9.99,224,0.95,bicubic"])
    ds = get_dataset({"name": "imagenet", "root": str(tmp_path / "img"), "timm_results": str(table)})
    torch.manual_seed(0)
    weights = tmp_path / "r10.safetensors"
    safetensors.torch.save_file(timm.create_model("resnet10t", num_classes=1000).state_dict(), str(weights))
    spec = ModelSpec(name="r10", arch="resnet10t.c3_in1k", source="file", file=str(weights))
    with caplog.at_level(logging.WARNING, logger="gkt.zoo.results_table"):
        model, record = make_zoo_model(spec, ds, torch.device("cpu"))
    assert record.top1 == pytest.approx(0.6625)
    assert record.params == sum(p.numel() for p in model.parameters()) == 5_435_488
    assert (record.family, record.arch_family) == ("cnn", "resnet")
    assert "says 9.99M parameters, the model has 5.44M" in caplog.text

    # Not in the table: no top-1 in the record (the logits stage measures it), no error.
    other = ModelSpec(name="r10b", arch="resnet10t", source="file", file=str(weights))
    write_table(table, rows=ROWS[1:])
    _, record = make_zoo_model(other, ds, torch.device("cpu"))
    assert record.top1 is None

    # Without a table, nothing is looked up.
    plain = get_dataset({"name": "imagenet", "root": str(tmp_path / "img")})
    _, record = make_zoo_model(spec, plain, torch.device("cpu"))
    assert record.top1 is None
