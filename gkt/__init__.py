"""gkt: complementary knowledge and knowledge transfer across a model zoo (docs/method.md)."""
__version__ = "0.1.0"


def results(path=None):
    """A read-only DuckDB connection to a run's results database, for notebooks and scripts:
    `gkt.results("results/mnist5k").sql("FROM pairs").pl()` is a polars DataFrame. `path`: a results
    folder or its gkt.duckdb (default: the main data set's, gkt.layout.find_results). Imported on
    call, so `import gkt` stays light."""
    from gkt.db.read import results as open_results

    return open_results(path)
