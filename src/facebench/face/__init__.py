"""Face analysis (``facebench.face``): detection, 3-D mesh, aligned crop, mask, identity,
expression probabilities and interpretable geometry for every face in an image, offline on a CPU.

    >>> from facebench.face import analyze, faces_to_frame
    >>> faces = analyze("photo.jpg", parts=("detection", "mesh", "expression", "geometry"))
    >>> faces_to_frame(faces, "photo.jpg")

Modules: :mod:`.detect` (boxes + 5 keypoints), :mod:`.mesh` (478-point mesh), :mod:`.align`
(canonical crop, mask), :mod:`.geometry` (measurements, head pose), :mod:`.expression` and
:mod:`.identity` (classifiers, embeddings), :mod:`.analyze` (one call, caching, tables),
:mod:`.cache`, :mod:`.cli` (``facebench analyze``). Heavy models load on first use.
"""

from .analyze import (
    PARTS,
    FaceAnalyzer,
    NoFaceError,
    analyze,
    analyze_face,
    default_analyzer,
    face_to_dict,
    faces_to_frame,
    top_expression,
)
from .types import KEYPOINT_NAMES, Detection, Face

__all__ = [
    "KEYPOINT_NAMES", "PARTS", "Detection", "Face", "FaceAnalyzer", "NoFaceError", "analyze",
    "analyze_face", "default_analyzer", "face_to_dict", "faces_to_frame", "top_expression",
]
