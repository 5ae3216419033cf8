"""One call from an image to typed per-face results: :func:`analyze` / :class:`FaceAnalyzer`.

Parts (computed only when asked for, plus what they need):

==============  ====================================================  ==================
part            what                                                  needs
==============  ====================================================  ==================
``detection``   box, score, 5 keypoints (:mod:`.detect`)              (always computed)
``mesh``        478-point 3-D mesh in pixels (:mod:`.mesh`)            detection
``crop``        aligned canonical crop + 2x3 matrix (:mod:`.align`)    mesh
``mask``        face-region mask from the mesh hull (:mod:`.align`)    mesh
``geometry``    interpretable measurements (:mod:`.geometry`)          mesh
``identity``    128-D dlib descriptor (:mod:`.identity`)               detection
``expression``  BASIC7 probabilities per model + ensemble              detection
==============  ====================================================  ==================

Faces are sorted by box area, largest first (``faces[0]`` is the main face). Models load once
per process on first use. Results are cached by the decoded image's content hash
(:func:`facebench.base.imageio.image_hash`) and the analyser's settings, in memory (LRU) and optionally
on disk (:mod:`.cache`); a later call that asks for more parts computes only the missing ones.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

import numpy as np

from .. import __version__
from ..expressions import BASIC7
from ..base.imageio import DEFAULT_MAX_PIXELS, ImageSource, image_hash, load_image
from ..base.cache import DiskCache, MemoryCache, default_cache_dir
from ..base.lazy import ProcessDefault
from .types import KEYPOINT_NAMES, Detection, Face, NoFaceError

#: Every part :func:`analyze` can compute, in computing order.
PARTS: tuple[str, ...] = ("detection", "mesh", "crop", "mask", "identity", "expression", "geometry")
_NEEDS: dict[str, tuple[str, ...]] = {
    "detection": (), "mesh": ("detection",), "crop": ("mesh",), "mask": ("mesh",),
    "geometry": ("mesh",), "identity": ("detection",), "expression": ("detection",),
}
#: Bumped when cached results would differ; part of every cache key.
ANALYSIS_VERSION = "1"


def normalize_parts(parts: str | Iterable[str]) -> tuple[str, ...]:
    """Validate part names (``"all"`` = every part; a string may be comma-separated) and return
    them in :data:`PARTS` order. Raises ``ValueError`` naming an unknown part."""
    names = parts.split(",") if isinstance(parts, str) else list(parts)
    names = [n.strip().lower() for n in names if n and n.strip()]
    if "all" in names:
        return PARTS
    bad = [n for n in names if n not in PARTS]
    if bad:
        raise ValueError(f"unknown part {bad[0]!r}; expected 'all' or some of: {', '.join(PARTS)}")
    return tuple(p for p in PARTS if p in names or p == "detection")


def _with_needs(parts: Iterable[str]) -> frozenset[str]:
    out: set[str] = set()
    todo = list(parts) + ["detection"]
    while todo:
        p = todo.pop()
        if p not in out:
            out.add(p)
            todo.extend(_NEEDS[p])
    return frozenset(out)


@dataclass
class _Entry:
    faces: list[Face]
    done: frozenset[str]


def _source_name(src: ImageSource) -> str:
    if isinstance(src, (str, os.PathLike)):
        return os.fspath(src)
    return "<bytes>" if isinstance(src, bytes) else "<image>"


_NOT_LOADED: Any = object()


def _path_key(src: ImageSource) -> str | None:
    """``path|size|mtime`` of an image file (None for other sources or when stat fails)."""
    if not isinstance(src, (str, os.PathLike)):
        return None
    try:
        st = os.stat(src)
    except OSError:
        return None
    return f"{os.path.abspath(src)}|{st.st_size}|{st.st_mtime_ns}"


def _select(face: Face, parts: tuple[str, ...]) -> Face:
    """A deep copy of ``face`` holding only ``parts`` (the detection is always kept)."""
    keep = set(parts)
    out = Face(index=face.index, detection=copy.deepcopy(face.detection))
    if "mesh" in keep and face.mesh is not None:
        out.mesh = face.mesh.copy()
    if "crop" in keep and face.crop is not None:
        out.crop = face.crop.copy()
        out.crop_transform = None if face.crop_transform is None else face.crop_transform.copy()
    if "mask" in keep and face.mask is not None:
        out.mask = face.mask.copy()
    if "identity" in keep and face.identity is not None:
        out.identity = face.identity.copy()
        out.identity_recogniser = face.identity_recogniser
    if "expression" in keep:
        out.expression = {k: v.copy() for k, v in face.expression.items()}
    if "geometry" in keep:
        out.geometry = dict(face.geometry)
    return out


class FaceAnalyzer:
    """Runs the face-analysis parts with shared, lazily loaded models and a result cache.

    ``cache_dir``: folder of the on-disk cache; None = ``$FACEBENCH_CACHE`` (unset: none);
    False = no disk cache. ``memory_cache``: how many images' results to keep in memory;
    ``detection_cache``: how many more images whose only result is the detection (a box and 5
    keypoints per face, < 1 KB) to keep besides, so that the stages of a benchmark run (judge,
    then identity, each over thousands of edits) find each edit's faces once.
    ``stats`` counts what happened (``detection``, ``mesh``, ... = stage runs; ``memory_hit``,
    ``disk_hit``, ``miss``) and ``last_timings`` holds the seconds each stage took in the last call.
    """

    def __init__(
        self,
        *,
        detector: str = "mediapipe",
        min_score: float = 0.5,
        crop_size: int = 256,
        mask_dilate: float = 0.0,
        memory_cache: int = 64,
        detection_cache: int = 8192,
        cache_dir: str | os.PathLike | None | bool = None,
        max_pixels: int = DEFAULT_MAX_PIXELS,
    ) -> None:
        from .detect import DETECTORS

        self.detector = DETECTORS.entry(detector).name
        self.min_score = float(min_score)
        self.crop_size = int(crop_size)
        self.mask_dilate = float(mask_dilate)
        self.max_pixels = int(max_pixels)
        self.memory = MemoryCache(memory_cache)
        self.detections = MemoryCache(detection_cache)
        if cache_dir is None:
            cache_dir = default_cache_dir()
        self.disk = DiskCache(cache_dir) if cache_dir not in (None, False) else None
        self.stats: Counter[str] = Counter()
        self.last_timings: dict[str, float] = {}
        self._path_hashes = MemoryCache(4096)
        self._lock = threading.RLock()

    @property
    def settings_key(self) -> str:
        """Short hash of everything besides the image that changes the results."""
        text = "|".join(
            map(str, (ANALYSIS_VERSION, __version__, self.detector, self.min_score,
                      self.crop_size, self.mask_dilate))
        )
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def clear_cache(self) -> None:
        """Forget the in-memory results (the disk cache is left alone)."""
        self.memory.clear()
        self.detections.clear()
        self._path_hashes.clear()

    # -- public -------------------------------------------------------------------------------

    def analyze(
        self,
        image: ImageSource,
        *,
        parts: str | Iterable[str] = PARTS,
        max_faces: int | None = None,
        name: str | None = None,
        require: bool = False,
    ) -> list[Face]:
        """Analyse every face (or the ``max_faces`` largest) in ``image`` (path, bytes, array or
        PIL image; read with :func:`facebench.base.imageio.load_image`).

        Returns one :class:`Face` per face, largest box first, holding the requested ``parts``.
        Raises :class:`facebench.base.imageio.ImageError` for unreadable input and, with
        ``require=True``, :class:`NoFaceError` when there is no face.
        """
        wanted = normalize_parts(parts)
        if max_faces is not None and max_faces < 1:
            raise ValueError(f"max_faces must be >= 1, got {max_faces}")
        source = name or _source_name(image)
        self.last_timings = {}
        # A file seen before (same path, size and mtime) is not decoded again to find its hash.
        pkey = _path_key(image)
        digest = self._path_hashes.get(pkey) if pkey else None
        img: np.ndarray = _NOT_LOADED
        if digest is None:
            img = self._load(image)
            t1 = time.perf_counter()
            digest = image_hash(img)
            self.last_timings["hash"] = time.perf_counter() - t1
            if pkey:
                self._path_hashes.put(pkey, digest)
        key = f"{digest}-{self.settings_key}-{max_faces or 0}"
        need = _with_needs(wanted)
        with self._lock:
            entry = self._lookup(key)
            if entry is None or not need <= entry.done:
                self.stats["miss"] += 1
                if img is _NOT_LOADED:
                    img = self._load(image)
                entry = self._compute(img, entry, need, max_faces)
                (self.detections if entry.done == {"detection"} else self.memory).put(key, entry)
                if self.disk is not None:
                    self.disk.put(key, entry)
            faces = [_select(f, wanted) for f in entry.faces]
        if require and not faces:
            raise NoFaceError(source)
        return faces

    def analyze_face(
        self,
        image: ImageSource,
        *,
        parts: str | Iterable[str] = PARTS,
        index: int = 0,
        name: str | None = None,
    ) -> Face:
        """The ``index``-th largest face (default: the largest); :class:`NoFaceError` if absent."""
        faces = self.analyze(image, parts=parts, name=name, require=True)
        if index >= len(faces):
            raise NoFaceError(f"{name or _source_name(image)} (face {index} of {len(faces)})")
        return faces[index]

    # -- internals ----------------------------------------------------------------------------

    def _load(self, image: ImageSource) -> np.ndarray:
        t0 = time.perf_counter()
        img = load_image(image, max_pixels=self.max_pixels)
        self.last_timings["load"] = time.perf_counter() - t0
        return img

    def _lookup(self, key: str) -> _Entry | None:
        entry = self.memory.get(key)
        if entry is None:
            entry = self.detections.get(key)
        if entry is not None:
            self.stats["memory_hit"] += 1
            return entry
        if self.disk is not None:
            entry = self.disk.get(key)
            if isinstance(entry, _Entry):
                self.stats["disk_hit"] += 1
                self.memory.put(key, entry)
                return entry
        return None

    @contextlib.contextmanager
    def _timed(self, stage: str) -> Iterator[None]:
        """Count a run of ``stage`` in :attr:`stats` and its seconds in :attr:`last_timings`."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.last_timings[stage] = time.perf_counter() - t0
            self.stats[stage] += 1

    def _compute(
        self, img: np.ndarray, entry: _Entry | None, need: frozenset[str], max_faces: int | None
    ) -> _Entry:
        faces = copy.deepcopy(entry.faces) if entry else []
        done = set(entry.done) if entry else set()
        if "detection" not in done:
            from .detect import detect_faces

            with self._timed("detection"):
                dets = detect_faces(img, detector=self.detector, min_score=self.min_score)
            faces = [Face(index=i, detection=d) for i, d in enumerate(dets[:max_faces])]
        todo = [p for p in PARTS if p in need and p not in done and p != "detection"]
        boxes = np.stack([f.detection.box for f in faces]) if faces else np.zeros((0, 4))
        for part in todo:
            if faces:
                with self._timed(part):
                    getattr(self, f"_run_{part}")(img, faces, boxes)
        return _Entry(faces, frozenset(done | need))

    def _run_mesh(self, img: np.ndarray, faces: list[Face], boxes: np.ndarray) -> None:
        from .mesh import get_mesh_estimator

        for face, mesh in zip(faces, get_mesh_estimator().estimate_all(img, boxes)):
            face.mesh = mesh

    def _run_crop(self, img: np.ndarray, faces: list[Face], boxes: np.ndarray) -> None:
        from .align import align_face

        for face in faces:
            face.crop, face.crop_transform = align_face(img, face.keypoints(), size=self.crop_size)

    def _run_mask(self, img: np.ndarray, faces: list[Face], boxes: np.ndarray) -> None:
        from .align import face_mask

        for face in faces:
            if face.mesh is not None:
                face.mask = face_mask(face.mesh, img.shape, dilate=self.mask_dilate)

    def _run_geometry(self, img: np.ndarray, faces: list[Face], boxes: np.ndarray) -> None:
        from .geometry import measure

        for face in faces:
            if face.mesh is not None:
                face.geometry = measure(face.mesh)

    def _run_identity(self, img: np.ndarray, faces: list[Face], boxes: np.ndarray) -> None:
        from . import identity
        from ..base.native import quiet_native_stderr

        # detector keypoints (not the mesh's) so the result does not depend on the parts asked for
        kps = np.stack([f.detection.keypoints for f in faces])
        with quiet_native_stderr():
            emb = identity.embed(img, boxes, kps)
        name = getattr(emb, "recogniser", "dlib")
        for i, face in enumerate(faces):
            face.identity = np.asarray(emb[i], dtype=np.float32)
            face.identity_recogniser = name

    def _run_expression(self, img: np.ndarray, faces: list[Face], boxes: np.ndarray) -> None:
        from . import expression
        from ..base.native import quiet_native_stderr

        with quiet_native_stderr():  # the TFLite runtime logs to fd 2 when it starts
            probs = expression.classify(img, boxes)
        for i, face in enumerate(faces):
            face.expression = {m: np.asarray(p[i], dtype=np.float64) for m, p in probs.items()}


#: The process-wide :class:`FaceAnalyzer` with default settings (built on first use).
default_analyzer: ProcessDefault[FaceAnalyzer] = ProcessDefault(lambda: FaceAnalyzer())


def analyze(image: ImageSource, **options: Any) -> list[Face]:
    """:meth:`FaceAnalyzer.analyze` (same keyword options) with the process-wide default analyser."""
    return default_analyzer().analyze(image, **options)


def analyze_face(
    image: ImageSource, *, parts: str | Iterable[str] = PARTS, index: int = 0, name: str | None = None
) -> Face:
    """The largest (or ``index``-th) face with the default analyser; :class:`NoFaceError` if none."""
    return default_analyzer().analyze_face(image, parts=parts, index=index, name=name)


# -- tables ------------------------------------------------------------------------------------


def top_expression(face: Face, model: str = "ensemble") -> tuple[str, float] | None:
    """``(label, probability)`` of the most likely BASIC7 class for ``model``, or None."""
    p = face.expression.get(model)
    if p is None:
        return None
    i = int(np.argmax(p))
    return BASIC7[i], float(p[i])


def face_to_dict(face: Face, *, arrays: bool = False) -> dict[str, Any]:
    """A JSON-ready dict of one face (mesh and identity only with ``arrays=True``)."""
    d = face.detection
    out: dict[str, Any] = {
        "face": face.index,
        "box": [round(float(v), 2) for v in d.box],
        "score": round(float(d.score), 4),
        "detector": d.detector,
        "keypoints": {n: [round(float(v), 2) for v in p] for n, p in zip(KEYPOINT_NAMES, face.keypoints())},
    }
    if face.expression:
        out["expression"] = {
            m: {lab: round(float(v), 5) for lab, v in zip(BASIC7, p)} for m, p in face.expression.items()
        }
        top = top_expression(face)
        if top:
            out["top_expression"] = top[0]
    if face.geometry:
        out["geometry"] = {k: round(float(v), 5) for k, v in face.geometry.items()}
    if face.identity_recogniser:
        out["identity_recogniser"] = face.identity_recogniser
    if arrays and face.identity is not None:
        out["identity"] = [float(v) for v in face.identity]
    if arrays and face.mesh is not None:
        out["mesh"] = np.round(face.mesh, 2).tolist()
    return out


def faces_to_frame(faces: list[Face], image_name: str = "", *, arrays: bool = False):
    """A pandas DataFrame with one row per face.

    Columns: ``image, face, x0, y0, x1, y1, score, detector``, the keypoints
    (``<name>_x``, ``<name>_y``), ``expression`` (top ensemble class) and
    ``<model>_<class>`` probabilities for each expression model (BASIC7 names), then the geometry
    measurements. With ``arrays=True`` also ``mesh`` ((478, 3) array) and ``identity`` ((128,)).
    """
    import pandas as pd

    rows = []
    for face in faces:
        d = face.detection
        row: dict[str, Any] = {"image": image_name, "face": face.index}
        row.update(zip(("x0", "y0", "x1", "y1"), (float(v) for v in d.box)))
        row.update(score=float(d.score), detector=d.detector)
        for n, (x, y) in zip(KEYPOINT_NAMES, face.keypoints()):
            row[f"{n}_x"], row[f"{n}_y"] = float(x), float(y)
        top = top_expression(face)
        if top:
            row["expression"] = top[0]
        for model, p in face.expression.items():
            row.update({f"{model}_{lab}": float(v) for lab, v in zip(BASIC7, p)})
        row.update(face.geometry)
        if arrays:
            row["mesh"] = face.mesh
            row["identity"] = face.identity
        rows.append(row)
    return pd.DataFrame(rows, columns=None if rows else ["image", "face", "x0", "y0", "x1", "y1", "score"])


__all__ = [
    "PARTS", "FaceAnalyzer", "NoFaceError", "analyze", "analyze_face", "default_analyzer",
    "face_to_dict", "faces_to_frame", "normalize_parts", "top_expression", "Detection", "Face",
]
