"""Probe ranking (docs/method.md#probe-ranking): rank a student's candidate teachers by what a short
KL+DP transfer from each of them measures, instead of by statistics known before any transfer.

A probe is the protocol of the full KL+DP run (same settings, transfer set, learning rate and targets)
for `epochs` epochs instead of the run's, read on a **held-out slice of the transfer split** (the
train split): `holdout_per_class` images of every class drawn from the train rows outside the run's
transfer set, or, when the transfer set is the whole split, taken out of the probe's transfer set. A
probe never evaluates on val, the images on which the full runs it is judged against report their
Δtransf.

Score: the probe's Δtransf on the slice (accuracy after the probe minus before). It is the quantity
the ranking must predict, measured by the same protocol early; its positive and negative flips are in
it (Δtransf = gain − loss, both kept in the probe's metrics). The train loss's slope is not used: the
KL+DP loss's scale depends on the teacher's targets, so slopes do not compare across teachers.

Outputs, under `<results>/recommend/probe/`: one folder per probe, `kl_dp/<teacher>__<student>/metrics.parquet`
(the transfer metrics format, rows at epoch 0 and at the end, on the slice; a finished probe is
recognised by the fingerprint of its inputs and reused), and one table per student,
`<student>.parquet` (PROBE_SCHEMA), which `gkt recommend` joins to the ranking as `probe_delta_transf`.
"""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from gkt.data.base import DatasetSource, stratified_indices
from gkt.errors import GktError
from gkt.recommend.jobs import METHOD, PROBE_DIR, ProbeSpec
from gkt.recommend.schemas import PROBE_SCHEMA
from gkt.transfer.settings import TransferConfig
from gkt.transfer.vocabulary import run_path

log = logging.getLogger(__name__)


def probe_rows(dataset: DatasetSource, cfg: TransferConfig, per_class: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """(the probe's transfer-set rows, the held-out slice's rows, whether the slice came out of the
    transfer set) of the train split, for the run settings `cfg`."""
    labels = dataset.labels("train")
    everything = np.arange(len(labels))
    transfer = everything if not cfg.subset_per_class else stratified_indices(labels, cfg.subset_per_class, cfg.seed)
    outside = np.setdiff1d(everything, transfer)
    classes = np.unique(labels)
    if np.all(np.bincount(labels[outside], minlength=classes.max() + 1)[classes] >= per_class):
        return transfer, outside[stratified_indices(labels[outside], per_class, cfg.seed)], False
    held = transfer[stratified_indices(labels[transfer], per_class, cfg.seed)]
    rest = np.setdiff1d(transfer, held)
    if len(rest) < len(held):
        raise GktError(f"a probe's held-out slice of {per_class} images per class would leave {len(rest)} of the "
                       f"{len(transfer)}-image transfer set: lower recommend.probe.holdout_per_class")
    return rest, held, True


def run_probes(inputs, cfg: TransferConfig, spec: ProbeSpec, student: str, teachers: list[str], probe_dir: Path
               ) -> pa.Table:
    """Probe every teacher of `teachers` for `student` (each reused when finished with the same inputs);
    returns the student's PROBE_SCHEMA table."""
    from tqdm.auto import tqdm

    from gkt.transfer.run import cached_tables, participant, student_participant
    from gkt.transfer.trainer import Reference, Split, Trainer

    ds = inputs.dataset
    train_rows, held, from_transfer = probe_rows(ds, cfg, spec.holdout_per_class)
    both, n = np.concatenate([train_rows, held]), len(train_rows)
    probe_cfg = dataclasses.replace(cfg, epochs=spec.epochs, eval_every=spec.epochs)
    log.info("probing %d teacher(s) of %s: KL+DP for %d of the run's %d epochs on %d transfer images, read on %d "
             "held-out train images (%s) -> %s", len(teachers), student, spec.epochs, cfg.epochs, len(train_rows),
             len(held), "taken out of the transfer set" if from_transfer else "outside the transfer set", probe_dir)
    rows = []
    frozen = None  # the student's cached logits on both sets: read once, not once per teacher (GBs at paper scale)
    for teacher in tqdm(teachers, desc=f"probes of {student}", unit="teacher", disable=None):
        s, s_rec = student_participant(inputs, student, cfg.augmentation)
        t, t_rec = participant(inputs, teacher, cfg.augmentation)
        tables = cached_tables(inputs, [t_rec], s_rec if frozen is None else None, both)
        reference, targets = Reference(), None
        if tables is not None:  # else the trainer computes targets and reference predictions itself
            if frozen is None:
                frozen = tables.get("frozen")
            else:
                tables["frozen"] = frozen
            targets = {k: v[..., :n, :] for k, v in tables.items()}
            reference = Reference(teacher_preds=tables["teachers"][:, n:].argmax(-1).numpy())
        run = run_path(METHOD, teacher, student)  # the KL+DP run folder's layout, under probe_dir
        trainer = Trainer(
            probe_cfg, s, [t], Split(ds.split("train"), ds.labels("train"), train_rows),
            Split(ds.split("train"), ds.labels("train"), held, name="held-out train"), probe_dir / run, inputs.device,
            tables=targets if probe_cfg.targets == "cached" else None, reference=reference,
            provenance={"train_samples": ds.samples_key("train", train_rows),
                        "holdout_samples": ds.samples_key("train", held), "eval_size": inputs.eval_size},
            outputs=False)
        done = trainer.fit().rows
        last = done[-1]
        rows.append({"student": student, "teacher": teacher, "probe_delta_transf": last["delta_transf"],
                     "probe_delta_transf_se": last["delta_transf_se"],
                     "gain": last["gain"], "loss": last["loss"], "acc_before": last["acc_student"],
                     "acc_after": last["acc"], "epochs": spec.epochs, "run_epochs": cfg.epochs,
                     "transfer_images": len(train_rows), "holdout_images": len(held),
                     "seconds": sum(r["seconds"] for r in done), "folder": f"{PROBE_DIR}/{run}"})
    return pa.Table.from_pylist(rows, schema=PROBE_SCHEMA)


def read_probes(results: Path) -> pl.DataFrame:
    """teacher, student, probe_delta_transf of every student's probe table under `results`."""
    from gkt.io import read_parquet

    parts = [pl.from_arrow(read_parquet(p, "probe table", missing="", damaged="delete it and rerun its probes",
                                        columns=["teacher", "student", "probe_delta_transf"]))
             for p in sorted((results / PROBE_DIR).glob("*.parquet"))]
    if not parts:
        return pl.DataFrame(schema={"teacher": pl.String, "student": pl.String, "probe_delta_transf": pl.Float64})
    return pl.concat(parts)
