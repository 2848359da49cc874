"""A name → object registry filled by decorators, and discovery by walking a package.

Adding a rule or an extractor is one file: its module registers itself on import, and
``load_package`` imports every module of the package (as OCRmyPDF loads its built-in
plugins), so no list is kept by hand. Registering a name twice raises at import.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from functools import cache
from typing import Generic, TypeVar

T = TypeVar("T")


class DuplicateRegistration(RuntimeError):
    """Two objects were registered under one name: a copy-paste slip, caught at import."""


class Registry(Generic[T]):
    """Ordered mapping of name to registered object."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._items: dict[str, T] = {}

    def add(self, name: str, item: T) -> None:
        """Register ``item`` as ``name``; a second registration of a name raises."""
        if name in self._items:
            raise DuplicateRegistration(f"{self.what} {name!r} is registered twice")
        self._items[name] = item

    def get(self, name: str) -> T:
        """The object registered as ``name`` (KeyError when none)."""
        return self._items[name]

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[T]:
        return iter(list(self._items.values()))

    def __len__(self) -> int:
        return len(self._items)

    def names(self) -> list[str]:
        """Registered names in registration order."""
        return list(self._items)


@cache
def load_package(package: str) -> tuple[str, ...]:
    """Import every module of ``package`` once so their decorators run; return their names."""
    pkg = importlib.import_module(package)
    names = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        importlib.import_module(f"{package}.{info.name}")
        names.append(info.name)
    return tuple(names)
