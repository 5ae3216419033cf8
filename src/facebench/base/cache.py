"""Result caches: an in-memory LRU and an on-disk cache of Python objects.

Keys are strings made by the caller (e.g. image content hash + analysis settings). The disk cache
is the one content-addressed store of facebench (:class:`facebench.base.store.Store`): records of
one ``kind`` in ``<root>/cache.sqlite`` whose blob is a zlib-compressed pickle, each committed on
its own, so several processes can share a folder. The folder comes from an argument or the
``FACEBENCH_CACHE`` environment variable. Pickles run code when loaded: only point the cache at a
folder you own. A record that cannot be read back is treated as a miss.

Migration: caches written before this kept one ``<root>/<key[:2]>/<key>.pkl.z`` file per key;
:class:`DiskCache` moves such files into ``cache.sqlite`` (same bytes) the first time it opens the
folder and deletes them.
"""

from __future__ import annotations

import os
import pickle
import threading
import zlib
from collections import OrderedDict
from pathlib import Path
from typing import Any

from .store import Store

#: Environment variable naming the default on-disk cache folder (unset: no disk cache).
CACHE_ENV = "FACEBENCH_CACHE"


def default_cache_dir() -> Path | None:
    """The folder named by ``$FACEBENCH_CACHE``, or None when unset or empty."""
    value = os.environ.get(CACHE_ENV, "").strip()
    return Path(value).expanduser() if value else None


class MemoryCache:
    """A thread-safe least-recently-used mapping holding at most ``maxsize`` items."""

    def __init__(self, maxsize: int = 64) -> None:
        self.maxsize = max(0, int(maxsize))
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Any | None:
        """The value stored under ``key`` (marking it recently used), or None."""
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: str, value: Any) -> None:
        """Store ``value``; the least recently used item goes when the cache is full."""
        if self.maxsize == 0:
            return
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


class DiskCache:
    """Python objects as zlib-compressed pickles, records of ``kind`` in ``<root>/cache.sqlite``."""

    #: File name of the store inside the cache folder.
    FILE = "cache.sqlite"

    def __init__(self, root: str | os.PathLike, kind: str = "face_analysis") -> None:
        self.root = Path(root)
        self.kind = kind
        self.store = Store(self.root / self.FILE)
        self.migrated = self._migrate_pickle_files()

    def get(self, key: str) -> Any | None:
        """The stored value, or None if absent or unreadable."""
        rec = self.store.get(self.kind, key)
        if rec is None or rec.blob is None:
            return None
        try:
            return pickle.loads(zlib.decompress(rec.blob))
        except Exception:  # noqa: BLE001 - a damaged or foreign record is a miss, not a crash
            return None

    def put(self, key: str, value: Any) -> None:
        """Store ``value`` (one committed transaction)."""
        self.store.put(self.kind, key, {}, zlib.compress(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), 1))

    def clear(self) -> None:
        """Delete every stored value of this cache's kind (the file stays)."""
        con = self.store._con()
        with con:
            con.execute("DELETE FROM records WHERE kind=?", (self.kind,))

    def __len__(self) -> int:
        return self.store.count(self.kind)

    def _migrate_pickle_files(self) -> int:
        """Move ``<root>/<xx>/<key>.pkl.z`` files of the old layout into the store; returns how many."""
        n = 0
        for f in self.root.glob("*/*.pkl.z"):
            try:
                self.store.put(self.kind, f.name[: -len(".pkl.z")], {}, f.read_bytes())
                f.unlink()
                n += 1
            except OSError:  # another process moved it first
                continue
        for d in self.root.glob("??"):
            if n and d.is_dir():
                try:
                    d.rmdir()  # only empty folders go
                except OSError:
                    pass
        return n
