"""The ImageNet path rehearsed (workflow/config/rehearsal.yaml) through the real workflow, and timm parity.

Seven timm ImageNet classifiers load by their pretrained tags (`source: timm`) from a Hugging Face cache
that the fixture fills with random weights in the hub layout, with HF_HUB_OFFLINE=1; JPEGs of ImageNet's
usual sizes sit in synset folders. Every stage runs: the zoo, logits groups at timm's test size, pair
statistics and semantic similarity over the 1,000 ImageNet class names, a KL+DP transfer run, the teacher
ranking, the database and the figures.

Parity: each cache's `pred` is the top-1 of timm's own evaluation (`resolve_data_config(model=m,
use_test_size=True)` + `create_transform` + the model, on PIL images converted to RGB as timm's
ImageDataset does: the convention of timm's validate.py) on every image, and its logits agree within
float16 rounding; `eval_size: train` is checked against `use_test_size=False` the same way.
"""
from __future__ import annotations

import hashlib
import json
import time
from types import SimpleNamespace

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest
import safetensors.torch
import timm
import torch
import yaml
from PIL import Image
from timm.data import ImageNetInfo, create_transform, resolve_data_config

from gkt.figures.catalog import list_figures
from gkt.logits.cache import read_logits
from tests.helpers import REPO, SYNSETS, smooth_image, snakemake, write_image_folder

CONFIG = "workflow/config/rehearsal.yaml"
ZOO = yaml.safe_load((REPO / CONFIG).read_text())["zoo"]
TAGS = [e["arch"] for e in ZOO if e["source"] == "timm"]
# tench, goldfish, Chihuahua (151), hen (8), golden retriever (207), tabby cat (281), garbage truck (569), sports car (817)
CLASSES = SYNSETS + ["n01514859", "n02099601", "n02123045", "n03417042", "n04285008"]
PER_CLASS = 3
SIZES = [(500, 375), (375, 500), (500, 333), (333, 500), (500, 500)]  # ImageNet's usual shapes


def head_layers(model: torch.nn.Module) -> list[torch.nn.Linear]:
    return [m for m in model.modules() if isinstance(m, torch.nn.Linear) and m.out_features == 1000]


def random_weights(tag: str, seed: int, classes: list[int]) -> dict[str, torch.Tensor]:
    """timm's random init with the classifier redrawn. Random features of similar images share one large
    component, so a random head would give every image the same top-1; this head projects the features
    standardised over images like the rehearsal's (logits of unit spread that differ between images) and
    favours the classes the images belong to: each model is right on some images and wrong on others,
    each on its own, so the pairs have flips to count."""
    torch.manual_seed(seed)
    model = timm.create_model(tag, pretrained=False).eval()
    heads = head_layers(model)
    assert heads, tag
    seen = []
    hooks = [layer.register_forward_hook(lambda m, args, out: seen.append(args[0].detach())) for layer in heads]
    transform = create_transform(**resolve_data_config(model=model))
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        model(torch.stack([transform(smooth_image(rng, SIZES[i % len(SIZES)])) for i in range(16)]))
        for hook in hooks:
            hook.remove()
        for layer, x in zip(heads, seen):
            mean, std = x.mean(0), x.std(0) + 1e-6
            layer.weight.copy_(torch.randn_like(layer.weight) / (std * x.shape[1] ** 0.5))
            bias = -layer.weight @ mean
            bias[classes] += 4.0
            layer.bias.copy_(bias)
    return {k: v.contiguous() for k, v in model.state_dict().items()}


def fill_hf_cache(hub, tags, classes: list[int]) -> None:
    """`hub`/models--timm--<tag>/refs/main (a commit id) and snapshots/<id>/model.safetensors: the layout
    huggingface_hub reads offline, where timm's pretrained tags look."""
    for seed, tag in enumerate(tags):
        repo = hub / ("models--" + timm.models.get_pretrained_cfg(tag).hf_hub_id.replace("/", "--"))
        commit = hashlib.sha1(tag.encode()).hexdigest()
        (repo / "refs").mkdir(parents=True)
        (repo / "refs" / "main").write_text(commit)
        (repo / "snapshots" / commit).mkdir(parents=True)
        safetensors.torch.save_file(random_weights(tag, seed, classes), str(repo / "snapshots" / commit / "model.safetensors"))


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory):
    """The rehearsal run: its folder (`run`), results folder, Snakemake's process, wall seconds, and the
    folder of its HF cache (`hf`) and input cache (`inputs`)."""
    root = tmp_path_factory.mktemp("rehearsal")
    index = {ImageNetInfo().index_to_label_name(i): i for i in range(1000)}
    fill_hf_cache(root / "hf" / "hub", TAGS, [index[s] for s in CLASSES])
    run = root / "run"
    write_image_folder(run / "imagenet", CLASSES, per_class=PER_CLASS, sizes=SIZES)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HF_HOME", str(root / "hf"))
        env.setenv("HF_HUB_OFFLINE", "1")
        env.setenv("GKT_INPUT_CACHE", str(root / "inputs"))
        env.setenv("GKT_INPUT_MEMORY_BYTES", "0")  # ImageNet's path: decoded images in a memory-mapped file
        start = time.perf_counter()
        proc = snakemake(run, config=CONFIG)
        seconds = time.perf_counter() - start
    print(f"\nrehearsal: {seconds:.0f} s of wall time")
    return SimpleNamespace(run=run, results=run / "results" / "rehearsal", proc=proc, seconds=seconds,
                           hf=root / "hf", inputs=root / "inputs")


def val_images(run) -> tuple[list, np.ndarray]:
    """The val JPEGs in ImageFolder order (synset folders, then file names) and their ImageNet labels."""
    files = sorted((run / "imagenet" / "val").glob("*/*.JPEG"))
    index = {ImageNetInfo().index_to_label_name(i): i for i in range(1000)}
    return files, np.array([index[f.parent.name] for f in files])


def test_every_stage_runs_on_the_imagenet_path(rehearsal, monkeypatch):
    run, results = rehearsal.run, rehearsal.results
    # Real ImageNet shapes went in.
    files, _ = val_images(run)
    assert {Image.open(f).size for f in files} >= set(SIZES[:3])

    # The zoo: pretrained tags through the HF cache.
    for tag in TAGS:
        record = json.loads((results / "zoo" / f"{tag}.json").read_text())
        assert record["source"] == "timm" and record["num_classes"] == 1000
    assert len({json.loads((results / "zoo" / f"{t}.json").read_text())["arch_family"] for t in TAGS}) >= 4

    # Logits at timm's test size, computed by the logits groups (two share a geometry at most per group).
    groups = {}
    for manifest in (results / "logits" / "val" / "groups").glob("*.json"):
        groups[manifest.stem] = sorted(json.loads(manifest.read_text())["models"])
    assert sorted(m for ms in groups.values() for m in ms) == sorted(e["name"] for e in ZOO)
    assert max(len(ms) for ms in groups.values()) == 2
    assert any(len(ms) == 2 for ms in groups.values())
    for tag in TAGS:
        meta = read_logits(results / "logits" / "val" / f"{tag}.parquet", num_classes=1000).meta
        model = timm.create_model(tag, pretrained=False)
        assert meta["eval_size"] == "test"
        assert meta["transform"] == json.loads(json.dumps(resolve_data_config(model=model, use_test_size=True)))
    sizes = {read_logits(results / "logits" / "val" / f"{t}.parquet").meta["transform"]["input_size"][1] for t in TAGS}
    assert sizes == {224, 288}

    # Pair statistics and semantic similarity over the 1,000 ImageNet class names.
    per_class = pq.read_table(results / "complementary" / "per_class.parquet")
    assert len(set(per_class.column("class").to_pylist())) == 1000
    embeddings = pq.read_table(results / "complementary" / "class_embeddings.parquet")
    assert embeddings.num_rows == 1000 and embeddings.column("class_name")[281].as_py() == "tabby"
    assert pq.read_table(results / "complementary" / "semantic.parquet").num_rows > 0
    # No CLIP weights in this HF cache and offline: MiniLM, recorded, and said in the terminal.
    assert embeddings.column("encoder")[0].as_py() == "sentence-transformers:all-MiniLM-L6-v2"
    warning = [line for line in rehearsal.proc.stderr.splitlines() if "Fig. 2b will use MiniLM" in line]
    assert len(warning) == 1 and "HF_HUB_OFFLINE=1" in warning[0], rehearsal.proc.stderr[-3000:]

    # The transfer run fed its images through the decoded-input cache (uint8 images decoded once).
    run_dir = results / "transfer" / "kl_dp" / "convnext_atto.d2_in1k__mobilenetv3_small_050.lamb_in1k"
    metrics = pq.read_table(run_dir / "metrics.parquet").to_pylist()
    assert [r["epoch"] for r in metrics] == [0, 1]
    log = (results / "logs" / "transfer" / "kl_dp" / f"{run_dir.name}.log").read_text()
    assert "images decoded once into the input cache" in log
    assert list(rehearsal.inputs.glob("*.u8"))

    # The database answers, and every figure the data allows is rendered.
    monkeypatch.chdir(results)  # the views name their files relative to the results folder
    con = duckdb.connect(str(results / "gkt.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM models").fetchone()[0] == len(ZOO)
    assert con.execute("SELECT count(*) FROM transfer_final").fetchone()[0] == 1
    figures = run / "figures" / "rehearsal"
    rendered = {s.id for s in list_figures() if list(figures.glob(f"{s.id}.*"))}
    # All but those that need what one data set with one single-teacher run cannot give: multi-teacher runs
    # (fig11, tab4, tab9), a second data set (fig9), a domain-shifted teacher (fig10), a student with a
    # stronger and a weaker teacher (tab2), students with several measured teachers (the ranking's two).
    assert rendered == {"fig1a", "fig1b", "fig2a", "fig2b", "fig4a", "fig4b", "fig5a", "fig5b", "fig6", "fig7", "fig8",
                        "tab1", "tab3", "tab7", "tab8", "success", "zoo_rho_pos"}
    assert "Text encoder: sentence-transformers:all-MiniLM-L6-v2 (" in (figures / "index.html").read_text()


def timm_logits(model, files, use_test_size: bool) -> np.ndarray:
    """timm's own evaluation (validate.py's convention): PIL image -> RGB -> create_transform -> model."""
    transform = create_transform(**resolve_data_config(model=model, use_test_size=use_test_size))
    with torch.inference_mode():
        return torch.cat([model(torch.stack([transform(Image.open(f).convert("RGB")) for f in files[i:i + 8]]))
                          for i in range(0, len(files), 8)]).numpy()


def beyond_float16(cached: np.ndarray, reference: np.ndarray) -> float:
    """The largest |cached − reference| beyond float16's rounding (at most 2^-11 of the value): what float32
    arithmetic adds between two batchings and memory layouts of the same computation (a few 1e-6)."""
    return float((np.abs(cached.astype(np.float64) - reference) - 2.0 ** -11 * np.abs(reference)).max())


def parity(cache_path, tag, files, labels, use_test_size):
    model = timm.create_model(tag, pretrained=True).eval()
    reference = timm_logits(model, files, use_test_size)
    cache = read_logits(cache_path, num_classes=1000, rows=len(files))
    assert np.array_equal(cache.label, labels)
    return cache, reference


@pytest.fixture
def hub(rehearsal, monkeypatch):
    """The rehearsal's HF cache for timm's loading in this process (huggingface_hub read HF_HOME at import)."""
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(rehearsal.hf / "hub"))


def test_caches_are_timms_own_evaluation_at_its_test_size(rehearsal, hub):
    run, results = rehearsal.run, rehearsal.results
    files, labels = val_images(run)
    report = []
    for tag in TAGS:
        cache, reference = parity(results / "logits" / "val" / f"{tag}.parquet", tag, files, labels, True)
        assert np.array_equal(cache.pred, reference.argmax(1)), tag
        excess = beyond_float16(cache.logits, reference)
        assert excess <= 1e-5, (tag, excess)
        report.append((tag, len(files), float(np.abs(cache.logits - reference).max()), excess,
                       len(set(cache.pred.tolist())), float((cache.pred == labels).mean())))
    for row in report:
        print("parity %s: %d images, max |Δlogit| %.2e (%.1e beyond float16 rounding), %d distinct top-1, "
              "top-1 accuracy %.2f" % row)


@pytest.mark.parametrize("tag", ["resnet18.a1_in1k", "convnext_atto.d2_in1k"])
def test_eval_size_train_is_timms_evaluation_at_the_training_size(rehearsal, hub, tmp_path, monkeypatch, gkt, tag):
    run, results = rehearsal.run, rehearsal.results
    monkeypatch.chdir(run)
    config = yaml.safe_load((REPO / CONFIG).read_text())
    out = tmp_path / f"{tag}.parquet"
    proc = gkt("logits", "--dataset", json.dumps(config["dataset"]), "--model", tag, "--zoo-dir", str(results / "zoo"),
               "--split", "val", "--out", str(out), "--batch-size", "8", "--eval-size", "train")
    assert proc.returncode == 0, proc.stderr
    files, labels = val_images(run)
    cache, reference = parity(out, tag, files, labels, False)
    assert cache.meta["eval_size"] == "train" and cache.meta["transform"]["input_size"] == [3, 224, 224]
    assert np.array_equal(cache.pred, reference.argmax(1))
    excess = beyond_float16(cache.logits, reference)
    assert excess <= 1e-5, excess
    print(f"parity {tag} at the training size: {len(files)} images, max |Δlogit| "
          f"{np.abs(cache.logits - reference).max():.2e} ({excess:.1e} beyond float16 rounding)")
