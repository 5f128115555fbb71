# gkt: complementary knowledge and knowledge transfer across a model zoo
# (Roth et al., "Fantastic Gains and Where to Find Them", ICLR 2024).
#
#   snakemake --cores all                                       # embedded zoo (default config)
#   snakemake --cores all --configfile workflow/config/imagenet.yaml
#   snakemake --profile slurm all                               # on a SLURM cluster
import signal

from snakemake.utils import min_version, validate

from gkt.workflow.config import check_workflow_config
from gkt.workflow import end_jobs_on_hangup

min_version("9.0")


# A closed terminal ends the running jobs as SLURM's time limit does (gkt.workflow.end_jobs_on_hangup).
if workflow.is_main_process:
    signal.signal(signal.SIGHUP, end_jobs_on_hangup)

# The embedded config is the default; a --configfile replaces it rather than merging into it.
if not config:

    configfile: "workflow/config/embedded.yaml"


# Every mistake knowable before work starts ends here with one line naming the key and the fix.
check_workflow_config(config, f"{workflow.basedir}/workflow/schemas/config.schema.yaml", validate)


# The include order: common.smk first (the shared names of every rule file); then the stages in pipeline
# order. Where the order still matters, a file reads a name of one above it at parse time: figures.smk
# reads db.smk's DATABASE, transfer_batch.smk prefers its rules over transfer.smk's rule transfer. The
# targets of `all` (final_outputs, common.smk) are built from the config when the DAG is built, so no
# rule file adds to a shared list.
include: "workflow/rules/common.smk"
include: "workflow/rules/zoo.smk"
include: "workflow/rules/logits.smk"
include: "workflow/rules/complementary.smk"
include: "workflow/rules/transfer.smk"
include: "workflow/rules/transfer_batch.smk"
include: "workflow/rules/recommend.smk"
include: "workflow/rules/db.smk"
include: "workflow/rules/figures.smk"


# Other data sets' studies (config key studies:, loaded and checked in common.smk as STUDIES): each is
# this same workflow as a Snakemake module with its own config, its rules renamed <name>_* (a dynamic
# module name, so any number of them); its results land in results/<its name>. Declared before `all`,
# so that this config's `all` stays the default target, which builds the studies' targets too.
for _study in STUDIES:
    _module, _prefix = _study.name, _study.prefix

    module:
        name: _module
        snakefile: f"{workflow.basedir}/Snakefile"
        config: _study.config

    use rule * from _module as _prefix*


rule all:
    default_target: True
    input:
        final_outputs,
        [getattr(rules, f"{study.prefix}all").input for study in STUDIES],
