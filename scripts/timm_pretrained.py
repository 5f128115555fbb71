"""Write gkt/zoo/timm_pretrained.txt: the installed timm's `timm.list_pretrained()`, which `snakemake -n`
checks every zoo entry's `arch.tag` against without importing timm (gkt.zoo.spec.known_pretrained).
Rerun it after upgrading timm (tests/test_bad_input.py fails until then):

    .venv/bin/python scripts/timm_pretrained.py
"""
import timm

from gkt.io import write_text
from gkt.zoo.spec import PRETRAINED_LIST

names = sorted(timm.list_pretrained())
write_text(f"# timm.list_pretrained() of timm {timm.__version__}\n" + "".join(f"{n}\n" for n in names), PRETRAINED_LIST)
print(f"{len(names)} pretrained tags of timm {timm.__version__} -> {PRETRAINED_LIST}")
