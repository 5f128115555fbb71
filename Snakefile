# gkt: complementary knowledge and knowledge transfer across a model zoo
# (Roth et al., "Fantastic Gains and Where to Find Them", ICLR 2024).
#
#   snakemake --cores all                                       # embedded zoo (default config)
#   snakemake --cores all --configfile workflow/config/imagenet.yaml
#   snakemake --profile slurm all                               # on a SLURM cluster
from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version, validate

from gkt.config import config_problem

min_version("9.0")

# The embedded config is the default; a --configfile replaces it rather than merging into it.
if not config:

    configfile: "workflow/config/embedded.yaml"


# A one-line message naming the bad key first; snakemake's validate then fills in the defaults.
if problem := config_problem(config, f"{workflow.basedir}/workflow/schemas/config.schema.yaml"):
    raise WorkflowError(problem)
validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/zoo.smk"
include: "workflow/rules/logits.smk"
include: "workflow/rules/complementary.smk"
include: "workflow/rules/transfer.smk"
include: "workflow/rules/db.smk"
include: "workflow/rules/figures.smk"


rule all:
    default_target: True
    input:
        TARGETS,
