import argparse
from dataclasses import dataclass

from rlcert.config import add_dataclass_arguments, dataclass_from_args, field_docs


@dataclass(frozen=True)
class Example:
    name: str
    """Positional name."""
    count: int = 3
    """How many."""
    ratio: float | None = None
    """An optional ratio."""
    fast: bool = True
    """Go fast."""


def test_field_docstrings_become_help_and_types_are_kept():
    assert field_docs(Example) == {
        "name": "Positional name.",
        "count": "How many.",
        "ratio": "An optional ratio.",
        "fast": "Go fast.",
    }
    parser = argparse.ArgumentParser()
    add_dataclass_arguments(parser, Example)
    config = dataclass_from_args(Example, parser.parse_args(["x", "--count", "5", "--ratio", "0.5", "--no-fast"]))
    assert config == Example("x", 5, 0.5, False)
    assert dataclass_from_args(Example, parser.parse_args(["y"])) == Example("y")
    assert "How many. (default: 3)" in " ".join(parser.format_help().split())
