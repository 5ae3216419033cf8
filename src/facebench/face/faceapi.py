"""face-api's FaceExpressionNet in PyTorch: 7-class expression logits and a 256-D embedding.

The network (``@vladmandic/face-api`` 1.7.15, MIT; weights converted once from the npm package's
TFJS shards by ``scripts/convert_face_api_expression.py`` into ``face/data/face_api_expression.npz``,
shipped inside facebench; licence in :data:`facebench.face.models.SHIPPED_MODELS`) is a
"FaceFeatureExtractor" of four dense blocks followed by one fully connected layer:

- input: an RGB face crop resized to 112 x 112, ``x = (rgb - (122.782, 117.001, 104.298)) / 255``
  (face-api's ``FaceFeatureExtractor.forwardInput``; a non-square crop is zero-padded to a square,
  centred, before the bilinear resize: :func:`preprocess` takes the square crops facebench makes);
- dense block k (k = 0..3): ``o1 = relu(c0(x))`` with stride 2 (block 0: a 3x3 convolution,
  else a depthwise-separable one), ``o2 = c1(o1)``, ``o3 = c2(relu(o1 + o2))``,
  ``o4 = c3(relu(o1 + o2 + o3))``, output ``relu(o1 + o2 + o3 + o4)``; c1..c3 are 3x3
  depthwise-separable convolutions with bias, TF 'same' padding; channels 32, 64, 128, 256;
- embedding: the 7x7 average pool of block 3's output (256 values, what face-api's classifier reads);
- logits: ``emb @ W + b`` in face-api's order (neutral, happy, sad, angry, fearful, disgusted,
  surprised); face-api's probabilities are their softmax.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from ..base.lazy import ProcessDefault

#: face-api's class order (``FACE_EXPRESSION_LABELS``).
LABELS: tuple[str, ...] = ("neutral", "happy", "sad", "angry", "fear", "disgust", "surprised")
MEAN_RGB = np.array([122.782, 117.001, 104.298], np.float32)
INPUT_SIZE = 112


def weights_path() -> Path:
    """The shipped .npz (see :data:`facebench.face.models.SHIPPED_MODELS` ``face_api_expression``)."""
    from .models import model_path

    return model_path("face_api_expression")


def _same_pad(x, k: int, stride: int):  # noqa: ANN001, ANN202
    """TF 'same' padding for a k x k kernel: total max(k - s, 0) or so, extra on the bottom/right."""
    import torch.nn.functional as F

    h, w = x.shape[-2:]
    ph = max((-(-h // stride) - 1) * stride + k - h, 0)
    pw = max((-(-w // stride) - 1) * stride + k - w, 0)
    return F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))


class FaceExpressionNet:
    """The converted network; call it with (N, 3, 112, 112) float tensors from :func:`preprocess`."""

    def __init__(self, path: str | Path | None = None) -> None:
        import torch

        with np.load(path or weights_path()) as z:
            t = {k: torch.from_numpy(np.ascontiguousarray(z[k])) for k in z.files if not k.startswith("meta")}
        self.layers = []
        for b in range(4):
            convs = []
            for c in range(4):
                p = f"dense{b}/conv{c}/"
                if b == 0 and c == 0:
                    convs.append(("full", t[p + "filters"].permute(3, 2, 0, 1).contiguous(), None, t[p + "bias"]))
                else:
                    dw = t[p + "depthwise_filter"]  # (3, 3, C, 1) -> (C, 1, 3, 3)
                    pw = t[p + "pointwise_filter"]  # (1, 1, C, O) -> (O, C, 1, 1)
                    convs.append(("sep", dw.permute(2, 3, 0, 1).contiguous(), pw.permute(3, 2, 0, 1).contiguous(),
                                  t[p + "bias"]))
            self.layers.append(convs)
        self.fc_w, self.fc_b = t["fc/weights"], t["fc/bias"]

    @staticmethod
    def _conv(x, conv, stride: int):  # noqa: ANN001, ANN205
        import torch.nn.functional as F

        kind, w1, w2, bias = conv
        x = _same_pad(x, 3, stride)
        if kind == "full":
            return F.conv2d(x, w1, bias, stride=stride)
        x = F.conv2d(x, w1, None, stride=stride, groups=x.shape[1])
        return F.conv2d(x, w2, bias)

    def forward(self, x):  # noqa: ANN001, ANN201
        """(logits (N, 7) in :data:`LABELS` order, embedding (N, 256)) for a preprocessed batch."""
        import torch

        for convs in self.layers:
            o1 = torch.relu(self._conv(x, convs[0], 2))
            o2 = self._conv(o1, convs[1], 1)
            o3 = self._conv(torch.relu(o1 + o2), convs[2], 1)
            o4 = self._conv(torch.relu(o1 + o2 + o3), convs[3], 1)
            x = torch.relu(o1 + o2 + o3 + o4)
        emb = x.mean(dim=(2, 3))  # 7x7 'valid' average pool of the 7x7 map
        return emb @ self.fc_w + self.fc_b, emb

    def __call__(self, crops: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(logits, embedding) as float64 arrays for RGB uint8 square crops."""
        import torch

        from .expression import one_torch_thread

        with one_torch_thread(), torch.inference_mode():
            logits, emb = self.forward(torch.from_numpy(preprocess(crops)))
        return logits.numpy().astype(np.float64), emb.numpy().astype(np.float64)


def preprocess(crops: Sequence[np.ndarray]) -> np.ndarray:
    """(N, 3, 112, 112) float32 network input for RGB (H, W, 3) uint8 crops: each resized
    bilinearly to 112 x 112 (square crops; a non-square one is first zero-padded to a centred
    square as face-api does), minus :data:`MEAN_RGB`, divided by 255."""
    import cv2

    out = np.empty((len(crops), 3, INPUT_SIZE, INPUT_SIZE), np.float32)
    for i, c in enumerate(crops):
        c = np.asarray(c)
        h, w = c.shape[:2]
        if h != w:
            d = abs(h - w)
            a, b = d - d // 2, d // 2  # face-api pads round(d/2) after, the rest before
            c = np.pad(c, ((b, a), (0, 0), (0, 0)) if h < w else ((0, 0), (b, a), (0, 0)))
        r = cv2.resize(c, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_LINEAR) if c.shape[0] != INPUT_SIZE else c
        out[i] = ((r.astype(np.float32) - MEAN_RGB) / 255.0).transpose(2, 0, 1)
    return out


#: The shipped network, loaded once per process on first call.
get_net: ProcessDefault[FaceExpressionNet] = ProcessDefault(lambda: FaceExpressionNet())


def face_crop(image: np.ndarray, box: Sequence[float]) -> np.ndarray:
    """The 112 x 112 RGB crop the network reads for the face ``box`` of an RGB ``image``: the
    classifiers' default square crop (:func:`facebench.face.expression.square_crop`, edge-padded),
    resized bilinearly."""
    import cv2

    from .expression import square_crop

    crop = square_crop(np.ascontiguousarray(image[..., :3]), np.asarray(box, np.float64))
    return cv2.resize(crop, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA if crop.shape[0] > INPUT_SIZE
                      else cv2.INTER_LINEAR)


def sample_crops(names: Sequence[str]) -> list[np.ndarray]:
    """:func:`face_crop` of the largest detected face of each bundled sample photo ``names``
    (:mod:`facebench.samples`)."""
    from ..base.imageio import load_image
    from ..samples import sample_paths
    from . import analyze

    paths, out = sample_paths(), []
    for n in names:
        image = load_image(paths[n])
        faces = analyze(image, parts=())
        if not faces:
            raise ValueError(f"{paths[n]}: no face found")
        out.append(face_crop(image, faces[0].detection.box))
    return out
