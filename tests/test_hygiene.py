"""Repository-wide rules: no pickle loading, every package documents itself and lists its public names."""

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = [
    "rlcert",
    "certify",
    "attacks",
    "envs",
    "agents",
    "reports",
    "analyses",
    "training",
    "diagnostics",
]  # folders; they import as rlcert.NAME
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


def _library_imports() -> dict[str, set[str]]:
    """Module -> the library modules it imports (at module level or inside functions), as rlcert.* names."""
    modules = {}
    for folder in PACKAGES:
        prefix = "rlcert" if folder == "rlcert" else f"rlcert.{folder}"
        for path in (ROOT / folder).rglob("*.py"):
            parts = [p for p in path.relative_to(ROOT / folder).with_suffix("").parts if p != "__init__"]
            modules[".".join([prefix, *parts])] = path
    edges = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        edges[name] = {m for m in found if m in modules and m != name}
    return edges


def _reaches(edges: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_no_import_cycle_between_packages_or_modules():
    edges = _library_imports()

    def package(module: str) -> str:
        """rlcert.envs.rollout -> rlcert.envs; the command line (rlcert, rlcert.cli, ...) is one package, rlcert."""
        parts = module.split(".")
        return ".".join(parts[:2]) if len(parts) > 1 and parts[1] in BARE else "rlcert"

    library = {m for m in edges if package(m) != "rlcert"}
    cli = set(edges) - library - {"rlcert"}  # rlcert/__init__.py (the version) sits above everything
    assert library and cli, "the module scan found nothing"
    # Nothing in the library imports the command line.
    assert not [(m, n) for m in library for n in edges[m] if n in cli]
    packages = {}
    for module, targets in edges.items():
        packages.setdefault(package(module), set()).update(package(t) for t in targets if package(t) != package(module))
    package_cycles = sorted(p for p in packages if p in _reaches(packages, p))
    assert not package_cycles, f"packages in an import cycle: {package_cycles}"
    module_cycles = sorted(m for m in edges if m in _reaches(edges, m))
    assert not module_cycles, f"modules in an import cycle: {module_cycles}"
