"""Anime face detection for the collect stage (drawn faces, which photo detectors miss).

Detector: AnimeFace 2009 (nvxs 1.0.2) by Yasushi Hayashi, wrapped by the ``animeface`` package
(python-animeface, Shuhei Takahashi), Apache-2.0; the detector's model is compiled into the
package's wheel, so nothing is downloaded. It returns face boxes with a likelihood and the
positions of eyes, nose, mouth and chin (no 3-D mesh: head pose, the occlusion proxy and identity
embeddings do not exist for anime faces).
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Licence of the anime detector, recorded in every dataset card.
ANIME_DETECTOR = "animeface 2.0.3 (AnimeFace 2009 / nvxs 1.0.2), Apache-2.0"


def available() -> bool:
    """True when the ``animeface`` package imports."""
    try:
        import animeface  # noqa: F401
    except ImportError:
        return False
    return True


def detect_anime_faces(image: np.ndarray) -> list[dict[str, Any]]:
    """Anime faces in an RGB uint8 image, largest first: ``{"box": [x0, y0, x1, y1], "likelihood": p}``.

    Raises ``RuntimeError`` naming the package when ``animeface`` is not installed.
    """
    try:
        import animeface
    except ImportError:
        raise RuntimeError("anime faces need the 'animeface' package (pip install animeface)") from None
    from PIL import Image

    found = animeface.detect(Image.fromarray(np.ascontiguousarray(image)))
    out = []
    for f in found:
        b = f.face.pos
        out.append({"box": [float(b.x), float(b.y), float(b.x + b.width), float(b.y + b.height)],
                    "likelihood": float(f.likelihood)})
    out.sort(key=lambda d: -(d["box"][2] - d["box"][0]) * (d["box"][3] - d["box"][1]))
    return out


def measure_anime(faces: list[dict[str, Any]]) -> dict[str, Any]:
    """Quality measures of the largest anime face (the subset :func:`.quality.anime_reasons` reads)."""
    if not faces:
        return {"faces": 0}
    x0, y0, x1, y1 = faces[0]["box"]
    area = lambda b: max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])  # noqa: E731
    return {"faces": len(faces), "box": [x0, y0, x1, y1], "face_px": float(min(x1 - x0, y1 - y0)),
            "likelihood": faces[0]["likelihood"],
            "second_face_ratio": area(faces[1]["box"]) / max(area(faces[0]["box"]), 1e-9) if len(faces) > 1 else 0.0}
