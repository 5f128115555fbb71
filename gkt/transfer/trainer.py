"""The transfer loop (docs/method.md#transfer-protocol): student, teacher(s) and a frozen copy of the student.

Every epoch: train on the transfer set (SGD, momentum 0.9, weight decay 1e-3) and save `checkpoint.pt`;
every `eval_every` epochs and after the last, also evaluate on val and append a row to
`metrics.parquet`. A run killed at any point resumes from the last epoch checkpoint and redoes that epoch; since each epoch's randomness (sample order, dropout,
augmentation, CRD negatives) is seeded from (seed, epoch) alone, the resumed run ends with exactly
the weights of an uninterrupted one on a deterministic device.

At the end: `student.safetensors` (the MCL slow weights for `*_mcl`), `logits.parquet` (val logits
in the logits-cache format) and `per_class.parquet` (gkt.transfer.outputs). The checkpoint and the
fingerprint of the run's inputs: gkt.transfer.checkpoint; DP's routing shares: gkt.transfer.routing.
"""
from __future__ import annotations

import copy
import dataclasses
import json
import logging
import math
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from gkt.device import autocast, channels_last, seed_all
from gkt.inference import predict as run_model
from gkt.errors import GktError
from gkt.transfer.checkpoint import FINGERPRINT_KEY, finished_rows, fingerprint, load_checkpoint, save_checkpoint
from gkt.transfer.feed import Batches, Targets, Views, distinct, features_and_logits
from gkt.transfer.losses import LossContext, TransferBatch
from gkt.transfer.objectives import build_loss
from gkt.transfer import vocabulary as vocab
from gkt.transfer.mcl import MCL
from gkt.transfer.metrics import write_metrics
from gkt.transfer.outputs import metrics_row, row_hparams, write_outputs
from gkt.transfer.routing import RoutingShares
from gkt.transfer.settings import TransferConfig

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Participant:
    """A model and its own preprocessing (eval, and with augmentation when configured)."""

    name: str
    model: nn.Module
    transform: Callable
    train_transform: Callable | None = None


@dataclasses.dataclass
class Split:
    """A split as raw (image, label) items plus all labels; `indices` selects the rows used."""

    dataset: torch.utils.data.Dataset
    labels: np.ndarray
    indices: np.ndarray | None = None
    name: str = "val"  # what logs call it when the run evaluates on it (a probe's: held-out train images)


@dataclasses.dataclass
class Reference:
    """Val predictions the metrics compare against; computed by the trainer when absent.
    `student_pred` is the initial student's (for sequential transfer: the original student's)."""

    teacher_preds: np.ndarray | None = None  # [K, n_val]
    student_pred: np.ndarray | None = None  # [n_val]


@dataclasses.dataclass
class TransferResult:
    model: nn.Module
    rows: list[dict]
    val_logits: np.ndarray


def seed_epoch(seed: int, epoch: int) -> int:
    """Seed every RNG a training epoch draws from; returns the seed for the sample order."""
    s = seed * 1_000_003 + epoch
    seed_all(s)
    return s


def predict(model: nn.Module, batches: Batches, device: torch.device) -> np.ndarray:
    """float32 logits [n, C] of a single-view set, in set order (gkt.inference's loop)."""
    return run_model(model, (views[0] for views, _, _ in batches()), device, batches.desc)


class Trainer:
    def __init__(self, cfg: TransferConfig, student: Participant, teachers: list[Participant], train: Split,
                 val: Split, out_dir: str | Path, device: torch.device, *,
                 tables: dict[str, torch.Tensor] | None = None, reference: Reference | None = None,
                 keys: dict[str, str] | None = None, logits_meta: dict | None = None,
                 provenance: dict | None = None, outputs: bool = True):
        """`cfg`: settings as `TransferConfig.from_dict` checked them.
        `tables`: precomputed targets in transfer-set order (see `feed.Targets`), e.g. from the
        logits cache; missing ones are computed once when `cfg.targets == 'cached'`.
        `keys`: the labels of the metrics rows (`vocab.run_keys`; multi-teacher runs pass their own).
        `provenance`: content keys of the inputs the trainer cannot see (the split's samples keys);
        the participants' weights hashes are taken here, before any training.
        `outputs`: False for a probe (gkt.recommend.probe), which keeps only metrics.parquet, with the
        run's fingerprint in its metadata so that a finished probe is recognised without its checkpoint,
        which it deletes (a checkpoint per candidate teacher would hold the student's weights 300 times)."""
        if not teachers:
            raise GktError("transfer needs at least one teacher: pass --teacher")
        for t in teachers:
            if t.name == student.name or t.model is student.model:
                raise GktError(f"teacher {t.name!r} is the student itself: pick a different teacher or student")
        self.cfg, self.student, self.teachers = cfg, student, teachers
        self.train_split, self.val_split = train, val
        self.out_dir, self.device = Path(out_dir), device
        self.tables, self.reference = tables, reference or Reference()
        self.loss = build_loss(cfg.method, **cfg.loss)
        self.use_mcl = vocab.split_method(cfg.method)[1]
        self.keys = dict(keys) if keys else vocab.run_keys(cfg.method, [t.name for t in teachers], student.name)
        self.logits_meta, self.outputs = logits_meta or {}, outputs
        self.checkpoint_path = self.out_dir / "checkpoint.pt"
        from gkt.zoo.store import weights_hash

        self.provenance = {"student_weights": weights_hash(student.model),
                           "teacher_weights": [weights_hash(t.model) for t in teachers], **(provenance or {})}

    # ----------------------------------------------------------------------------------- setup
    def _views(self, split: Split, transforms: list[Callable], random_views: bool = False) -> Views:
        return Views(split.dataset, split.labels, transforms, random_views, split.indices)

    def _check_classes(self) -> int:
        """All models must predict the same label space; checked on one val sample, before any work."""
        dims = {}
        for p in (self.student, *self.teachers):
            with torch.no_grad():
                dims[p.name] = p.model.eval()(self._probe(p)).shape[-1]
        n_cls = dims[self.student.name]
        for name, c in dims.items():
            if c != n_cls:
                raise GktError(f"teacher {name!r} predicts {c} classes but student {self.student.name!r} predicts "
                               f"{n_cls}: transfer needs one label space; use models trained on the same dataset")
        if self.tables is not None and self.tables["teachers"].shape[-1] != n_cls:
            raise GktError(f"cached teacher logits have {self.tables['teachers'].shape[-1]} classes, the student "
                           f"{n_cls}: rebuild the logits cache for this dataset")
        return n_cls

    def _probe(self, p: Participant) -> torch.Tensor:
        """One val sample in `p`'s preprocessing, on the device its model lives on."""
        x = self._views(self.val_split, [p.transform])[0][0][0][None]
        return x.to(next(p.model.parameters()).device)

    def _feature_dim(self, p: Participant) -> int:
        with torch.no_grad():
            return features_and_logits(p.model.eval(), self._probe(p))[0].shape[-1]

    def prepare(self) -> None:
        """Everything before the first step: reference predictions, data, targets, loss state, optimizer."""
        cfg, dev = self.cfg, self.device
        # The loss's own parameters (CRD's heads and memory) are drawn here, before any epoch seeds.
        seed_all(cfg.seed)
        self.num_classes = self._check_classes()
        channels_last(self.student.model.to(dev))
        self.val_batches = Batches(self._views(self.val_split, [self.student.transform]), cfg.eval_batch_size,
                                   cfg.workers, desc=self.val_split.name)
        self.val_labels = self.val_batches.labels.numpy()
        self._references()
        self._train_data()
        if self.loss.needs_features or self.loss.needs_index:
            self.loss.bind(LossContext(
                student_dim=self._feature_dim(self.student),
                teacher_dims=tuple(self._feature_dim(t) for t in self.teachers),
                labels=self.train_batches.labels))
        self.loss.to(dev)
        params = [*self.student.model.parameters(), *self.loss.parameters()]
        self.optimizer = torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
        self.mcl = MCL(self.student.model, cfg.tau, cfg.every) if self.use_mcl else None
        # What the run is made from does not change while it trains: hashed once, not at every epoch's save
        # (the targets alone are 130,000 x 1,000 floats per teacher at paper scale).
        self.fingerprint = fingerprint(self.cfg, self.keys, self.provenance,
                                       [len(self.train_batches), len(self.val_batches)],
                                       self.targets.tables or {}, self.reference)

    def _references(self) -> None:
        """Val predictions of the initial student and the teachers. Runs before any checkpoint
        overwrites the student; its initial val logits also make the epoch-0 row."""
        ref, dev = self.reference, self.device
        self.initial_logits = predict(self.student.model, self.val_batches, dev)
        student_pred = ref.student_pred if ref.student_pred is not None else self.initial_logits.argmax(1)
        teacher_preds = ref.teacher_preds
        if teacher_preds is None:
            teacher_preds = np.stack([
                predict(t.model.to(dev), Batches(self._views(self.val_split, [t.transform]), self.cfg.eval_batch_size,
                                                  self.cfg.workers, desc=f"val {t.name}"), dev).argmax(1)
                for t in self.teachers])
        self.reference = Reference(teacher_preds=np.atleast_2d(teacher_preds), student_pred=student_pred)

    def _train_data(self) -> None:
        """Transfer-set batches (every model's view when targets are live, the student's otherwise)
        and the source of targets: live forwards, or tables computed once / given."""
        cfg, dev = self.cfg, self.device
        random_views, live = cfg.augmentation != "none", cfg.targets == "live"
        people = [self.student, *self.teachers]
        train_tf = [(p.train_transform or p.transform) if random_views else p.transform for p in people]
        kept, slots = distinct(train_tf if live else train_tf[:1])
        self.train_batches = Batches(self._views(self.train_split, kept, random_views), cfg.batch_size,
                                     cfg.workers, desc="train")
        self.student_slot = slots[0]
        needed = {"teachers"} | ({"frozen"} if self.loss.needs_frozen else set()) | \
                 ({"teacher_feats"} if self.loss.needs_features else set())
        tables = self.tables
        missing = tables is None or not needed <= set(tables)
        if live or missing:
            # Models only go to the device when they will run: given tables need none of them.
            frozen = copy.deepcopy(self.student.model).eval().requires_grad_(False) if self.loss.needs_frozen else None
            teacher_models = [t.model.to(dev).eval().requires_grad_(False) for t in self.teachers]
        if live:
            self.targets = Targets(teacher_models, frozen, slots[1:], self.student_slot, dev, self.loss.needs_features)
            return
        if missing:
            t0 = time.perf_counter()
            kept_eval, slots_eval = distinct([p.transform for p in people])
            once = Targets(teacher_models, frozen, slots_eval[1:], slots_eval[0], dev, self.loss.needs_features)
            tables = once.tabulate(Batches(self._views(self.train_split, kept_eval), cfg.eval_batch_size,
                                           cfg.workers, desc="targets"), desc="train")
            log.info("targets for %d transfer samples computed once in %.1f s", len(self.train_batches),
                     time.perf_counter() - t0)
        self.targets = Targets([], None, [], 0, dev, False, tables={k: tables[k] for k in needed})

    # ------------------------------------------------------------------------------ checkpoints
    def _save(self, epoch: int, rows: list[dict]) -> None:
        save_checkpoint(self.checkpoint_path, {
            "epoch": epoch, "fingerprint": self.fingerprint, "rows": rows,
            "student": self.student.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "loss": self.loss.state_dict(), "mcl": self.mcl.state_dict() if self.mcl else None,
            "routing": self.routing.counts,
        })

    def _resume(self) -> tuple[int, list[dict]]:
        state = load_checkpoint(self.checkpoint_path, self.device, self.fingerprint)
        if state is None:
            return -1, []
        self.student.model.load_state_dict(state["student"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.loss.load_state_dict(state["loss"])
        if self.mcl:
            self.mcl.load_state_dict(state["mcl"])
        self.routing.counts.copy_(state["routing"])
        log.info("resuming %s after epoch %d from %s", self.keys["method"], state["epoch"], self.checkpoint_path)
        return int(state["epoch"]), state["rows"]

    # ------------------------------------------------------------------------------- the loop
    def _train_epoch(self, epoch: int, routing: RoutingShares) -> float:
        """One pass over the transfer set, counting DP's routing into `routing`; returns the mean loss."""
        order = torch.randperm(len(self.train_batches), generator=torch.Generator().manual_seed(
            seed_epoch(self.cfg.seed, epoch)))
        self.student.model.train()
        total, steps = torch.zeros((), device=self.device), 0
        for views, labels, index in tqdm(self.train_batches(order), desc=f"epoch {epoch}", unit="batch",
                                         total=math.ceil(len(order) / self.cfg.batch_size), disable=None, leave=False):
            loss = self.step(views, labels, index, routing)
            total += loss
            steps += 1
        return total.item() / max(steps, 1)

    def step(self, views: tuple[torch.Tensor, ...], labels: torch.Tensor, index: torch.Tensor,
             routing: RoutingShares | None = None) -> torch.Tensor:
        """One optimizer step on a batch (as `Batches` yields it); returns the detached loss."""
        dev, model = self.device, self.student.model
        x = channels_last(views[self.student_slot].to(dev, non_blocking=True))
        labels = labels.to(dev, non_blocking=True)
        with autocast(dev):
            feats = None
            if self.loss.needs_features:
                feats, logits = features_and_logits(model, x)
            else:
                logits = model(x)
            tg = self.targets(views, index)
            out = self.loss(TransferBatch(student=logits, teachers=tg["teachers"], labels=labels,
                                          frozen=tg["frozen"], index=index.to(dev), student_feats=feats,
                                          teacher_feats=tg["teacher_feats"]))
        self.optimizer.zero_grad(set_to_none=True)
        out.loss.backward()
        self.optimizer.step()
        if self.mcl:
            self.mcl.step()
        if routing is not None and out.route is not None:
            routing.update(out.route, tg["teachers"], tg["frozen"], labels)
        return out.loss.detach()

    def _row(self, epoch: int, pred: np.ndarray, seconds: float, dp: tuple[float, float]) -> dict:
        return metrics_row(self.keys, epoch, self.val_labels, self.reference, pred, seconds, dp,
                           row_hparams(self.cfg, self.loss))

    @property
    def result_model(self) -> nn.Module:
        """The transferred model: MCL's slow weights, else the trained student."""
        return self.mcl.slow if self.mcl else self.student.model

    def fit(self) -> TransferResult:
        t_setup = time.perf_counter()
        self.prepare()
        # DP's routing since the previous metrics row (checkpointed, so a resumed run counts the same).
        self.routing = RoutingShares(self.device)
        metrics_path = self.out_dir / "metrics.parquet"
        meta = None if self.outputs else {FINGERPRINT_KEY: json.dumps(self.fingerprint, sort_keys=True)}
        if not self.outputs:
            rows = finished_rows(metrics_path, meta[FINGERPRINT_KEY], self.cfg.epochs)
            if rows is not None:
                log.info("%s: finished before with these inputs (%s)", self.out_dir, metrics_path)
                return TransferResult(self.result_model, rows, None)
        done, rows = self._resume()
        val_logits = None
        if done < 0:
            val_logits = self.initial_logits
            rows = [self._row(0, val_logits.argmax(1), time.perf_counter() - t_setup, (math.nan, math.nan))]
            self._save(0, rows)
            write_metrics(rows, metrics_path, meta)
            done = 0
        what = f"{self.keys['method']} {self.keys['teacher']} -> {self.keys['student']}"
        t0 = time.perf_counter()
        for epoch in tqdm(range(done + 1, self.cfg.epochs + 1), desc=what, unit="epoch", disable=None):
            mean_loss = self._train_epoch(epoch, self.routing)
            val_logits = None
            # Evaluated every `eval_every` epochs and after the last: on small models the val pass
            # costs as much as training. A row's seconds cover the epochs since the previous row.
            if epoch % self.cfg.eval_every == 0 or epoch == self.cfg.epochs:
                val_logits = predict(self.result_model, self.val_batches, self.device)
                rows.append(self._row(epoch, val_logits.argmax(1), time.perf_counter() - t0, self.routing.shares()))
                t0, self.routing = time.perf_counter(), RoutingShares(self.device)
                write_metrics(rows, metrics_path, meta)
                log.info("%s: epoch %d/%d train loss %.4f, %s acc %.4f (delta %+.4f)", what, epoch,
                         self.cfg.epochs, mean_loss, self.val_split.name, rows[-1]["acc"], rows[-1]["delta_transf"])
            self._save(epoch, rows)
        if val_logits is None:  # resumed after the last epoch: only the outputs were missing
            val_logits = predict(self.result_model, self.val_batches, self.device)
            write_metrics(rows, metrics_path, meta)  # a rerun may have removed it with the other outputs
        if self.outputs:
            self._write_outputs(val_logits)
        else:
            self.checkpoint_path.unlink()
        return TransferResult(self.result_model, rows, val_logits)

    def _write_outputs(self, val_logits: np.ndarray) -> None:
        write_outputs(self.out_dir, self.result_model, val_logits, self.val_labels, self.reference,
                      self.num_classes, self.keys, self.logits_meta)
