"""TOML files users write (probe suites, audit suites): parsed with ``tomllib``, with the line of every key
kept, so that an unknown or bad key is shown where it was typed."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from rlcert.reports.errors import InvalidValueError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["KeyLines", "read_toml"]


def read_toml(path: str | Path, what: str) -> tuple[dict[str, Any], KeyLines]:
    """The document at ``path`` and the lines of its keys; a missing, non-UTF-8 or malformed file is one
    InvalidValueError naming ``what`` it should have been and the file."""
    path = Path(path)
    try:
        text = path.read_text()
        data = tomllib.loads(text)
    except (FileNotFoundError, IsADirectoryError):
        raise InvalidValueError(f"{what} {str(path)!r} does not exist") from None
    except tomllib.TOMLDecodeError as error:
        raise InvalidValueError(f"{what} {str(path)!r} is not valid TOML: {error}") from None
    except UnicodeDecodeError:
        raise InvalidValueError(f"{what} {str(path)!r} is not a UTF-8 text file") from None
    return data, KeyLines(text)


class KeyLines:
    """The line of every key of a TOML document, by its path (array-of-tables entries by their index).

    ``tomllib`` keeps no positions, so an unknown key could not be shown where it was typed. The document
    has already parsed, so this scanner only needs to follow valid TOML: table headers, dotted and quoted
    keys, inline tables, arrays (over several lines too), strings of all four kinds and comments.
    """

    _BARE = re.compile(r"[A-Za-z0-9_-]+")

    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0
        self.lines: dict[tuple[Any, ...], int] = {}
        self._tables_in_array: dict[tuple[Any, ...], int] = {}
        table: tuple[Any, ...] = ()
        while self._skip(newlines=True) < len(text):
            if text.startswith("[[", self.pos):
                line, key = self._line(), self._header(2)
                array = self._resolve(key[:-1]) + key[-1:]
                self.lines.setdefault(array, line)
                table = (*array, self._tables_in_array.get(array, 0))
                self._tables_in_array[array] = table[-1] + 1
                self.lines[table] = line
            elif text.startswith("[", self.pos):
                line, key = self._line(), self._header(1)
                table = self._resolve(key)
                self.lines.setdefault(table, line)
            else:
                self._pair(table)

    def line(self, path: tuple[Any, ...]) -> int:
        """The line of ``path``, else of its nearest enclosing table that has one (1: the document)."""
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)

    def _line(self) -> int:
        return self.text.count("\n", 0, self.pos) + 1

    def _skip(self, newlines: bool) -> int:
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char in " \t" or (newlines and char in "\r\n"):
                self.pos += 1
            elif char == "#":
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            else:
                break
        return self.pos

    def _resolve(self, key: tuple[str, ...]) -> tuple[Any, ...]:
        # ``[sweep.params]`` after ``[[sweep]]`` belongs to the latest sweep.
        path: tuple[Any, ...] = ()
        for part in key:
            path = (*path, part)
            if path in self._tables_in_array:
                path = (*path, self._tables_in_array[path] - 1)
        return path

    def _header(self, brackets: int) -> tuple[str, ...]:
        self.pos += brackets
        key = self._key()
        self._skip(newlines=False)
        self.pos += brackets
        return key

    def _key(self) -> tuple[str, ...]:
        parts = []
        while True:
            self._skip(newlines=False)
            if self.text[self.pos] in "\"'":
                start = self.pos
                self._string()
                parts.append(tomllib.loads(f"k = {self.text[start : self.pos]}")["k"])  # tomllib decodes escapes
            else:
                match = self._BARE.match(self.text, self.pos)
                parts.append(match.group())
                self.pos = match.end()
            self._skip(newlines=False)
            if self.text[self.pos] != ".":
                return tuple(parts)
            self.pos += 1

    def _pair(self, table: tuple[Any, ...]) -> None:
        line, key = self._line(), self._key()
        for end in range(1, len(key) + 1):  # a dotted key a.b = 1 defines a and a.b on this line
            self.lines.setdefault((*table, *key[:end]), line)
        self._skip(newlines=False)
        self.pos += 1  # "="
        self._skip(newlines=False)
        self._value((*table, *key))

    def _string(self) -> None:
        text, quote = self.text, self.text[self.pos]
        if text.startswith(quote * 3, self.pos):
            self.pos += 3
            while not text.startswith(quote * 3, self.pos):
                self.pos += 2 if quote == '"' and text[self.pos] == "\\" else 1
            self.pos += 3
            while self.pos < len(text) and text[self.pos] == quote:  # up to two quotes may end the content
                self.pos += 1
            return
        self.pos += 1
        while text[self.pos] != quote:
            self.pos += 2 if quote == '"' and text[self.pos] == "\\" else 1
        self.pos += 1

    def _value(self, path: tuple[Any, ...]) -> None:
        text = self.text
        char = text[self.pos]
        if char in "\"'":
            self._string()
        elif char == "{":
            self.pos += 1
            while self._skip(newlines=True) < len(text) and text[self.pos] != "}":
                if text[self.pos] == ",":
                    self.pos += 1
                else:
                    self._pair(path)
            self.pos += 1
        elif char == "[":
            self.pos += 1
            index = 0
            while self._skip(newlines=True) < len(text) and text[self.pos] != "]":
                if text[self.pos] == ",":
                    self.pos += 1
                else:
                    self._value((*path, index))
                    index += 1
            self.pos += 1
        else:  # a number, boolean or date: up to the next delimiter
            while self.pos < len(text) and text[self.pos] not in ",]}#\r\n":
                self.pos += 1
