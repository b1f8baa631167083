"""The import graph is one-way (DESIGN.md): between packages, and inside accessibility."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parents[1] / "parcours"
#: DESIGN.md's layers, lowest first; a module may import only its layer or lower ones.
LAYERS = [
    {"errors", "i18n", "jit", "progress"},
    {"geo"},
    {"territories"},
    {"accessibility"},
    {"diagnostic", "matching"},
    {"maps"},
    {"cluster"},
    {"service"},
    {"api", "cli", "demo", "__main__"},
]


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> nx.DiGraph:
    graph = nx.DiGraph()
    modules = {_module(p): p for p in PACKAGE.rglob("*.py")}
    for name, path in modules.items():
        graph.add_node(name)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target.startswith("parcours") and target != name:
                    graph.add_edge(name, target)
    return graph


def _layer(module: str) -> int:
    top = module.split(".")[1] if "." in module else "__init__"
    for rank, names in enumerate(LAYERS):
        if top in names:
            return rank
    return len(LAYERS)


def test_no_import_cycle_between_modules() -> None:
    graph = _imports()
    # A package's __init__ re-exports its modules: it is not a dependency of them.
    graph.remove_edges_from(
        [(a, b) for a, b in graph.edges if b.count(".") < a.count(".") and a.startswith(b + ".")]
    )
    cycles = list(nx.simple_cycles(graph))
    assert cycles == [], f"import cycles: {cycles[:3]}"


def test_lower_layers_never_import_higher_ones() -> None:
    graph = _imports()
    wrong = [
        (a, b) for a, b in graph.edges if a.count(".") and b.count(".") and _layer(b) > _layer(a)
    ]
    assert wrong == []
