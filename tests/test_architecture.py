"""One-way dependencies (STYLE.md): the pure DTE engine imports no Django, ``integration`` never
imports ``emission`` at module level, and API clients import no models."""

import ast

import pytest

from tests.conftest import REPO_ROOT


def _top_level_imports(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    names = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        elif isinstance(node, ast.If):  # TYPE_CHECKING blocks are fine
            continue
    return names


def _all_imports(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module if node.level == 0 else "." * node.level + node.module)
    return names


def _py_files(package):
    return sorted(p for p in (REPO_ROOT / package).rglob("*.py") if "migrations" not in p.parts)


@pytest.mark.parametrize("path", _py_files("emission/dte"), ids=lambda p: p.name)
def test_dte_engine_is_pure(path):
    for name in _all_imports(path):
        assert not name.startswith(("django", "requests", "celery", "integration", "sandbox")), name


@pytest.mark.parametrize("path", _py_files("integration"), ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_integration_never_imports_emission_at_module_level(path):
    for name in _top_level_imports(path):
        assert not name.startswith("emission"), name


@pytest.mark.parametrize(
    "path",
    [p for p in _py_files("integration") + _py_files("emission") if p.name.endswith("client.py")],
    ids=lambda p: str(p.relative_to(REPO_ROOT)),
)
def test_clients_import_no_models(path):
    for name in _all_imports(path):
        assert "models" not in name.split("."), name


def test_product_never_imports_the_sandbox():
    for package in ("core", "integration", "emission"):
        for path in _py_files(package):
            for name in _all_imports(path):
                assert not name.startswith("sandbox"), f"{path}: {name}"
