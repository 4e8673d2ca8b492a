"""The library's shape: core/ never imports Streamlit, its modules import each other at the top
(only TensorFlow and Keras lazily, to keep start-up fast) and never in a cycle."""
import ast
from pathlib import Path

CORE = Path(__file__).resolve().parent.parent / "core"
LAZY_ALLOWED = {"keras", "tensorflow", "scipy", "concurrent", "multiprocessing", "plotly", "click"}


def sibling_imports(tree) -> tuple[set, list]:
    """(siblings imported at module level, [(line, name)] of sibling imports inside functions)."""
    top, inner = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            names = [node.module] if node.module else [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("core"):
            names = [node.module.split(".")[1]] if "." in node.module else [a.name for a in node.names]
        else:
            continue
        if node.col_offset == 0:
            top.update(names)
        elif names != ["service"]:  # service.py's __main__ imports itself by name (see there)
            inner.extend((node.lineno, n) for n in names)
    return top, inner


def graph() -> dict:
    out = {}
    for f in CORE.glob("*.py"):
        out[f.stem] = sibling_imports(ast.parse(f.read_text()))
    return out


def test_core_never_imports_streamlit():
    for f in CORE.glob("*.py"):
        assert "import streamlit" not in f.read_text(), f.name


def test_no_sibling_imports_hidden_in_functions():
    hidden = {name: inner for name, (_, inner) in graph().items() if inner}
    assert not hidden, hidden


def test_no_import_cycles():
    modules = graph()  # parsed once: not once per import
    edges = {m: {d for d in top if d in modules} for m, (top, _) in modules.items()}
    seen, stack = set(), []

    def visit(m):
        assert m not in stack, " -> ".join(stack[stack.index(m):] + [m])
        if m in seen:
            return
        stack.append(m)
        for d in edges[m]:
            visit(d)
        stack.pop()
        seen.add(m)
    for m in edges:
        visit(m)
