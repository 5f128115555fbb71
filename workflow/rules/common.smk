# Shared names of every rule file; the helpers behind them live in gkt.workflow.
import os

from gkt.workflow import as_json, model_fragment, rule_resources, rule_threads

DS = config["dataset"]["name"]
RESULTS = f"results/{DS}"
ZOO_DIR = f"{RESULTS}/zoo"
MODELS = [m["name"] for m in config["zoo"]]
CONTROL = config.get("control")
if CONTROL is not None and CONTROL not in MODELS:
    raise ValueError(f"config: control model {CONTROL!r} is not in zoo: add it or fix the name")
DATASET_JSON = as_json(config["dataset"])

# Every rule runs in the same environment: the gkt package with its pinned torch/timm.
GKT_ENV = "../envs/gkt.yaml"

# Each rule file adds the outputs that `all` must build.
TARGETS = []
