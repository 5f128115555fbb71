# The paper's figures and tables, rendered from the results database alone:
# figures/<dataset>/<id>.png|.pdf (figures), <id>.md|.csv (tables) and index.html.
# Shared names come from common.smk; DATABASE from db.smk.
FIGURES_DIR = f"figures/{DS}"


rule figures:
    input:
        db=DATABASE,
        transfer=transfer_outputs,
    output:
        index=f"{FIGURES_DIR}/index.html",
    params:
        out_dir=lambda w, output: os.path.dirname(output.index),
        queries=sql_key("*.sql", "shared/*.sql"),  # the figures' SQL: an upgraded gkt renders them again
    localrule: True
    conda:
        GKT_ENV
    log:
        f"{RESULTS}/logs/figures/figures.log",
    threads: 1
    resources:
        **rule_resources(config, "figures", mem_mb=2000, runtime=10),
    shell:
        "gkt --log {log} figures --db {input.db} --out-dir {params.out_dir}"

