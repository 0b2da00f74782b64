"""No import cycle within api/: between its modules (imports inside functions and under
TYPE_CHECKING included), nor between its parts (api.routes and api.schemas counted as one
each): the CLI's command modules share api/cli_common.py instead of importing each other,
and routes take every dependency from api/deps.py."""

from __future__ import annotations

from collections.abc import Callable

import grimp
import pytest


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("api")


def module(name: str) -> str:
    return name


def part(name: str) -> str:
    """api.routes.board -> api.routes; api.deps -> api.deps."""
    return ".".join(name.split(".")[:2])


def cycles(graph: grimp.ImportGraph, unit: Callable[[str], str]) -> list[list[str]]:
    """The import graph's strongly connected components of more than one unit (Tarjan)."""
    edges: dict[str, set[str]] = {}
    for importer in graph.modules:
        for imported in graph.find_modules_directly_imported_by(importer):
            a, b = unit(importer), unit(imported)
            edges.setdefault(a, set())
            if a != b:
                edges[a].add(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_two_api_modules_import_each_other_even_indirectly(graph: grimp.ImportGraph):
    assert cycles(graph, module) == []


def test_no_two_parts_of_api_import_each_other(graph: grimp.ImportGraph):
    assert cycles(graph, part) == []


def test_the_cycle_finder_finds_a_cycle():
    class Graph:
        modules = frozenset({"api.a", "api.b", "api.c"})

        def find_modules_directly_imported_by(self, name: str) -> set[str]:
            return {"api.a": {"api.b"}, "api.b": {"api.a"}, "api.c": {"api.a"}}[name]

    assert cycles(Graph(), module) == [["api.a", "api.b"]]  # type: ignore[arg-type]
