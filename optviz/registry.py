"""One registry per kind of thing: the names users write in YAML → entries.

Writers, panels, schedules and themes each keep one :class:`Registry`; it is
a dict (in the order entries were added, which ``optviz list`` shows), with
one way to add to it and one error for a name it does not hold.
"""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


class Registry(dict[str, T]):
    """Entries by name; ``noun`` names the kind in messages ("panel")."""

    def __init__(self, noun: str, article: str = "a") -> None:
        super().__init__()
        self.noun, self.article = noun, article

    def add(self, name: str, entry: T) -> T:
        """Add ``entry`` as ``name``, which must be new."""
        if name in self:
            raise ValueError(
                f"{self.article} {self.noun} {name!r} is registered already"
            )
        self[name] = entry
        return entry

    def lookup(self, name: str) -> T:
        """The entry of ``name``; a KeyError that lists the valid names."""
        try:
            return self[name]
        except KeyError:
            valid = ", ".join(repr(n) for n in self)
            raise KeyError(f"no {self.noun} {name!r}; supported are {valid}") from None
