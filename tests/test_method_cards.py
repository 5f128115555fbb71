"""A transfer method is its registered loss class with its card (gkt.transfer.vocabulary.MethodCard):
registering one, here in the test alone, makes it a method of the CLI with its hyperparameters
checked against the card's ranges, of the database and of the figures under its label. The card file
that readers without torch use (gkt/transfer/methods.json) is the classes' own."""
import json
import re
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from gkt.cli import main
from gkt.db.read import connect
from gkt.transfer import vocabulary as vocab
from gkt.transfer.losses import LOSSES, KLDist, LossOutput, kl_t, register
from tests.helpers import REPO, tiny_zoo


def test_card_file_is_the_classes_cards():
    proc = subprocess.run([sys.executable, "-c", "import scripts.method_cards as m; print(m.cards_json(), end='')"],
                          cwd=REPO, capture_output=True, text=True, check=True)
    assert proc.stdout == vocab.CARDS_FILE.read_text(), "gkt/transfer/methods.json is stale: python scripts/method_cards.py"
    # What Snakemake reads at parse time, without torch, is what the classes declare.
    torch_free = subprocess.run([sys.executable, "-c", "import sys, json; from gkt.transfer import vocabulary as v; "
                                 "print(json.dumps({k: c.to_json() for k, c in v.CARDS.items()}), 'torch' in sys.modules)"],
                                capture_output=True, text=True, check=True).stdout.rsplit(" ", 1)
    assert torch_free[1].strip() == "False"
    assert json.loads(torch_free[0]) == {name: cls.card.to_json() for name, cls in LOSSES.items()}


@pytest.fixture
def half_kl():
    """KL-Dist at half weight, registered as method `kl_half` for one test."""
    card = vocab.MethodCard({"temperature": vocab.positive(1.0), "weight": vocab.unit(0.5)}, "KL half", "distillation",
                            "#123456", order=0)

    @register("kl_half", card)
    class KLHalf(KLDist):
        def __init__(self, temperature: float, weight: float):
            super().__init__(temperature, lam=1.0, smoothing=0.0)
            self.weight = weight

        def distill(self, batch):
            return LossOutput(self.weight * kl_t(batch.teachers, batch.student, self.temperature).mean())

    yield KLHalf
    LOSSES.pop("kl_half")
    vocab.CARDS.pop("kl_half")


def test_a_method_registered_alone_runs_through_the_cli_the_database_and_a_figure(half_kl, tmp_path, mnist, capsys):
    results = tiny_zoo(tmp_path / "results" / "mnist5k", mnist, ("s", "t"), arch="resnet10t",
                       kwargs={"channels": [8, 8, 16, 16]}, recipe={"epochs": 0})
    run = results / "transfer" / "kl_half" / "t__s"
    args = ["transfer", "--dataset", '{"name": "mnist5k"}', "--zoo-dir", str(results / "zoo"), "--logits-dir",
            str(results / "logits"), "--method", "kl_half", "--teacher", "t", "--student", "s", "--threads", "1"]
    settings = {"epochs": 1, "batch_size": 64, "subset_per_class": 5, "lr": 0.01, "loss": {"temperature": 2.0}}
    assert main([*args, "--settings", json.dumps({**settings, "loss": {"weight": 1.5}}), "--out", str(tmp_path / "bad")]) == 2
    assert "weight = 1.5 must be in [0, 1]" in capsys.readouterr().err  # the card's range
    assert main([*args, "--settings", json.dumps(settings), "--out", str(run)]) == 0
    rows = pq.read_table(run / "metrics.parquet").to_pylist()
    assert {r["method"] for r in rows} == {"kl_half"} and rows[-1]["temperature"] == 2.0

    assert main(["db", "--results", str(results)]) == 0
    con = connect(results / "gkt.duckdb")
    assert con.execute("SELECT DISTINCT method FROM transfer_final").fetchall() == [("kl_half",)]
    con.close()
    out = tmp_path / "figures"
    assert main(["figures", "--db", str(results / "gkt.duckdb"), "--only", "success", "--out-dir", str(out)]) == 0
    table = (out / "success.md").read_text()
    assert re.search(r"^\| KL half +\| 1 ", table, re.M), table
