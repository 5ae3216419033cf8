"""facebench's one content-addressed store: a SQLite file of records (a benchmark run's edits,
judgements and identity scores; VLM answers; face analyses, :mod:`facebench.base.cache`).

Every record is content-addressed: its key is a SHA-256 over what determines it (the editor's id
and options, the source image's pixel hash, the control; the judge's id and the image's pixel
hash; ...), see :func:`key_of`. A record is committed the moment it is computed, so a run
killed at any point loses at most the items in flight, and a rerun computes only what is missing.

Layout: table ``records(kind, key, value, blob, created)``; ``kind`` is ``"edit"``,
``"judgement"``, ``"identity"`` or a cache name such as ``"vlm_responses"``; ``value`` is JSON.
Edited images live once per pixel content in table ``images(hash, base, data)`` (content-addressed:
two edits with the same pixels share one row; an edit record names its image by ``value["hash"]``).
``data`` is lossless WebP: of the image itself when ``base`` is NULL, else of the residual
``(image - base) mod 256`` against the image ``base`` (the edit's source, stored once), which is
zero wherever an editor left the source alone, so a 512x512 offline edit takes ~15-25 KB instead of
~450 KB as PNG (:mod:`facebench.base.imagecodec`). Caches written before this keep their PNG in
``records.blob`` and still read. :meth:`Store.prune` drops images no record uses. WAL mode lets
worker processes read while the runner writes.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, MutableMapping

import numpy as np

from . import imagecodec

_IMAGES = """
CREATE TABLE IF NOT EXISTS images (
    hash TEXT PRIMARY KEY,
    base TEXT,
    data BLOB NOT NULL
)
"""
_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    blob BLOB,
    created REAL NOT NULL,
    PRIMARY KEY (kind, key)
)
"""


def key_of(*parts: Any) -> str:
    """SHA-256 hex of the JSON of ``parts`` (sorted keys, ``str`` for other objects): the
    content address of a record, made of everything that determines it."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class Record:
    """One cached item: its JSON ``value`` and optional binary ``blob``."""

    value: dict[str, Any]
    blob: bytes | None = None


class Store:
    """A content-addressed cache in one SQLite file (created with its folder when missing).

    Safe to use from several threads (one connection per thread); each :meth:`put` is its own
    committed transaction.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise ValueError(f"cache {self.path}: is a folder; give a file path such as {self.path / 'cache.sqlite'}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        try:
            con = self._con()
            con.execute(_SCHEMA)
            con.execute(_IMAGES)
            con.commit()
        except sqlite3.DatabaseError as exc:
            raise ValueError(f"cache {self.path}: not a facebench cache ({exc})") from None

    def _con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None or getattr(self._local, "pid", None) != os.getpid():
            con = sqlite3.connect(self.path, timeout=60.0)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
            self._local.con, self._local.pid = con, os.getpid()
        return con

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None

    def __getstate__(self) -> dict[str, Any]:  # picklable: reopen on the other side
        return {"path": self.path}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.path = state["path"]
        self._local = threading.local()

    # -- access ---------------------------------------------------------------------------------
    def get(self, kind: str, key: str) -> Record | None:
        """The record ``(kind, key)`` or None."""
        row = self._con().execute("SELECT value, blob FROM records WHERE kind=? AND key=?", (kind, key)).fetchone()
        return None if row is None else Record(json.loads(row[0]), row[1])

    def get_many(self, kind: str, keys: Iterable[str]) -> dict[str, Record]:
        """``{key: record}`` for the keys that are present."""
        out: dict[str, Record] = {}
        ks = list(dict.fromkeys(keys))
        con = self._con()
        for i in range(0, len(ks), 500):
            chunk = ks[i:i + 500]
            q = f"SELECT key, value, blob FROM records WHERE kind=? AND key IN ({','.join('?' * len(chunk))})"
            for k, v, b in con.execute(q, (kind, *chunk)):
                out[k] = Record(json.loads(v), b)
        return out

    def has_many(self, kind: str, keys: Iterable[str]) -> set[str]:
        """The subset of ``keys`` present for ``kind`` (values not loaded)."""
        ks = list(dict.fromkeys(keys))
        found: set[str] = set()
        con = self._con()
        for i in range(0, len(ks), 500):
            chunk = ks[i:i + 500]
            q = f"SELECT key FROM records WHERE kind=? AND key IN ({','.join('?' * len(chunk))})"
            found.update(k for (k,) in con.execute(q, (kind, *chunk)))
        return found

    def put(self, kind: str, key: str, value: dict[str, Any], blob: bytes | None = None) -> None:
        """Insert or replace one record and commit."""
        con = self._con()
        with con:
            con.execute("INSERT OR REPLACE INTO records (kind, key, value, blob, created) VALUES (?, ?, ?, ?, ?)",
                        (kind, key, json.dumps(value, sort_keys=True), blob, time.time()))

    def delete(self, kind: str, key: str) -> None:
        """Remove one record (no error when absent)."""
        con = self._con()
        with con:
            con.execute("DELETE FROM records WHERE kind=? AND key=?", (kind, key))

    def drop_other_versions(self, current: Mapping[str, Iterable[str]], *, unnamed: bool = False) -> dict[str, int]:
        """For each ``kind`` of ``current`` and each of its component fingerprints there (the JSON
        list ``[kind, name, options, version, ident]`` of
        :meth:`facebench.bench.components.Component.fingerprint`, kept in a record's value as
        ``component``), delete the records of that kind made by the same component -- same kind,
        name and options -- in another version: no run of the current one reads them again (their
        key contains the fingerprint). Records of other components are kept. ``unnamed``: also
        delete the kind's records that name no component (written before records did). Images
        left unused stay until :meth:`prune`. Returns the number of records deleted per kind."""
        same = ("json_extract(json_extract(value, '$.component'), '$[0]') = json_extract(?, '$[0]') AND "
                "json_extract(json_extract(value, '$.component'), '$[1]') = json_extract(?, '$[1]') AND "
                "json_extract(json_extract(value, '$.component'), '$[2]') IS json_extract(?, '$[2]') AND "
                "json_extract(value, '$.component') != ?")
        con = self._con()
        dropped: dict[str, int] = {}
        with con:
            for kind, fps in current.items():
                n = 0
                for fp in sorted(set(fps)):
                    n += con.execute(f"DELETE FROM records WHERE kind=? AND {same}", (kind, fp, fp, fp, fp)).rowcount
                if unnamed:
                    n += con.execute("DELETE FROM records WHERE kind=? AND json_extract(value, '$.component') IS NULL",
                                     (kind,)).rowcount
                dropped[kind] = n
        return dropped

    def count(self, kind: str | None = None) -> int:
        """Number of records (of one kind, or all)."""
        con = self._con()
        if kind is None:
            return int(con.execute("SELECT COUNT(*) FROM records").fetchone()[0])
        return int(con.execute("SELECT COUNT(*) FROM records WHERE kind=?", (kind,)).fetchone()[0])

    # -- edited images ----------------------------------------------------------------------------
    def has_image(self, digest: str) -> bool:
        """Whether the image with pixel hash ``digest`` is stored."""
        return self._con().execute("SELECT 1 FROM images WHERE hash=?", (digest,)).fetchone() is not None

    def put_image(self, digest: str, data: bytes, base: str | None = None) -> None:
        """Store encoded image ``data`` (see :mod:`.imagecodec`) under its pixel hash unless present
        (content-addressed dedupe). ``base``: the hash of the image ``data`` is a residual to."""
        con = self._con()
        with con:
            con.execute("INSERT OR IGNORE INTO images (hash, base, data) VALUES (?, ?, ?)", (digest, base, data))

    def put_edit(self, key: str, value: dict[str, Any], data: bytes, base: str | None = None,
                 base_image: Callable[[], np.ndarray] | None = None) -> None:
        """Store an edit record and its image: ``data`` is the encoded image (``base`` None) or its
        residual against the image ``base``; ``base_image`` gives the base's pixels when it is not
        stored yet (it is stored in full, once)."""
        if base is not None and not self.has_image(base):
            if base_image is None:
                raise ValueError(f"cache {self.path}: base image {base[:12]} is not stored and no pixels were given")
            self.put_image(base, imagecodec.encode(base_image()))
        self.put_image(value["hash"], data, base)
        self.put("edit", key, value)

    def image(self, digest: str) -> np.ndarray:
        """The RGB uint8 pixels of the stored image ``digest`` (``KeyError`` when absent)."""
        row = self._con().execute("SELECT base, data FROM images WHERE hash=?", (digest,)).fetchone()
        if row is None:
            raise KeyError(digest)
        base, data = row
        return imagecodec.decode(data, None if base is None else self.image(base))

    def image_bytes(self, digest: str) -> tuple[bytes, str | None]:
        """``(data, base)`` of the stored image ``digest`` as kept (``KeyError`` when absent)."""
        row = self._con().execute("SELECT data, base FROM images WHERE hash=?", (digest,)).fetchone()
        if row is None:
            raise KeyError(digest)
        return bytes(row[0]), row[1]

    def edit_image(self, key: str) -> np.ndarray:
        """The pixels of the cached edit ``key`` (``KeyError`` when absent)."""
        rec = self.get("edit", key)
        if rec is None:
            raise KeyError(key)
        if rec.blob is not None:  # a cache written before images were content-addressed
            from ..base.imageio import load_image

            return load_image(rec.blob)
        return self.image(rec.value["hash"])

    def prune(self, *, vacuum: bool = True) -> dict[str, int]:
        """Delete the images no edit record uses (nor any used image as its base), then compact the
        file. Returns ``{"images_deleted", "bytes_before", "bytes_after"}``."""
        before = self.size_bytes()
        con = self._con()
        with con:
            used = {h for (h,) in con.execute(
                "SELECT json_extract(value, '$.hash') FROM records WHERE kind='edit' AND blob IS NULL")}
            bases = dict(con.execute("SELECT hash, base FROM images").fetchall())
            keep: set[str] = set()
            for h in used:
                while h is not None and h in bases and h not in keep:
                    keep.add(h)
                    h = bases[h]
            drop = [h for h in bases if h not in keep]
            con.executemany("DELETE FROM images WHERE hash=?", [(h,) for h in drop])
        if vacuum:  # in WAL mode VACUUM writes through the log: checkpoint it into the file
            con.execute("VACUUM")
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return {"images_deleted": len(drop), "bytes_before": before, "bytes_after": self.size_bytes()}

    def size_bytes(self) -> int:
        """Bytes of the cache file plus its write-ahead log."""
        return sum(p.stat().st_size for p in (self.path, Path(f"{self.path}-wal")) if p.exists())

    def sizes(self) -> dict[str, int]:
        """What the cache holds: ``edits`` (records), ``images`` (stored once per pixel hash),
        ``image_bytes`` (their encoded data, residuals included) and ``file_bytes``."""
        n, data = self._con().execute("SELECT COUNT(*), COALESCE(SUM(LENGTH(data)), 0) FROM images").fetchone()
        return {"edits": self.count("edit"), "images": int(n), "image_bytes": int(data), "file_bytes": self.size_bytes()}

    def mapping(self, kind: str) -> "SqliteMapping":
        """A str -> str mapping over the records of ``kind`` (e.g. a VLM response cache)."""
        return SqliteMapping(self.path, table=kind, store=self)


class SqliteMapping(MutableMapping[str, str]):
    """A persistent ``dict[str, str]`` stored as records of kind ``table`` in a :class:`Store` file."""

    def __init__(self, path: str | os.PathLike, *, table: str, store: Store | None = None) -> None:
        self.store = store if store is not None else Store(path)
        self.kind = table

    def __getitem__(self, key: str) -> str:
        rec = self.store.get(self.kind, key)
        if rec is None:
            raise KeyError(key)
        return str(rec.value["text"])

    def __setitem__(self, key: str, text: str) -> None:
        self.store.put(self.kind, key, {"text": str(text)})

    def __delitem__(self, key: str) -> None:
        if self.store.get(self.kind, key) is None:
            raise KeyError(key)
        self.store.delete(self.kind, key)

    def __iter__(self) -> Iterator[str]:
        rows = self.store._con().execute("SELECT key FROM records WHERE kind=?", (self.kind,)).fetchall()
        return iter([k for (k,) in rows])

    def __len__(self) -> int:
        return self.store.count(self.kind)
