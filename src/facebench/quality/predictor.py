"""Learned face-quality predictor: features of the shipped models + a small CNN trained from scratch.

F-Bench (sec. 5.1) retrains deep IQA models on an 80:20 split and reports SRCC/PLCC on the held-out
20%. No pretrained backbone can be had offline, so facebench's predictor combines

- hand-crafted features computed with shipped parameters/models (``feature_groups``):
  ``brisque`` = the 36 BRISQUE natural-scene-statistics features (inputs of the shipped LIVE SVR),
  ``nr`` = NIQE / BRISQUE / PIQE scores, ``face`` = face-detector confidence and the BASIC7
  expression probabilities of the main face (facebench.face);
- a small CNN trained from scratch on the image resized to ``image_size`` (4 conv blocks, mean and
  standard-deviation pooling), whose 128 outputs are concatenated with the standardised features
  and regressed to the standardised MOS by a 2-layer MLP (MSE loss, Adam).

Everything is seeded (split, initialisation, batches); :meth:`QualityPredictor.save` writes one
``.pt`` file (weights + settings + feature statistics, loadable with ``weights_only=True``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ..expressions import BASIC7
from ..metrics.correlation import plcc, srcc
from . import nr_brisque, nr_niqe, nr_piqe

FEATURE_GROUPS = ("brisque", "nr", "face")
FORMAT_VERSION = 1


def feature_names(groups: Sequence[str]) -> list[str]:
    """Column names of :func:`extract_features` for the given groups."""
    names: list[str] = []
    for g in groups:
        if g == "brisque":
            names += [f"brisque_f{i:02d}" for i in range(36)]
        elif g == "nr":
            names += ["niqe", "brisque", "piqe"]
        elif g == "face":
            names += ["face_confidence"] + [f"expr_{e}" for e in BASIC7]
        else:
            raise ValueError(f"unknown feature group {g!r}; choose from {', '.join(FEATURE_GROUPS)}")
    return names


def _safe(fn, *args) -> float:  # noqa: ANN001
    try:
        return float(fn(*args))
    except ValueError:  # too small / flat: imputed with the training mean later
        return float("nan")


def _features_one(img: np.ndarray, groups: Sequence[str]) -> list[float]:
    out: list[float] = []
    for g in groups:
        if g == "brisque":
            try:
                out += list(nr_brisque.brisque_features(img))
            except ValueError:
                out += [float("nan")] * 36
        elif g == "nr":
            out += [_safe(nr_niqe.niqe, img), _safe(nr_brisque.brisque, img), _safe(nr_piqe.piqe, img)]
        elif g == "face":
            from .face_metrics import analyzer

            faces = analyzer().analyze(img, parts=("expression",), max_faces=1)
            if faces:
                probs = np.asarray(faces[0].expression.get("ensemble", np.full(7, np.nan)), dtype=float)
                out += [float(faces[0].detection.score)] + list(probs)
            else:
                out += [0.0] + [float("nan")] * 7
    return out


def extract_features(images: Sequence[np.ndarray], groups: Sequence[str] = FEATURE_GROUPS, progress: bool = False) -> np.ndarray:
    """``(N, F)`` features of ``HxWx3`` uint8 RGB images (NaN where a feature is undefined)."""
    feature_names(groups)  # validates the names
    rows = [_features_one(im, groups) for im in tqdm(images, desc="features", disable=not progress)]
    return np.asarray(rows, dtype=np.float64).reshape(len(images), -1)


class _Net(nn.Module):
    def __init__(self, n_features: int, use_cnn: bool = True, width: int = 16) -> None:
        super().__init__()
        self.use_cnn = use_cnn
        w = width
        self.cnn = nn.Sequential(
            nn.Conv2d(3, w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(w, 2 * w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(2 * w, 4 * w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(4 * w, 4 * w, 3, padding=1), nn.ReLU(),
        ) if use_cnn else None
        n_cnn = 8 * w if use_cnn else 0
        self.head = nn.Sequential(nn.Linear(n_cnn + n_features, 64), nn.ReLU(), nn.Dropout(0.1), nn.Linear(64, 1))

    def forward(self, x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
        parts = [f]
        if self.cnn is not None:
            h = self.cnn(x)
            parts.insert(0, torch.cat([h.mean((2, 3)), h.flatten(2).std(2)], 1))
        return self.head(torch.cat(parts, 1)).squeeze(1)


@dataclass
class PredictorConfig:
    """Settings of :class:`QualityPredictor` (saved with the model)."""

    feature_groups: tuple[str, ...] = FEATURE_GROUPS
    use_cnn: bool = True
    image_size: int = 96
    width: int = 16
    epochs: int = 60
    batch_size: int = 16
    lr: float = 2e-3
    weight_decay: float = 1e-4
    seed: int = 0
    test_fraction: float = 0.2


@dataclass
class TrainReport:
    """Held-out evaluation of one training run (F-Bench's 80:20 protocol)."""

    n_train: int
    n_test: int
    srcc: float
    plcc: float
    chance_srcc95: float  #: 95th percentile of SRCC against permuted held-out MOS
    p_value: float  #: share of permutations with SRCC >= the observed one
    train_index: list[int]
    test_index: list[int]
    test_pred: list[float]
    loss: list[float] = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-able dict."""
        return asdict(self)


def split_indices(n: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random train/test split (at least one item on each side)."""
    if n < 4:
        raise ValueError(f"need at least 4 rated images to train and test, got {n}")
    perm = np.random.default_rng(seed).permutation(n)
    n_test = min(n - 2, max(2, int(round(n * test_fraction))))
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])


class QualityPredictor:
    """Regressor from a face image to MOS (see the module docstring)."""

    def __init__(self, config: PredictorConfig | None = None) -> None:
        self.config = config or PredictorConfig()
        self.names = feature_names(self.config.feature_groups)
        self.net: _Net | None = None
        self.f_mean = np.zeros(len(self.names))
        self.f_std = np.ones(len(self.names))
        self.y_mean, self.y_std = 0.0, 1.0

    # -- inputs ---------------------------------------------------------------------------
    def _pixels(self, images: Sequence[np.ndarray]) -> torch.Tensor:
        s = self.config.image_size
        arr = np.stack([cv2.resize(im, (s, s), interpolation=cv2.INTER_AREA) for im in images]).astype(np.float32)
        return torch.from_numpy(arr / 255.0 - 0.5).permute(0, 3, 1, 2).contiguous()

    def _standardise(self, feats: np.ndarray) -> torch.Tensor:
        f = np.where(np.isnan(feats), self.f_mean, feats)
        return torch.from_numpy(((f - self.f_mean) / self.f_std).astype(np.float32))

    # -- training -------------------------------------------------------------------------
    def fit(self, images: Sequence[np.ndarray], mos: Sequence[float], features: np.ndarray | None = None,
            progress: bool = False) -> TrainReport:
        """Seeded 80/20 split, train on 80%, report SRCC/PLCC on the held-out 20%."""
        cfg = self.config
        y = np.asarray(mos, dtype=np.float64)
        if len(images) != len(y):
            raise ValueError(f"{len(images)} images but {len(y)} MOS values")
        feats = extract_features(images, cfg.feature_groups, progress) if features is None else np.asarray(features, float)
        tr, te = split_indices(len(y), cfg.test_fraction, cfg.seed)
        loss = self._train(self._pixels([images[i] for i in tr]), feats[tr], y[tr], progress)
        pred = self._predict(self._pixels([images[i] for i in te]), feats[te])
        s, p = srcc(pred, y[te]), plcc(pred, y[te])
        rng = np.random.default_rng(cfg.seed + 1)
        perm = np.array([srcc(pred, rng.permutation(y[te])) for _ in range(1000)])
        perm = perm[np.isfinite(perm)]
        return TrainReport(len(tr), len(te), float(s), float(p), float(np.quantile(perm, 0.95)),
                           float((perm >= s).mean()), tr.tolist(), te.tolist(), pred.tolist(), loss)

    def _train(self, x: torch.Tensor, feats: np.ndarray, y: np.ndarray, progress: bool) -> list[float]:
        cfg = self.config
        torch.manual_seed(cfg.seed)
        with np.errstate(all="ignore"):
            self.f_mean = np.nan_to_num(np.nanmean(feats, 0))
            self.f_std = np.nan_to_num(np.nanstd(feats, 0))
        self.f_std[self.f_std < 1e-8] = 1.0
        self.y_mean, self.y_std = float(y.mean()), float(y.std() or 1.0)
        f = self._standardise(feats)
        t = torch.from_numpy(((y - self.y_mean) / self.y_std).astype(np.float32))
        self.net = _Net(len(self.names), cfg.use_cnn, cfg.width)
        opt = torch.optim.Adam(self.net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        gen = torch.Generator().manual_seed(cfg.seed)
        history = []
        self.net.train()
        for _ in tqdm(range(cfg.epochs), desc="train", disable=not progress):
            order = torch.randperm(len(t), generator=gen)
            total = 0.0
            for start in range(0, len(t), cfg.batch_size):
                idx = order[start : start + cfg.batch_size]
                xb = x[idx]
                flip = torch.rand(len(idx), generator=gen) < 0.5
                xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
                opt.zero_grad()
                loss = nn.functional.mse_loss(self.net(xb, f[idx]), t[idx])
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(idx)
            history.append(total / len(t))
        self.net.eval()
        return history

    def _predict(self, x: torch.Tensor, feats: np.ndarray) -> np.ndarray:
        if self.net is None:
            raise RuntimeError("the predictor is not trained (call fit or load)")
        with torch.no_grad():
            out = self.net(x, self._standardise(feats)).numpy().astype(np.float64)
        return out * self.y_std + self.y_mean

    def predict(self, images: Sequence[np.ndarray], features: np.ndarray | None = None) -> np.ndarray:
        """Predicted MOS for ``HxWx3`` uint8 RGB images."""
        feats = extract_features(images, self.config.feature_groups) if features is None else np.asarray(features, float)
        return self._predict(self._pixels(images), feats)

    # -- persistence ----------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """Write weights, settings and statistics to one ``.pt`` file."""
        if self.net is None:
            raise RuntimeError("the predictor is not trained: nothing to save")
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        cfg = asdict(self.config)
        cfg["feature_groups"] = list(cfg["feature_groups"])
        torch.save({"format": FORMAT_VERSION, "config": cfg, "state_dict": self.net.state_dict(),
                    "f_mean": torch.from_numpy(self.f_mean), "f_std": torch.from_numpy(self.f_std),
                    "y_mean": self.y_mean, "y_std": self.y_std, "feature_names": self.names}, p)
        return p

    @classmethod
    def load(cls, path: str | os.PathLike) -> "QualityPredictor":
        """Read a model written by :meth:`save` (no code is unpickled)."""
        try:
            blob = torch.load(Path(path), map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - torch raises many types for a file that is not a model
            raise ValueError(f"{path}: not a facebench quality model ({str(exc).splitlines()[0]})") from None
        if not isinstance(blob, dict) or blob.get("format") != FORMAT_VERSION:
            raise ValueError(f"{path}: not a facebench quality model (format {FORMAT_VERSION})")
        cfg = dict(blob["config"])
        cfg["feature_groups"] = tuple(cfg["feature_groups"])
        model = cls(PredictorConfig(**cfg))
        model.net = _Net(len(model.names), model.config.use_cnn, model.config.width)
        model.net.load_state_dict(blob["state_dict"])
        model.net.eval()
        model.f_mean, model.f_std = blob["f_mean"].numpy(), blob["f_std"].numpy()
        model.y_mean, model.y_std = float(blob["y_mean"]), float(blob["y_std"])
        return model
