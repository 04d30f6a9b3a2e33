"""Configuration dataclasses document each field with the string literal under it; the command line's
help and the audit report's parameter tables are both generated from those docstrings."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import textwrap
from functools import cache

__all__ = ["field_docs"]


@cache
def field_docs(cls: type) -> dict[str, str]:
    """The string literal under each field of a dataclass (its attribute docstring), by field name,
    including the fields it inherits."""
    docs: dict[str, str] = {}
    for base in reversed(cls.__mro__[1:]):
        if dataclasses.is_dataclass(base):
            docs.update(field_docs(base))
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError):
        return docs
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    for node, following in zip(body, body[1:]):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docs[node.target.id] = " ".join(following.value.value.split())
    return docs
