"""BRISQUE (no-reference, lower is better, about 0-100) with the LIVE-trained SVR shipped in the
``brisque`` package (Apache-2.0; ``brisque/models/svm.txt`` and ``normalize.pickle``).

Mittal, Moorthy, Bovik, "No-reference image quality assessment in the spatial domain", IEEE TIP
21(12), 2012. 36 features: for the MSCN map and its four neighbour products (horizontal, vertical,
two diagonals), AGGD fits at full and half scale (bicubic); features are scaled to [-1, 1] with the
shipped min/max and fed to the shipped epsilon-SVR (RBF kernel). The feature conventions (skimage
luminance, 7x7 Gaussian with sigma 7/6, C = 1/255, zero padding, OpenCV bicubic halving) follow the
package so that its parameters apply; the SVR is evaluated here in numpy (no libsvm needed).
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from skimage.color import rgb2gray

from .nr_stats import aggd_fit, mscn, package_file

BRISQUE_MIN_SIZE = 16


class _NoGlobals(pickle.Unpickler):
    """Unpickler for plain data only (dicts, lists, floats): refuses any class or function."""

    def find_class(self, module: str, name: str):  # noqa: ANN201
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a parameter file")


@dataclass(frozen=True)
class SVRModel:
    """An epsilon-SVR with RBF kernel: f(x) = sum_i coef_i exp(-gamma |x - sv_i|^2) - rho."""

    gamma: float
    rho: float
    coef: np.ndarray  # (n_sv,)
    sv: np.ndarray  # (n_sv, n_features)
    feat_min: np.ndarray
    feat_max: np.ndarray

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Scores for ``(n, n_features)`` raw features (scaled to [-1, 1] first)."""
        f = np.atleast_2d(features)
        z = -1.0 + 2.0 * (f - self.feat_min) / (self.feat_max - self.feat_min)
        d2 = (z * z).sum(1)[:, None] + (self.sv * self.sv).sum(1)[None] - 2.0 * z @ self.sv.T
        return np.exp(-self.gamma * np.maximum(d2, 0.0)) @ self.coef - self.rho


def parse_libsvm_model(svm_path: Path, n_features: int = 36) -> tuple[dict[str, str], np.ndarray, np.ndarray]:
    """Read a LIBSVM text model: header dict, coefficients (n_sv,), dense support vectors."""
    header: dict[str, str] = {}
    coef: list[float] = []
    rows: list[np.ndarray] = []
    with open(svm_path, encoding="ascii") as fh:
        for line in fh:
            if line.strip() == "SV":
                break
            key, _, value = line.strip().partition(" ")
            header[key] = value
        for line in fh:
            parts = line.split()
            if not parts:
                continue
            coef.append(float(parts[0]))
            row = np.zeros(n_features)
            for item in parts[1:]:
                idx, _, val = item.partition(":")
                row[int(idx) - 1] = float(val)
            rows.append(row)
    if header.get("svm_type") != "epsilon_svr" or header.get("kernel_type") != "rbf":
        raise ValueError(f"{svm_path}: expected an epsilon_svr model with rbf kernel, got {header}")
    return header, np.asarray(coef), np.stack(rows)


@lru_cache(maxsize=1)
def shipped_model() -> SVRModel:
    """The LIVE-trained SVR and feature ranges shipped in the ``brisque`` package."""
    svm_path = package_file("brisque", "models", "svm.txt")
    with open(package_file("brisque", "models", "normalize.pickle"), "rb") as fh:
        scale = _NoGlobals(fh).load()
    header, coef, sv = parse_libsvm_model(svm_path)
    return SVRModel(
        gamma=float(header["gamma"]),
        rho=float(header["rho"]),
        coef=coef,
        sv=sv,
        feat_min=np.asarray(scale["min_"], dtype=np.float64),
        feat_max=np.asarray(scale["max_"], dtype=np.float64),
    )


def _scale_features(gray: np.ndarray) -> list[float]:
    m = mscn(gray, c=1.0 / 255.0)
    pairs = (
        m[:, :-1] * m[:, 1:],  # horizontal
        m[:-1, :] * m[1:, :],  # vertical
        m[:-1, :-1] * m[1:, 1:],  # main diagonal
        m[1:, :-1] * m[:-1, 1:],  # secondary diagonal
    )
    alpha, _, sl, sr = aggd_fit(m)
    feats = [alpha, (sl**2 + sr**2) / 2]
    for p in pairs:
        a, mean, pl, pr = aggd_fit(p)
        feats += [a, mean, pl**2, pr**2]
    return feats


def brisque_features(image: np.ndarray) -> np.ndarray:
    """The 36 BRISQUE features of an ``HxWx3`` uint8 RGB image (18 at full, 18 at half scale)."""
    h, w = image.shape[:2]
    if min(h, w) < BRISQUE_MIN_SIZE:
        raise ValueError(f"BRISQUE needs images of at least {BRISQUE_MIN_SIZE}x{BRISQUE_MIN_SIZE} px, got {w}x{h}")
    gray = rgb2gray(image)
    half = cv2.resize(gray, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_CUBIC)
    return np.asarray(_scale_features(gray) + _scale_features(half))


def brisque(image: np.ndarray) -> float:
    """BRISQUE score of an ``HxWx3`` uint8 RGB image with the shipped LIVE model."""
    return float(shipped_model().predict(brisque_features(image))[0])
