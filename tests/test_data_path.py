"""The data path: evaluation size, logits groups that decode once (bit-identical caches), the
out-of-memory retry of the prediction loop, the decoded transfer inputs, CD/CRD logits from the
model's own head, and timm's published top-1 next to the measured one."""
import dataclasses
import json
import logging

import numpy as np
import pyarrow.parquet as pq
import pytest
import safetensors.torch
import timm
import torch
import yaml

from gkt.data.factory import get_dataset
from gkt.errors import GktError
from gkt.inference import predict, predict_dataset, predict_many
from gkt.logits.cache import read_logits, write_logits
from gkt.logits.compute import cache_group, cache_logits, top1_gap
from gkt.logits.groups import chunk
from gkt.transfer.feed import Batches, Views, features_and_logits
from gkt.zoo.build import create_model
from gkt.zoo.record import ModelRecord
from gkt.zoo.spec import ModelSpec
from gkt.zoo.store import load_model
from gkt.zoo.transforms import data_config, geometry_key, model_transform, split_eval
from tests.helpers import REPO, SYNSETS, write_image_folder

CPU = torch.device("cpu")
AT64 = dict(input_size=[3, 64, 64], crop_pct=0.9, interpolation="bicubic")
# Three models of one geometry with three normalisations, and one of another geometry.
MODELS = {
    "r10": ("resnet10t", {}, dict(AT64, mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])),
    "vit": ("test_vit", {"img_size": 64}, dict(AT64, mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5])),
    "eff": ("test_efficientnet", {}, dict(AT64, mean=[0.4, 0.45, 0.5], std=[0.2, 0.25, 0.3])),
    "r10_48": ("resnet10t", {}, dict(input_size=[3, 48, 48], crop_pct=1.0, interpolation="bilinear")),
}


@pytest.fixture(scope="module")
def imagenet_zoo(tmp_path_factory):
    """An ImageFolder of real synsets (JPEGs of 97x105 px) and a zoo of random-init 1000-class timm
    models in local weights files (source: file), each with its own preprocessing."""
    from gkt.cli import main

    root = tmp_path_factory.mktemp("datapath")
    write_image_folder(root / "images", SYNSETS, per_class=3, size=97)
    dataset = {"name": "imagenet", "root": str(root / "images")}
    for name, (arch, kwargs, overlay) in MODELS.items():
        torch.manual_seed(0)
        safetensors.torch.save_file(timm.create_model(arch, num_classes=1000, **kwargs).state_dict(),
                                    str(root / f"{name}.safetensors"))
        entry = {"name": name, "arch": arch, "source": "file", "file": str(root / f"{name}.safetensors"),
                 "kwargs": {**kwargs, "pretrained_cfg_overlay": overlay}}
        assert main(["zoo-model", "--dataset", json.dumps(dataset), "--model", json.dumps(entry),
                     "--zoo-dir", str(root / "zoo")]) == 0
    return root, dataset


def table(path):
    return pq.read_table(path).replace_schema_metadata(None)


# --- evaluation size --------------------------------------------------------------------------------

def embedded_zoo() -> list[dict]:
    """The default config's zoo as the workflow sees it: fine-tuned entries with their base's architecture."""
    from gkt.zoo.spec import resolve_bases

    zoo = yaml.safe_load((REPO / "workflow/config/embedded.yaml").read_text())["zoo"]
    resolve_bases({"results/mnist5k/zoo": zoo})
    return zoo


def test_embedded_models_have_one_size_so_their_preprocessing_does_not_change(mnist):
    """Models trained here inherit their architecture's ImageNet test size (resnet10t: 224 px) in
    their cfg; it is not theirs, so timm's test-size convention leaves them at the dataset's size."""
    zoo = embedded_zoo()
    for entry in zoo:
        model = create_model(ModelSpec.from_config(entry), mnist)
        test, train = data_config(model, "test"), data_config(model, "train")
        assert test == train, entry["name"]
        assert test["input_size"][1:] in ((28, 28), [28, 28], (32, 32), [32, 32])


def test_pretrained_cfgs_are_evaluated_at_timms_test_size_by_default(tmp_path):
    spec = ModelSpec(name="r10", arch="resnet10t", source="timm")
    model = create_model(spec, get_dataset({"name": "imagenet", "root": str(tmp_path)}), pretrained=False)
    test, train = data_config(model), data_config(model, "train")
    assert (test["input_size"], test["crop_pct"]) == ((3, 224, 224), 0.95)  # resnet10t.c3_in1k's test cfg
    assert (train["input_size"], train["crop_pct"]) == ((3, 176, 176), 0.875)
    assert model_transform(model).transforms[1].size == (224, 224)
    with pytest.raises(GktError, match="unknown evaluation size 'best'"):
        data_config(model, "best")


# --- logits groups ------------------------------------------------------------------------------

def test_grouped_caches_are_bit_identical_to_the_one_model_path(imagenet_zoo, tmp_path):
    root, cfg = imagenet_zoo
    dataset = get_dataset(cfg)
    names = list(MODELS)
    grouped = {n: tmp_path / "grouped" / f"{n}.parquet" for n in names}
    stats = cache_group(names, root / "zoo", dataset, "val", grouped, CPU, batch_size=4)
    assert stats["r10"]["shared_with"] == 2 and stats["r10_48"]["shared_with"] == 0  # 2 decode streams
    for n in names:
        alone = cache_logits(n, root / "zoo", dataset, "val", tmp_path / "alone" / f"{n}.parquet", CPU, batch_size=4)
        assert alone["shared_with"] == 0
        # Today's path: the model's own per-image transform (ToTensor + Normalize on every image).
        model, record = load_model(n, root / "zoo", dataset)
        direct = predict_dataset(model, dataset.split("val", model_transform(model)), CPU, batch_size=4)
        write_logits(tmp_path / "direct" / f"{n}.parquet", direct, dataset.labels("val"), {"model": n})
        assert table(grouped[n]).equals(table(tmp_path / "alone" / f"{n}.parquet")), n
        assert table(grouped[n]).equals(table(tmp_path / "direct" / f"{n}.parquet")), n
        meta = read_logits(grouped[n]).meta
        assert meta["eval_size"] == "test" and meta["transform"]["mean"] == pytest.approx(MODELS[n][2].get("mean", meta["transform"]["mean"]))
    # And in float32, before the cache's float16 rounding.
    models = [load_model(n, root / "zoo", dataset)[0] for n in ("r10", "vit", "eff")]
    parts = [split_eval(model_transform(m)) for m in models]
    assert len({repr(g) for g, _ in parts}) == 1
    shared = dataset.split("val", parts[0][0])
    batches = [torch.stack([shared[i][0] for i in range(s, min(s + 4, len(shared)))]) for s in range(0, len(shared), 4)]
    together = predict_many(models, batches, CPU, [norm for _, norm in parts])
    for m, z in zip(models, together):
        assert np.array_equal(z, predict_dataset(m, dataset.split("val", model_transform(m)), CPU, batch_size=4))


def test_a_group_job_stages_what_is_not_current_and_each_model_job_moves_it(imagenet_zoo, tmp_path, gkt, caplog):
    root, cfg = imagenet_zoo
    common = ["--dataset", json.dumps(cfg), "--zoo-dir", str(root / "zoo"), "--split", "val", "--batch-size", "4"]
    caches = tmp_path / "logits" / "val"
    manifest = caches / "groups" / "g.json"
    group = ["logits-group", *common, "--models", "r10,vit,eff", "--group", "g", "--cache-dir", str(caches),
             "--manifest", str(manifest)]
    assert gkt(*group).returncode == 0
    assert {m: e["status"] for m, e in json.loads(manifest.read_text())["models"].items()} == \
        {"r10": "staged", "vit": "staged", "eff": "staged"}
    for m in ("r10", "vit", "eff"):
        with caplog.at_level(logging.INFO):
            proc = gkt("logits", *common, "--model", m, "--out", str(caches / f"{m}.parquet"), "--shared", str(manifest))
        assert proc.returncode == 0 and f"{m}: cache computed by logits group g" in caplog.text
        assert not (manifest.with_suffix("") / f"{m}.parquet").exists()
    cache_logits("vit", root / "zoo", get_dataset(cfg), "val", tmp_path / "vit_alone.parquet", CPU, batch_size=4)
    assert table(caches / "vit.parquet").equals(table(tmp_path / "vit_alone.parquet"))
    # A new member: only it is computed; the others' caches are current.
    assert gkt(*group[:-6], "--models", "r10,vit,eff,r10_48", *group[-6:]).returncode == 0
    status = {m: e["status"] for m, e in json.loads(manifest.read_text())["models"].items()}
    assert status == {"r10": "current", "vit": "current", "eff": "current", "r10_48": "staged"}
    # Another batch size is another request: nothing staged under the old one is taken.
    with caplog.at_level(logging.INFO):
        proc = gkt("logits", *common[:-1], "8", "--model", "r10_48", "--out", str(caches / "r10_48.parquet"),
                   "--shared", str(manifest))
    assert proc.returncode == 0 and "made for other weights or settings: computing it alone" in caplog.text


def test_groups_are_runs_of_one_geometry_in_config_order():
    keys = {"a": "k1", "b": "k2", "c": "k1", "d": "k1", "e": "k2"}
    assert chunk(list(keys), keys, 2) == {"a": "k1-g0", "b": "k2-g0", "c": "k1-g0", "d": "k1-g1", "e": "k2-g0"}
    # A model's group depends only on the models before it: appending never moves one.
    grown = {**keys, "f": "k1"}
    assert {m: g for m, g in chunk(list(grown), grown, 2).items() if m in keys} == chunk(list(keys), keys, 2)
    assert geometry_key(dict(input_size=(3, 224, 224), interpolation="bicubic", crop_mode="center", crop_pct=0.875)) \
        == "224x224-bicubic-center-0.875"


def test_the_geometry_checkpoint_finds_the_groups_of_a_config(tmp_path, gkt):
    zoo = embedded_zoo()
    out = tmp_path / "geometry.json"
    assert gkt("logits-geometry", "--dataset", '{"name": "mnist5k", "seed": 0}', "--zoo", json.dumps(zoo),
               "--out", str(out)).returncode == 0
    keys = {m: e["key"] for m, e in json.loads(out.read_text())["models"].items()}
    assert set(keys.values()) == {"28x28-bilinear-center-1.000", "32x32-bilinear-center-1.000"}
    assert keys["convnext_a"] == keys["effnet_a"] != keys["vit_a"] == keys["resnet10t_a"]


# --- out of memory ------------------------------------------------------------------------------

class OutOfMemoryAbove(torch.nn.Module):
    """A real timm model that fails like a full GPU on batches larger than `limit`."""

    def __init__(self, model: torch.nn.Module, limit: int):
        super().__init__()
        self.model, self.limit, self.sizes = model, limit, []

    def forward(self, x):
        self.sizes.append(len(x))
        if len(x) > self.limit:
            raise torch.cuda.OutOfMemoryError(f"CUDA out of memory. Tried to allocate for {len(x)} images")
        return self.model(x)


def test_out_of_memory_halves_the_batch_down_to_one_then_fails_in_one_line(caplog):
    torch.manual_seed(0)
    model = timm.create_model("resnet10t", num_classes=10, in_chans=1).eval()
    x = torch.randn(10, 1, 32, 32)
    expected = predict(model, [x], CPU)
    wrapped = OutOfMemoryAbove(model, limit=3)
    with caplog.at_level(logging.WARNING):
        got = predict(wrapped, [x, x[:5]], CPU, desc="resnet10t")
    assert got.shape == (15, 10)
    np.testing.assert_allclose(got[:10], expected, rtol=1e-4, atol=1e-5)
    assert wrapped.sizes[:4] == [10, 5, 2, 2]  # 10 fails, 5 fails, then batches of 2 (and the 2 stick)
    assert "out of memory at batch size 10, retrying at 5" in caplog.text
    with pytest.raises(GktError) as err:
        predict(OutOfMemoryAbove(model, limit=0), [x], CPU, desc="resnet10t")
    assert "\n" not in str(err.value) and "even one image at a time" in str(err.value)


# --- transfer inputs ----------------------------------------------------------------------------

class Counting(torch.utils.data.Dataset):
    """An ImageFolder split whose reads are counted: how often the transfer inputs decode an image."""

    def __init__(self, base):
        self.base, self.samples, self.reads = base, base.samples, 0

    def __len__(self):
        return len(self.base)

    def __getitem__(self, i):
        self.reads += 1
        return self.base[i]


def test_transfer_inputs_are_decoded_once_and_bit_identical(imagenet_zoo, tmp_path):
    root, cfg = imagenet_zoo
    dataset = get_dataset(cfg)
    transforms = [model_transform(load_model(n, root / "zoo", dataset)[0]) for n in ("r10", "vit", "r10_48")]
    labels, rows = dataset.labels("train"), np.array([0, 2, 3, 5, 8])
    order = torch.tensor([4, 0, 3, 1, 2])

    def batches(**kw):
        base = Counting(dataset.split("train"))
        b = Batches(Views(base, labels, transforms, indices=rows), batch_size=2, **kw)
        return b, base

    # Today's streaming path: every epoch transforms every image (a transform that does not split).
    stream = Batches(Views(dataset.split("train"), labels, [lambda img, t=t: t(img) for t in transforms],
                           indices=rows), batch_size=2, memory_bytes=0)
    assert stream.images is None and stream.tensors is None
    expected = list(stream(order))
    for kw in ({}, {"memory_bytes": 0, "cache_dir": tmp_path / "cache"}):  # in memory, then memory-mapped
        b, base = batches(**kw)
        assert len(b.images) == 2  # r10 and vit share one geometry
        reads = base.reads
        for _ in range(3):  # epochs
            got = list(b(order))
            assert base.reads == reads
            for (gv, gl, gi), (ev, el, ei) in zip(got, expected):
                assert all(torch.equal(g, e) for g, e in zip(gv, ev)) and torch.equal(gl, el) and torch.equal(gi, ei)
    # The memory-mapped images are keyed by content: another run of the same images decodes nothing.
    files = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert len(files) == 4 and sum(f.endswith(".u8") for f in files) == 2
    again, base = batches(memory_bytes=0, cache_dir=tmp_path / "cache")
    assert base.reads <= 2  # the probes of the two geometries
    assert all(torch.equal(g, e) for g, e in zip(next(iter(again(order)))[0], expected[0][0]))


# --- CD/CRD logits ------------------------------------------------------------------------------

def test_feature_losses_take_logits_from_the_models_own_head():
    from timm.models.volo import VOLO

    torch.manual_seed(0)
    volo = VOLO(layers=(1, 1, 1, 1), img_size=32, patch_size=8, embed_dims=(32, 64, 64, 64), num_heads=(1, 2, 2, 2),
                stem_hidden_dim=16, num_classes=10, outlook_attention=(True, False, False, False),
                downsamples=(True, False, False, False)).eval()
    deit = timm.create_model("deit_tiny_distilled_patch16_224", num_classes=10, img_size=32, patch_size=8,
                             embed_dim=32, depth=1, num_heads=2).eval()
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        for model in (volo, deit):
            feats, logits = features_and_logits(model, x)
            assert torch.equal(logits, model(x)) and feats.shape == (3, model.num_features)
        # VOLO's head adds its auxiliary token head to the classifier's output.
        assert not torch.allclose(volo.get_classifier()(features_and_logits(volo, x)[0]), volo(x))


# --- published vs measured top-1 --------------------------------------------------------------

def test_the_gap_to_timms_published_top1_is_in_the_models_view_and_logged(tmp_path, caplog):
    from gkt.db.build import build_database
    from gkt.db.read import connect
    from gkt.io import write_json

    results = tmp_path / "results" / "imagenet"
    labels = np.repeat(np.arange(10), 10)
    logits = np.eye(10, dtype=np.float32)[labels] * 5
    logits[:3] = np.roll(logits[:3], 1, axis=1)  # 97 % right
    for name, source, published in (("pretrained", "timm", 0.98), ("here", "train", 0.5)):
        record = ModelRecord(name=name, arch="resnet50", source=source, family="cnn", arch_family="resnet", params=1,
                             num_classes=10, dataset="imagenet", weights_hash="h", top1=published)
        write_json(dataclasses.asdict(record), results / "zoo" / f"{name}.json")
        write_logits(results / "logits" / "val" / f"{name}.parquet", logits, labels, {"model": name, "weights_hash": "h"})
        with caplog.at_level(logging.WARNING):
            gap = top1_gap(record, 0.97, "test")
        assert gap == (pytest.approx(-0.01) if source == "timm" else None)
    assert "pretrained: measured val top-1 97.00 % vs 98.00 % in timm's results table (gap -1.00 pp" in caplog.text
    assert "here" not in caplog.text
    con = connect(build_database(results))
    rows = dict(con.execute("SELECT name, round(top1_gap, 4) FROM models").fetchall())
    assert rows == {"pretrained": -0.01, "here": None}
