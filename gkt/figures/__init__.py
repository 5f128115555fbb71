"""The paper's figures and tables, each an SQL query over the results database (gkt/sql/<id>.sql)
plus a render function (plots.py, tables.py) registered in `gkt.figures.registry`.

    gkt figures --db results/<dataset>/gkt.duckdb          # everything, and index.html
    gkt figures --only 4b tab1                             # a few

Kept import-light (the CLI imports every stage's `commands` at start-up): use `gkt.figures.registry`.
"""
