"""The studio's request log (JSON lines) and its replay.

Every request that opens a photo or renders, reads, strips or downloads an edit is one line:
``{"t", "event", "client", "seq", "photo", "face", "c", "status", "ms", ...}``; an ``open`` line
maps the photo key to its source (``ref``) or, for uploads, to a PNG of the working image saved
next to the log. :func:`replay` renders a log's edits again from those sources.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image


class RequestLog:
    """Appends one JSON line per event to ``path`` (None: keeps nothing)."""

    def __init__(self, path: Path | None) -> None:
        self.path = Path(path) if path is not None else None
        self._lock = threading.Lock()
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    @property
    def upload_dir(self) -> Path | None:
        """Where uploaded photos are kept for replay (``<log>.uploads/``)."""
        return None if self.path is None else self.path.with_name(self.path.name + ".uploads")

    def write(self, event: str, **fields: Any) -> None:
        """Append ``{"t": unix time, "event": event, **fields}``."""
        if self.path is None:
            return
        line = json.dumps({"t": round(time.time(), 3), "event": event, **fields}, sort_keys=True)
        with self._lock, self.path.open("a", encoding="utf-8") as f:
            f.write(line + "\n")

    def keep_upload(self, key: str, image: np.ndarray) -> str | None:
        """Save an uploaded photo's working image for replay; returns its file name."""
        d = self.upload_dir
        if d is None:
            return None
        d.mkdir(parents=True, exist_ok=True)
        name = f"{key}.png"
        if not (d / name).exists():
            Image.fromarray(image).save(d / name)
        return name


def read_log(path: Path) -> list[dict[str, Any]]:
    """The events of a log; ``ValueError`` naming the line for a line that is not JSON."""
    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                raise ValueError(f"{path}: line {n} is not JSON") from None
    return out


def replay(path: Path, out: Path, editor: Any, photos: Any, events: tuple[str, ...] = ("render", "download")
           ) -> list[Path]:
    """Render again every successful ``events`` line of the log at ``path`` into ``out``
    (``NNNN_<control>.png``); photos come from their logged ``ref`` (through ``photos``, so the
    same folder rules apply) or the saved upload. Returns the files written."""
    from .controls import parse_sliders, slider_text, to_control
    from .photos import fit_size

    log = RequestLog(path)
    sources: dict[str, Any] = {}
    written = []
    out.mkdir(parents=True, exist_ok=True)
    for ev in read_log(path):
        if ev.get("event") == "open" and ev.get("status") == 200:
            sources[ev["photo"]] = ev.get("ref") or ev.get("upload")
        if ev.get("event") not in events or ev.get("status") != 200:
            continue
        src = sources.get(ev.get("photo", ""))
        if src is None:
            continue
        if str(src).startswith(("sample:", "file:")):
            image = photos.open_ref(src).image
        else:
            assert log.upload_dir is not None
            image = fit_size(np.asarray(Image.open(log.upload_dir / src).convert("RGB")), photos.max_side)
        values = parse_sliders(ev.get("c", ""), editor.alpha_max)
        result = editor.edit(image, to_control(values, editor.alpha_max), face=int(ev.get("face", 0)))
        f = out / f"{len(written):04d}_{slider_text(values).replace(':', '=').replace(',', '+') or 'neutral'}.png"
        Image.fromarray(result.image).save(f)
        written.append(f)
    return written
