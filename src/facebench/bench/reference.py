"""Published FFE-Bench numbers (PixelSmile paper, Tables 1-2) to show beside a user's leaderboard.

They come from ``leaderboard.json`` in the PixelSmile gallery folder
(``../shared/data/pixelsmile-gallery`` next to the repository, or ``$FACEBENCH_GALLERY``). The
paper's judge is Gemini 3 Pro and its ID Sim is the mean of ArcFace, AdaFace and FaceNet cosines,
so the numbers are labelled with that judge and are not directly comparable with another judge's.
When the folder is absent (an installed package, another machine) everything here returns None.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

REFERENCE_JUDGE = "Gemini 3 Pro (paper)"
REFERENCE_IDENTITY = "ArcFace+AdaFace+FaceNet"
REFERENCE_SOURCE = "PixelSmile paper (FFE-Bench), Tables 1-2"
_METRIC_NAMES = {"mSCR": "mSCR", "Acc6": "Acc-6", "Acc12": "Acc-12", "IDSim": "ID Sim", "CLS6": "CLS-6",
                 "CLS12": "CLS-12", "HES": "HES"}


def repo_root() -> Path | None:
    """The source checkout holding this file (the folder with ``pyproject.toml``), if any."""
    for p in Path(__file__).resolve().parents:
        if (p / "pyproject.toml").is_file() and (p / "src" / "facebench").is_dir():
            return p
    return None


def gallery_dir() -> Path | None:
    """The PixelSmile gallery folder: ``$FACEBENCH_GALLERY``, else ``<repo>/../shared/data/pixelsmile-gallery``,
    else the same relative to the working directory; None when not found."""
    cands = []
    if os.environ.get("FACEBENCH_GALLERY"):
        cands.append(Path(os.environ["FACEBENCH_GALLERY"]))
    root = repo_root()
    if root is not None:
        cands.append(root.parent / "shared" / "data" / "pixelsmile-gallery")
    cands.append(Path.cwd().parent / "shared" / "data" / "pixelsmile-gallery")
    for c in cands:
        if (c / "slider").is_dir() or (c / "leaderboard.json").is_file():
            return c.resolve()
    return None


def load_reference(path: str | os.PathLike | None = None) -> pd.DataFrame | None:
    """Published numbers as a table: ``track, method, judge, identity`` and the metric columns
    (facebench's names: Acc-6, Acc-12, mSCR, ID Sim, CLS-6, CLS-12, HES); None if unavailable."""
    p = Path(path) if path else (gallery_dir() / "leaderboard.json" if gallery_dir() else None)
    if p is None or not p.is_file():
        return None
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    rows = []
    for track, block in data.items():
        if not isinstance(block, dict) or "methods" not in block:
            continue
        for method, vals in block["methods"].items():
            row = {"track": track, "method": method, "judge": REFERENCE_JUDGE, "identity": REFERENCE_IDENTITY}
            row.update({_METRIC_NAMES.get(k, k): v for k, v in vals.items()})
            rows.append(row)
    return pd.DataFrame(rows) if rows else None
