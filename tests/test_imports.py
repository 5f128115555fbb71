"""The package reads like the pipeline (docs/architecture.md): no import circle among gkt's modules, lazy
imports inside functions included; every import between stages goes down the pipeline (the order of
gkt.cli.STAGES); the shared modules below the stages import none of them. gkt.workflow, the Python side of
the Snakemake workflow, sits above every stage."""
import ast
from pathlib import Path

from gkt.cli import STAGES
from tests.helpers import REPO

ORDER = [name.split(".")[1] for name in STAGES]
ABOVE = {"gkt", "gkt.cli", "gkt.workflow", "gkt.workflow.config"}  # the API, the command line, the workflow's side


def _modules() -> dict[str, Path]:
    return {".".join(f.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__"): f
            for f in (REPO / "gkt").rglob("*.py")}


def _imports(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The gkt modules `module` imports anywhere in its file."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            names += [base] + [f"{base}.{a.name}" for a in node.names]
    found = set()
    for name in names:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        if name and name not in (module, "gkt"):
            found.add(name)
    return found


def _stage(module: str) -> int | None:
    parts = module.split(".")
    return ORDER.index(parts[1]) if len(parts) > 1 and parts[1] in ORDER else None


def test_imports_go_down_the_pipeline_without_circles():
    modules = _modules()
    graph = {m: _imports(m, f, modules) for m, f in modules.items()}
    assert len(graph) > 80 and graph["gkt.figures.catalog"] >= {"gkt.figures.plots", "gkt.figures.registry"}

    upward = sorted((a, b) for a, targets in graph.items() for b in targets
                    if _stage(a) is not None and _stage(b) is not None and _stage(b) > _stage(a))
    assert upward == []
    shared = {m for m in graph if _stage(m) is None and m not in ABOVE}
    assert {m: sorted(b for b in graph[m] if _stage(b) is not None) for m in shared} == {m: [] for m in shared}

    circles, done, path = [], set(), []

    def visit(m):  # depth-first: an edge back into the current path closes a circle
        path.append(m)
        for n in sorted(graph[m]):
            if n in path:
                circles.append(path[path.index(n):] + [n])
            elif n not in done:
                visit(n)
        path.pop()
        done.add(m)

    for m in sorted(graph):
        if m not in done:
            visit(m)
    assert circles == []
