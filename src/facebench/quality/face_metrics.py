"""Face-specific quality measures built on :mod:`facebench.face` (shipped models only).

- identity similarity: cosine similarity of the dlib 128-D descriptors of the largest face in the
  image and in its reference (:func:`facebench.face.identity.similarity`); higher is better.
- face-detector confidence: score of the most confident face the detector finds (0 when none);
  higher is better. A proxy for "does this still look like a face" (used by F-Bench's face-IQA
  discussion of detector-based measures).
- expression-probability shift: total-variation distance 0.5 * sum |p_ref - p_img| between the
  BASIC7 expression probabilities (ensemble of the shipped classifiers) of the two largest faces;
  0 = same expression distribution, 1 = disjoint; lower is better for restoration/degradation.

Models and their licences are listed in :mod:`facebench.face.models`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

#: Detection threshold for these measures: low, so that the confidence of a degraded face is
#: still reported instead of being cut off at the analyser's default of 0.5.
MIN_SCORE = 0.1


@lru_cache(maxsize=1)
def analyzer() -> Any:
    """The face analyser used by the quality metrics (low detection threshold; a memory cache big
    enough that a reference shared by many images, and images scored by several face metrics or
    then used as predictor features, are analysed once)."""
    from ..face import FaceAnalyzer

    return FaceAnalyzer(min_score=MIN_SCORE, cache_dir=False, memory_cache=512)


def _main_face(image: np.ndarray, parts: tuple[str, ...], role: str) -> Any:
    faces = analyzer().analyze(image, parts=parts, max_faces=1)
    if not faces:
        raise ValueError(f"no face found in the {role} image")
    return faces[0]


def identity_similarity(image: np.ndarray, reference: np.ndarray) -> float:
    """Cosine similarity of the identity descriptors of the main faces of image and reference."""
    from ..face.identity import similarity

    a = _main_face(reference, ("identity",), "reference").identity
    b = _main_face(image, ("identity",), "distorted").identity
    return float(similarity(a, b))


def detector_confidence(image: np.ndarray) -> float:
    """Highest face-detection score in the image, 0.0 when no face is found."""
    faces = analyzer().analyze(image, parts=("detection",))
    return max((float(f.detection.score) for f in faces), default=0.0)


def expression_shift(image: np.ndarray, reference: np.ndarray) -> float:
    """Total-variation distance between the BASIC7 expression probabilities of the main faces."""
    p = np.asarray(_main_face(reference, ("expression",), "reference").expression["ensemble"], dtype=float)
    q = np.asarray(_main_face(image, ("expression",), "distorted").expression["ensemble"], dtype=float)
    p, q = p / p.sum(), q / q.sum()
    return float(0.5 * np.abs(p - q).sum())
