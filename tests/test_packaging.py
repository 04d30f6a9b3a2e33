"""How rlcert installs: one namespace, ``rlcert.*``, that a user's own ``agents/`` or ``envs/`` never shadows."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BARE = ["agents", "analyses", "audit", "envs", "attacks", "certify", "diagnostics", "reports", "training"]


def _readme_python_example() -> str:
    text = (ROOT / "README.md").read_text()
    return text.split("From Python:", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    # As a user runs a script in their project: its folder first on sys.path.
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=600)


def test_no_bare_library_package_is_importable_from_an_install(tmp_path):
    probe = "import importlib.util, sys; print([n for n in sys.argv[1:] if importlib.util.find_spec(n)])"
    found = subprocess.run(
        [sys.executable, "-c", probe, *BARE], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout
    assert found.strip() == "[]", f"bare packages importable outside the repository: {found}"


@pytest.mark.slow
def test_the_readme_python_example_runs_from_a_project_with_its_own_agents_and_envs(tmp_path):
    # Most RL projects have folders of these names; before rlcert.* they shadowed (or were shadowed by) ours.
    for name in ("agents", "envs"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(f"USER_PACKAGE = {name!r}\n")
    example = _readme_python_example()
    assert "from rlcert." in example
    check = "\nimport agents, envs\nassert agents.USER_PACKAGE == 'agents' and envs.USER_PACKAGE == 'envs'\n"
    result = _python(example + check + "print('example ran')", tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "example ran" in result.stdout


@pytest.mark.slow
def test_the_readme_example_of_every_analysis_runs(tmp_path):
    text = (ROOT / "README.md").read_text()
    example = text.split("```python\nfrom rlcert.analyses import (", 1)[1].split("```", 1)[0]
    result = _python("from rlcert.analyses import (" + example, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    labels = [line for line in result.stdout.splitlines() if line and not line.startswith(" ")]
    assert len(labels) == 6 and all(" · " in line for line in labels)
    assert all(f"({kind})" in result.stdout for kind in ("sound", "statistical", "empirical"))
