"""Who holds a parameter's current number: owners, such as a replayed Trainer, that keep
parameters in arrays of their own between their ``sync()`` calls.

A ``compiler.Trainer`` reads its parameters' data when it is made and steps on its own
arrays; its Values are current again only at ``trainer.sync()``. It says so here, once, when
it is made: ``own(trainer, params)``. Whatever reads parameters (``Module.state_dict()``,
``save()``, ``train()``, a new Trainer) calls ``sync(params)`` first, and whatever writes them
(``load_state_dict()``, ``load()``, ``train()``) calls ``sync`` before and ``load(params)``
after, so what a user, or another owner, reads from a Value is current when it is read.

Owners are held weakly: a dropped trainer leaves the registry by itself, and nothing here
holds a model or a Value (an owner keeps its own parameters alive; they are known by id).
Several owners of one parameter sync oldest first, so the newest one's numbers stand.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from micrograd.engine import Value

__all__ = ["Owner", "load", "own", "owners", "sync"]


class Owner(Protocol):
    """Holds parameters' numbers: writes them into the Values (sync), reads them back (load)."""

    def sync(self) -> None: ...

    def load(self) -> None: ...


#: Each live owner (held weakly), oldest first, with the ids of the parameters it holds.
_OWNED: weakref.WeakKeyDictionary[Owner, frozenset[int]] = weakref.WeakKeyDictionary()


def own(owner: Owner, params: Iterable[Value]) -> None:
    """From now on owner holds params' numbers, until it is dropped: the owner is the object
    that holds them, which every step that changes them keeps alive."""
    _OWNED[owner] = frozenset(map(id, params))


def owners(params: Iterable[Value]) -> list[Owner]:
    """The live owners of any of params, oldest first."""
    if not _OWNED:
        return []
    ids = set(map(id, params))
    return [owner for owner, held in list(_OWNED.items()) if not held.isdisjoint(ids)]


def sync(params: Iterable[Value]) -> None:
    """Each owner of any of params writes its numbers into its Values (before they are read)."""
    for owner in owners(params):
        owner.sync()


def load(params: Iterable[Value]) -> None:
    """Each owner of any of params reads its numbers from its Values (after they are written)."""
    for owner in owners(params):
        owner.load()
