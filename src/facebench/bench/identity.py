"""Identity similarity between a source face and its edit, labelled with the recogniser used.

FFE-Bench's ID Sim (PixelSmile paper, sec. 3.2) is the cosine similarity between the source and
edited face embeddings, averaged over several recognisers (ArcFace, AdaFace, FaceNet). facebench
uses whichever recognisers are configured from :data:`facebench.face.identity.RECOGNISERS`
(``dlib`` by default, a user's ArcFace-style ONNX model by path) and every number says which.
The paper's bands (0.6-0.7 natural, > 0.8 copy-paste) hold for ArcFace-class models, not dlib.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Sequence

import numpy as np

from .components import Component

_SRC_CACHE: "OrderedDict[tuple, np.ndarray]" = OrderedDict()


def recogniser_component(name: str = "dlib", options: dict[str, Any] | None = None) -> Component:
    """A recogniser :class:`Component` labelled as the recogniser labels its embeddings
    (``dlib``, ``onnx:<file name>``)."""
    comp = Component.make("recogniser", name, options)
    return Component(comp.kind, comp.name, comp.options_json, comp.build().label)


def _face(image: np.ndarray, box: Sequence[float] | None) -> tuple[np.ndarray, np.ndarray | None]:
    """(1, 4) box and (1, 5, 2) keypoints (None when the box was given) of the face to embed."""
    if box is not None:
        return np.asarray([list(box)], dtype=np.float64), None
    from ..face import analyze

    faces = analyze(image, parts=("detection",))
    if not faces:
        raise RuntimeError("no face found")
    f = faces[0]
    return np.asarray([f.detection.box], dtype=np.float64), np.asarray([f.keypoints()], dtype=np.float64)


def _embed(rec: Any, image: np.ndarray, box: Sequence[float] | None) -> np.ndarray:
    from ..face.identity import embed

    boxes, kps = _face(image, box)
    return embed(image, boxes, kps, recogniser=rec)[0]


def similarity(comp: Component, source: np.ndarray, edited: np.ndarray, box: Sequence[float] | None) -> float:
    """Cosine similarity of the source and edited faces under the recogniser ``comp``.

    Without a face box each image's largest detected face is used (an edit may move the face
    outline a little); with one, the same box in both images.
    """
    from ..face.identity import similarity as cosine
    from ..base.imageio import image_hash

    rec = comp.build()
    key = (comp, image_hash(source), None if box is None else tuple(box))
    e_src = _SRC_CACHE.get(key)
    if e_src is None:
        e_src = _embed(rec, source, box)
        _SRC_CACHE[key] = e_src
        while len(_SRC_CACHE) > 64:
            _SRC_CACHE.popitem(last=False)
    try:
        e_edit = _embed(rec, edited, box)
    except RuntimeError as exc:
        raise RuntimeError(f"edited image: {exc}") from None
    return float(cosine(e_src, e_edit))
