"""Repository-wide rules: no pickle loading, every package documents itself and lists its public names."""

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ["rlcert", "certify", "attacks", "envs", "agents", "reports"]  # folders; they import as rlcert.NAME
BARE = set(PACKAGES) - {"rlcert"}


def _python_files():
    for package in [*PACKAGES, "benchmarks"]:
        yield from (ROOT / package).rglob("*.py")


def test_nothing_imports_a_bare_library_package():
    # The folders install as rlcert.certify, rlcert.envs, ...: a bare "import envs" works only from the
    # repository root, and from a user's project it imports the user's own envs/.
    offenders = []
    for path in [*_python_files(), *(ROOT / "tests").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            offenders += [f"{path.relative_to(ROOT)}:{node.lineno} {n}" for n in names if n.split(".")[0] in BARE]
    assert not offenders, offenders


def test_no_torch_load_without_weights_only():
    offenders = []
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "load":
                if getattr(node.func.value, "id", None) != "torch":
                    continue
                flags = {k.arg: k.value for k in node.keywords}
                if not (isinstance(flags.get("weights_only"), ast.Constant) and flags["weights_only"].value is True):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, f"torch.load without weights_only=True at {offenders}"


def test_no_pickle_or_allow_pickle():
    for path in _python_files():
        text = path.read_text()
        assert "import pickle" not in text and "allow_pickle=True" not in text, path


@pytest.mark.parametrize("name", PACKAGES)
def test_packages_have_a_docstring_and_an_explicit_all(name):
    module = importlib.import_module(name if name == "rlcert" else f"rlcert.{name}")
    assert module.__doc__ and len(module.__doc__.strip().splitlines()) == 1
    assert isinstance(module.__all__, (list, tuple))
    for public in module.__all__:
        assert hasattr(module, public), f"{name}.__all__ names {public!r}, which does not exist"
