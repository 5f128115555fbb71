"""Semantic similarity of top-X % class sets: a fixed tiny embedding, the tables, encoder choice (the paper's
CLIP from a checkpoint in the Hugging Face cache, MiniLM as the announced fallback)."""
from __future__ import annotations

import json
import logging
import math

import numpy as np
import pyarrow.parquet as pq
import pytest

from gkt.cli import main
from gkt.complementary import semantic
from gkt.complementary.schemas import SEMANTIC_SCHEMA
from gkt.complementary.semantic import embeddings_table, read_embeddings, semantic_table, set_similarity
from gkt.complementary.stats import pair_stats, per_class_table
from gkt.errors import GktError
from gkt.io import write_parquet

# Cosines: (0,1) = (1,2) = 1/√2, every other pair 0, so sim_all = (2/√2) / 6 = √2/6.
# Rows are scaled on purpose: only directions count.
EMB = np.array([[2.0, 0, 0], [1, 1, 0], [0, 3, 0], [0, 0, 0.5]])
SIM_ALL = math.sqrt(2) / 6
NAMES = ["a", "b", "c", "d"]


def test_set_similarity_of_nested_prefixes():
    ranked = np.array([[1, 0, 2, 3]])
    sim_set, sim_all = set_similarity(EMB, ranked, np.array([[0, 1, 2, 3, 4]]))
    assert sim_all == pytest.approx(SIM_ALL)
    # k < 2: no class pairs → NaN; {1, 0}: 1/√2; {1, 0, 2}: (1/√2 + 1/√2 + 0) / 3; all four: sim_all
    assert np.isnan(sim_set[0, :2]).all()
    assert sim_set[0, 2:] == pytest.approx([1 / math.sqrt(2), math.sqrt(2) / 3, SIM_ALL])
    rel = (sim_set - sim_all) / sim_all
    assert rel[0, 2:] == pytest.approx([2.0, 1.0, 0.0])


def test_set_similarity_follows_each_pairs_ranking():
    ranked = np.array([[3, 0, 1, 2], [2, 1, 0, 3]])
    sim_set, _ = set_similarity(EMB, ranked, np.array([[2], [2]]))
    assert sim_set[:, 0] == pytest.approx([0.0, 1 / math.sqrt(2)])


def test_semantic_table_from_per_class_statistics():
    labels = np.repeat(np.arange(4), 5)
    student = labels.copy()
    student[[0, 1, 2, 5, 6, 10]] = 3  # wrong on 3 samples of class 0, 2 of class 1, 1 of class 2
    preds = np.stack([labels, student])
    st = pair_stats(preds, labels, [(0, 1), (1, 1)], num_classes=4)
    per_class = per_class_table(st, [("t", "s"), ("s", "s")], NAMES)
    table = semantic_table(per_class, NAMES, EMB, "fixed", xs=[2, 50, 60, 100])
    assert table.schema.remove_metadata().equals(SEMANTIC_SCHEMA)
    rows = table.to_pylist()
    # pair (t, s): flips 3, 2, 1, 0 over classes 0..3: top 2 % → {0}; 50 % → {0}; 60 % → {0, 1}; 100 % → {0, 1, 2}
    assert [r["k"] for r in rows[:4]] == [1, 1, 2, 3]
    assert math.isnan(rows[0]["sim_set"]) and math.isnan(rows[0]["rel_sim"])
    assert rows[2]["sim_set"] == pytest.approx(1 / math.sqrt(2)) and rows[2]["rel_sim"] == pytest.approx(2.0)
    assert rows[3]["rel_sim"] == pytest.approx(1.0)
    # pair (s, s): no positive flips → empty sets
    assert [r["k"] for r in rows[4:]] == [0, 0, 0, 0] and all(math.isnan(r["sim_set"]) for r in rows[4:])
    assert {r["encoder"] for r in rows} == {"fixed"}
    assert [r["sim_all"] for r in rows] == pytest.approx([SIM_ALL] * 8)


def test_semantic_table_refuses_mismatched_inputs():
    labels = np.arange(4)
    st = pair_stats(np.stack([labels, (labels + 1) % 4]), labels, [(0, 1)], num_classes=4)
    per_class = per_class_table(st, [("t", "s")], NAMES)
    with pytest.raises(GktError, match="class names"):
        semantic_table(per_class, ["a", "b", "c", "x"], EMB, "fixed")
    with pytest.raises(GktError, match="multiple of 3"):
        semantic_table(per_class, NAMES[:3], EMB[:3], "fixed")
    with pytest.raises(GktError, match="layout"):
        semantic_table(per_class.take([1, 0, 2, 3]), NAMES, EMB, "fixed")
    with pytest.raises(GktError, match=r"\(0, 100\]"):
        semantic_table(per_class, NAMES, EMB, "fixed", xs=[0])


def test_embeddings_round_trip(tmp_path):
    write_parquet(embeddings_table(NAMES, EMB, "fixed"), tmp_path / "emb.parquet")
    names, emb, encoder = read_embeddings(tmp_path / "emb.parquet")
    assert names == NAMES and encoder == "fixed" and np.allclose(emb, EMB)
    with pytest.raises(GktError, match="embed-classes"):
        read_embeddings(tmp_path / "none.parquet")


def test_semantic_command(tmp_path):
    labels = np.repeat(np.arange(4), 2)
    st = pair_stats(np.stack([labels, (labels + 1) % 4]), labels, [(0, 1)], num_classes=4)
    write_parquet(per_class_table(st, [("t", "s")], NAMES), tmp_path / "per_class.parquet")
    write_parquet(embeddings_table(NAMES, EMB, "fixed"), tmp_path / "emb.parquet")
    assert main(["semantic", "--per-class", str(tmp_path / "per_class.parquet"), "--embeddings",
                 str(tmp_path / "emb.parquet"), "--x", "50", "100", "--out", str(tmp_path / "semantic.parquet")]) == 0
    rows = pq.read_table(tmp_path / "semantic.parquet").to_pylist()
    assert [(r["x"], r["k"]) for r in rows] == [(50.0, 2), (100.0, 4)]
    assert main(["semantic", "--per-class", str(tmp_path / "per_class.parquet"), "--embeddings",
                 str(tmp_path / "emb.parquet"), "--x", "120", "--out", str(tmp_path / "bad.parquet")]) == 2


def test_clip_weights_are_found_only_in_the_local_cache(tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    assert semantic.cached_clip_weights() is None
    repo = tmp_path / "models--timm--vit_base_patch32_clip_224.openai"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc")
    (repo / "snapshots" / "abc").mkdir(parents=True)
    (repo / "snapshots" / "abc" / "open_clip_model.safetensors").write_bytes(b"")
    assert semantic.cached_clip_weights() == ("openai", str(repo / "snapshots" / "abc" / "open_clip_model.safetensors"))


def test_minilm_fallback_embeds_related_names_closer(monkeypatch):
    import torch

    torch.set_num_threads(1)
    monkeypatch.setattr(semantic, "cached_clip_weights", lambda: None)
    emb, encoder = semantic.embed_class_names(["cat", "dog", "truck"])
    assert encoder == "sentence-transformers:all-MiniLM-L6-v2" and emb.shape == (3, 384) and emb.dtype == np.float32
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    assert unit[0] @ unit[1] > unit[0] @ unit[2]


@pytest.fixture
def hf_cache(tmp_path, monkeypatch):
    """An empty Hugging Face hub cache that huggingface_hub's lookups use (HF_HUB_OFFLINE=1: tests/conftest.py)."""
    import huggingface_hub.constants

    hub = tmp_path / "hub"
    hub.mkdir()
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(hub))
    return hub


def test_embed_classes_uses_openai_clip_from_a_checkpoint_in_the_hub_layout(hf_cache, tmp_path, gkt):
    """A ViT-B-32 with random weights where open_clip's pretrained cfg for 'openai' puts OpenAI's: the hub
    repo of its `hf_hub` entry, refs/main naming a snapshot that holds open_clip_model.safetensors."""
    import os

    import open_clip
    import safetensors.torch
    import torch
    from open_clip import pretrained
    from open_clip.constants import HF_SAFE_WEIGHTS_NAME

    torch.manual_seed(0)
    model = open_clip.create_model("ViT-B-32", pretrained=None, force_quick_gelu=True).eval()  # 'openai': QuickGELU
    repo_id = os.path.split(pretrained.get_pretrained_cfg("ViT-B-32", "openai")["hf_hub"])[0]
    repo = hf_cache / ("models--" + repo_id.replace("/", "--"))
    commit = "0123456789abcdef0123456789abcdef01234567"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    (repo / "snapshots" / commit).mkdir(parents=True)
    safetensors.torch.save_file({k: v.contiguous() for k, v in model.state_dict().items()},
                                str(repo / "snapshots" / commit / HF_SAFE_WEIGHTS_NAME))

    out = tmp_path / "class_embeddings.parquet"
    proc = gkt("embed-classes", "--dataset", '{"name": "digits"}', "--fetch-clip", "--threads", "1", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    names, emb, encoder = read_embeddings(out)
    assert encoder == "open_clip:ViT-B-32/openai" and emb.shape == (10, 512)
    assert json.loads(pq.read_schema(out).metadata[b"encoder"]) == encoder
    # The checkpoint's own text tower made them.
    with torch.no_grad():
        expected = model.encode_text(open_clip.get_tokenizer("ViT-B-32")([f"a photo of a {n}." for n in names]))
    np.testing.assert_allclose(emb, expected.numpy(), rtol=1e-4, atol=1e-4)


def test_without_clip_weights_minilm_is_announced_and_recorded(hf_cache, tmp_path, gkt, caplog):
    out = tmp_path / "class_embeddings.parquet"
    with caplog.at_level(logging.WARNING):
        proc = gkt("embed-classes", "--dataset", '{"name": "digits"}', "--fetch-clip", "--threads", "1", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and r.name == semantic.__name__]
    assert len(warnings) == 1
    line = warnings[0].getMessage()
    assert "\n" not in line and "all-MiniLM-L6-v2" in line and "Fig. 2b will use MiniLM" in line
    assert "HF_HUB_OFFLINE=1" in line and "rerun embed_classes where there is network" in line  # how to get CLIP
    _, emb, encoder = read_embeddings(out)
    assert encoder == semantic.MINILM == json.loads(pq.read_schema(out).metadata[b"encoder"]) and emb.shape == (10, 384)


def test_fig2b_caption_names_the_encoder_of_the_data():
    import polars as pl

    from gkt.figures.catalog import get_figure

    spec = get_figure("fig2b")
    for encoder in ("open_clip:ViT-B-32/openai", semantic.MINILM):
        assert f"Text encoder: {encoder} (" in spec.caption_for(pl.DataFrame({"x": [2.0], "encoder": [encoder]}))
    assert "Text encoder: (column encoder)" in spec.caption_for()  # skipped: no data to name it from
