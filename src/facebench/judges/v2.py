"""Judge v2, the default ``offline`` judge: trained head over classifier embeddings + mesh geometry.

For the face in ``box`` (or the largest face found) it computes the feature blocks of
:mod:`.features` (fer outputs with test-time views, facex outputs, mesh geometry), reads them with the
shipped head (:mod:`.head`; its model card ``data/judge_v2.md`` has the cross-validated numbers)
and returns:

- ``scores[c]`` for the 6 basic expressions: the graded intensity ``I_c(x | r)`` of
  :meth:`facebench.judges.head.Head.intensity` (classifier log-odds against neutral plus mesh
  action-unit scores, relative to the source face when ``source=`` is given, else to the typical
  neutral face; a clearly posed expression scores about 0.5, stronger ones rise towards 1),
  weighted by the class's probability relative to the most probable basic expression
  (:meth:`~facebench.judges.head.Head.score`) so the top score agrees with the classifier;
- ``scores["neutral"]``: the head's neutral probability;
- the extended expressions of :data:`.prototypes.EXTENDED_JUDGED` from mesh prototypes
  (:mod:`.prototypes`); the other extended ones are never guessed (:func:`.base.not_judged`).

``info`` holds ``probabilities`` (the head's calibrated softmax over neutral + 6 basic),
``top`` (its most probable class), ``relative_to`` (``"source"`` or ``"typical neutral"``), the
face ``box`` and the head file.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..expressions import BASIC6, BASIC7
from .base import Judgement, JudgeError
from .features import FEATURE_VERSION, face_features, geometry_dict, vector
from .head import Head, HeadError
from .prototypes import EXTENDED_JUDGED, extended_scores

#: Bump when the judge's answers for the same image could change (with the same head file).
JUDGE_V2_VERSION = "3"  # 3: extended prototypes v2 (sleepy judged)


def default_head_path() -> Path:
    """The head shipped inside the package (``facebench/judges/data/judge_v2.npz``)."""
    return Path(str(resources.files("facebench.judges") / "data" / "judge_v2.npz"))


class OfflineJudgeV2:
    """Judge v2 (see the module docstring). ``path``: a head file from ``facebench judge train``
    (default: the shipped one); a missing file or one of another feature version raises
    :class:`~.head.HeadError` (one line). ``tta``: test-time views for the CNN blocks (:data:`.features.FER_VIEWS`)."""

    name = "offline"
    judged: tuple[str, ...] = BASIC6 + EXTENDED_JUDGED

    def __init__(self, path: str | None = None, tta: bool = True) -> None:
        self.path = Path(path) if path else default_head_path()
        self.head = Head.load(self.path)
        if tuple(self.head.classes) != BASIC7:
            raise HeadError(f"{self.path}: head classes {list(self.head.classes)}, expected {list(BASIC7)}")
        self.tta = bool(tta)
        self._sources: OrderedDict[str, tuple[np.ndarray, dict[str, float]]] = OrderedDict()
        self._lock = threading.Lock()

    def judge_id(self) -> str:
        """``offline:v<JUDGE_V2_VERSION>:<head digest>:f<feature version>:tta<0/1>:<facebench version>``."""
        from .. import __version__

        digest = str(self.head.meta.get("digest", "")) or _file_digest(self.path)
        return f"offline:v{JUDGE_V2_VERSION}:{digest}:f{FEATURE_VERSION}:tta{int(self.tta)}:{__version__}"

    def _measure(self, image: np.ndarray, box: Sequence[float] | None) -> tuple[dict[str, np.ndarray], list[float]]:
        from ..face import analyze
        from ..face.mesh import get_mesh_estimator

        if box is None:
            faces = [f for f in analyze(image, parts=("mesh",)) if f.mesh is not None]
            if not faces:
                raise JudgeError("offline judge: no face found")
            box, mesh = faces[0].detection.box, faces[0].mesh
        else:
            mesh = get_mesh_estimator().estimate(image, np.asarray(box, np.float64))
            if mesh is None:
                raise JudgeError(f"offline judge: no face found in box {[round(float(v), 1) for v in box]}")
        return face_features(image, box, mesh, tta=self.tta), [float(v) for v in box]

    def _source(self, source: np.ndarray, box: Sequence[float] | None) -> dict[str, np.ndarray]:
        from ..base.imageio import image_hash

        key = f"{image_hash(source)}|{None if box is None else [round(float(v), 2) for v in box]}"
        with self._lock:
            hit = self._sources.get(key)
        if hit is None:
            try:
                hit, _ = self._measure(source, box)
            except JudgeError as exc:
                raise JudgeError(f"source image: {exc}") from None
            with self._lock:
                self._sources[key] = hit
                while len(self._sources) > 64:
                    self._sources.popitem(last=False)
        return hit

    def judge(self, image: np.ndarray, *, box: Sequence[float] | None = None,
              source: np.ndarray | None = None) -> Judgement:
        """Score the face in ``box`` (or the largest face); intensities relative to ``source``
        (the unedited image, same face box) when given."""
        blocks, used_box = self._measure(image, box)
        src = self._source(source, box) if source is not None else None
        scores, info = self.score_features(blocks, src)
        info.update(box=used_box, head=str(self.path))
        return Judgement(scores, self.judge_id(), info)

    def score_features(self, blocks: dict[str, np.ndarray],
                       source: dict[str, np.ndarray] | None = None) -> tuple[dict[str, float], dict[str, Any]]:
        """Scores and info from precomputed feature blocks (:func:`.features.face_features`) of
        the face and, optionally, of its source face."""
        x = vector(blocks, self.head.blocks)
        src_x = None if source is None else vector(source, self.head.blocks)
        proba = self.head.proba(x)
        geo = geometry_dict(blocks["geometry"])
        src_geo = None if source is None else geometry_dict(source["geometry"])
        inten = self.head.score(x, geo, src_x, src_geo)
        scores = {c: float(inten[i]) for i, c in enumerate(self.head.classes) if c != "neutral"}
        scores["neutral"] = float(proba[self.head.classes.index("neutral")])
        ext = extended_scores(blocks, source)
        scores.update({e: ext[e] for e in EXTENDED_JUDGED})
        info = {"probabilities": {c: float(p) for c, p in zip(self.head.classes, proba)},
                "top": self.head.classes[int(np.argmax(proba))],
                "relative_to": "source" if source is not None else "typical neutral",
                "extended_not_judged_measurements": {e: v for e, v in ext.items() if e not in EXTENDED_JUDGED}}
        return scores, info


def _file_digest(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]
