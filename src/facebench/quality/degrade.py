"""Degradation pipelines for synthetic low-quality faces (F-Bench appendix A.1), seeded and replayable.

A pipeline first *samples* a list of operations with all their parameters (plain JSON-able dicts)
and then *applies* them; :func:`apply_ops` replays a recorded list exactly, so the JSON written
beside every output is both the record and the recipe.

- **first order** (F-Bench eq. 4, after DR2/GFPGAN): I_d = [(I * k) down_r + n]_JPEG with blur
  (Gaussian / average / median / motion, p = 0.7), down-sampling by r in {4, 8, 16} with a random
  interpolation (nearest / linear / area / cubic, p = 1.0), Gaussian noise (p = 0.2) and JPEG
  (p = 0.7). The paper gives the probabilities and choices; the parameter ranges are facebench's
  and live in :class:`FirstOrderConfig`.
- **second order** (Real-ESRGAN, Wang et al. ICCVW 2021): two rounds of blur (Gaussian family or
  sinc), random resize, Gaussian or Poisson noise (colour or gray) and JPEG, then a final resize
  with a sinc filter and JPEG in random order; the numbers are Real-ESRGAN's defaults
  (:class:`SecondOrderConfig`).
- **severity ladder** (:func:`severity_ops`): deterministic blur + noise + JPEG whose strength
  grows with an integer level, for validation studies with known severities (not from the paper).

By default the result is resized back to the input size (bicubic), as restoration benchmarks feed
the low-quality image at the original resolution; ``keep_size=False`` keeps the small image.
"""

from __future__ import annotations

import json
import math
import os
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from . import kernels

Op = dict[str, Any]
PIPELINES = ("first", "second", "mixed")
_INTERP = {"nearest": cv2.INTER_NEAREST, "linear": cv2.INTER_LINEAR, "area": cv2.INTER_AREA, "cubic": cv2.INTER_CUBIC}


@dataclass(frozen=True)
class FirstOrderConfig:
    """Probabilities (from F-Bench) and parameter ranges (facebench's) of the first-order pipeline."""

    p_blur: float = 0.7
    p_downsample: float = 1.0
    p_noise: float = 0.2
    p_jpeg: float = 0.7
    blur_kinds: tuple[str, ...] = ("gaussian", "average", "median", "motion")
    gaussian_sigma: tuple[float, float] = (0.5, 4.0)
    average_sizes: tuple[int, ...] = (3, 5, 7, 9)
    median_sizes: tuple[int, ...] = (3, 5, 7)
    motion_length: tuple[float, float] = (5.0, 21.0)
    scales: tuple[int, ...] = (4, 8, 16)
    interpolations: tuple[str, ...] = ("nearest", "linear", "area", "cubic")
    noise_sigma: tuple[float, float] = (1.0, 15.0)  # on the 0-255 scale
    jpeg_quality: tuple[int, int] = (30, 95)


@dataclass(frozen=True)
class SecondOrderConfig:
    """Real-ESRGAN's default degradation settings (numbers from its published training config)."""

    scale: int = 4
    kernel_sizes: tuple[int, ...] = (7, 9, 11, 13, 15, 17, 19, 21)
    kernel_list: tuple[str, ...] = ("iso", "aniso", "generalized_iso", "generalized_aniso", "plateau_iso", "plateau_aniso")
    kernel_prob: tuple[float, ...] = (0.45, 0.25, 0.12, 0.03, 0.12, 0.03)
    sinc_prob: float = 0.1
    blur_sigma: tuple[float, float] = (0.2, 3.0)
    betag_range: tuple[float, float] = (0.5, 4.0)
    betap_range: tuple[float, float] = (1.0, 2.0)
    resize_prob: tuple[float, float, float] = (0.2, 0.7, 0.1)  # up, down, keep
    resize_range: tuple[float, float] = (0.15, 1.5)
    gaussian_noise_prob: float = 0.5
    noise_range: tuple[float, float] = (1.0, 30.0)
    poisson_scale_range: tuple[float, float] = (0.05, 3.0)
    gray_noise_prob: float = 0.4
    jpeg_range: tuple[int, int] = (30, 95)
    second_blur_prob: float = 0.8
    sinc_prob2: float = 0.1
    blur_sigma2: tuple[float, float] = (0.2, 1.5)
    resize_prob2: tuple[float, float, float] = (0.3, 0.4, 0.3)
    resize_range2: tuple[float, float] = (0.3, 1.2)
    noise_range2: tuple[float, float] = (1.0, 25.0)
    poisson_scale_range2: tuple[float, float] = (0.05, 2.5)
    jpeg_range2: tuple[int, int] = (30, 95)
    final_sinc_prob: float = 0.8
    modes: tuple[str, ...] = ("area", "linear", "cubic")


# -- sampling --------------------------------------------------------------------------------


def _odd_size_for(sigma: float) -> int:
    return 2 * int(math.ceil(3 * sigma)) + 1


def sample_first_order(rng: np.random.Generator, height: int, width: int, cfg: FirstOrderConfig = FirstOrderConfig()) -> list[Op]:
    """Sample the operations of one first-order degradation of an ``height x width`` image."""
    ops: list[Op] = []
    if rng.random() < cfg.p_blur:
        kind = str(rng.choice(cfg.blur_kinds))
        if kind == "gaussian":
            s = float(rng.uniform(*cfg.gaussian_sigma))
            ops.append({"op": "blur", "kernel": "gaussian", "size": _odd_size_for(s), "sigma_x": s, "sigma_y": s, "theta": 0.0})
        elif kind == "average":
            ops.append({"op": "blur", "kernel": "average", "size": int(rng.choice(cfg.average_sizes))})
        elif kind == "median":
            ops.append({"op": "median", "size": int(rng.choice(cfg.median_sizes))})
        else:
            ops.append({"op": "blur", "kernel": "motion", "length": float(rng.uniform(*cfg.motion_length)),
                        "angle": float(rng.uniform(0, 180))})
    if rng.random() < cfg.p_downsample:
        r = int(rng.choice(cfg.scales))
        ops.append({"op": "resize", "height": max(1, round(height / r)), "width": max(1, round(width / r)),
                    "interpolation": str(rng.choice(cfg.interpolations)), "factor": 1.0 / r})
    if rng.random() < cfg.p_noise:
        ops.append({"op": "noise", "kind": "gaussian", "sigma": float(rng.uniform(*cfg.noise_sigma)), "gray": False,
                    "seed": int(rng.integers(2**31))})
    if rng.random() < cfg.p_jpeg:
        ops.append({"op": "jpeg", "quality": int(rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1))})
    return ops


def _sample_kernel(rng: np.random.Generator, cfg: SecondOrderConfig, sigma: tuple[float, float], sinc_prob: float) -> Op:
    size = int(rng.choice(cfg.kernel_sizes))
    if rng.random() < sinc_prob:
        lo = math.pi / 3 if size < 13 else math.pi / 5
        return {"op": "blur", "kernel": "sinc", "size": size, "omega_c": float(rng.uniform(lo, math.pi))}
    kind = str(rng.choice(cfg.kernel_list, p=np.asarray(cfg.kernel_prob) / sum(cfg.kernel_prob)))
    family = "generalized" if kind.startswith("generalized") else "plateau" if kind.startswith("plateau") else "gaussian"
    sx = float(rng.uniform(*sigma))
    if kind.endswith("iso") and not kind.endswith("aniso"):
        sy, theta = sx, 0.0
    else:
        sy, theta = float(rng.uniform(*sigma)), float(rng.uniform(-math.pi, math.pi))
    op: Op = {"op": "blur", "kernel": family, "size": size, "sigma_x": sx, "sigma_y": sy, "theta": theta}
    if family == "generalized":
        op["beta"] = float(rng.uniform(*cfg.betag_range))
    elif family == "plateau":
        op["beta"] = float(rng.uniform(*cfg.betap_range))
    return op


def _sample_resize(rng: np.random.Generator, h: int, w: int, probs: Sequence[float], rng_range: tuple[float, float],
                   modes: Sequence[str]) -> tuple[Op, int, int]:
    kind = str(rng.choice(["up", "down", "keep"], p=np.asarray(probs) / sum(probs)))
    if kind == "up":
        f = float(rng.uniform(1, rng_range[1]))
    elif kind == "down":
        f = float(rng.uniform(rng_range[0], 1))
    else:
        f = 1.0
    nh, nw = max(1, int(h * f)), max(1, int(w * f))
    return {"op": "resize", "height": nh, "width": nw, "interpolation": str(rng.choice(modes)), "factor": f}, nh, nw


def _sample_noise(rng: np.random.Generator, cfg: SecondOrderConfig, sigma: tuple[float, float], poisson: tuple[float, float]) -> Op:
    gray = bool(rng.random() < cfg.gray_noise_prob)
    if rng.random() < cfg.gaussian_noise_prob:
        return {"op": "noise", "kind": "gaussian", "sigma": float(rng.uniform(*sigma)), "gray": gray, "seed": int(rng.integers(2**31))}
    return {"op": "noise", "kind": "poisson", "scale": float(rng.uniform(*poisson)), "gray": gray, "seed": int(rng.integers(2**31))}


def sample_second_order(rng: np.random.Generator, height: int, width: int, cfg: SecondOrderConfig = SecondOrderConfig()) -> list[Op]:
    """Sample the operations of one Real-ESRGAN second-order degradation."""
    ops: list[Op] = [_sample_kernel(rng, cfg, cfg.blur_sigma, cfg.sinc_prob)]
    op, h, w = _sample_resize(rng, height, width, cfg.resize_prob, cfg.resize_range, cfg.modes)
    ops.append(op)
    ops.append(_sample_noise(rng, cfg, cfg.noise_range, cfg.poisson_scale_range))
    ops.append({"op": "jpeg", "quality": int(rng.integers(cfg.jpeg_range[0], cfg.jpeg_range[1] + 1))})
    if rng.random() < cfg.second_blur_prob:
        ops.append(_sample_kernel(rng, cfg, cfg.blur_sigma2, cfg.sinc_prob2))
    kind = str(rng.choice(["up", "down", "keep"], p=np.asarray(cfg.resize_prob2) / sum(cfg.resize_prob2)))
    f = float(rng.uniform(1, cfg.resize_range2[1])) if kind == "up" else float(rng.uniform(cfg.resize_range2[0], 1)) if kind == "down" else 1.0
    th, tw = max(1, int(height / cfg.scale * f)), max(1, int(width / cfg.scale * f))
    ops.append({"op": "resize", "height": th, "width": tw, "interpolation": str(rng.choice(cfg.modes)), "factor": f / cfg.scale})
    ops.append(_sample_noise(rng, cfg, cfg.noise_range2, cfg.poisson_scale_range2))
    final_h, final_w = max(1, height // cfg.scale), max(1, width // cfg.scale)
    back = {"op": "resize", "height": final_h, "width": final_w, "interpolation": str(rng.choice(cfg.modes)), "factor": 1 / cfg.scale}
    if rng.random() < cfg.final_sinc_prob:
        size = int(rng.choice(cfg.kernel_sizes))
        final_sinc: Op | None = {"op": "blur", "kernel": "sinc", "size": size, "omega_c": float(rng.uniform(math.pi / 3, math.pi))}
    else:
        final_sinc = None
    jpeg = {"op": "jpeg", "quality": int(rng.integers(cfg.jpeg_range2[0], cfg.jpeg_range2[1] + 1))}
    tail = [back] + ([final_sinc] if final_sinc else [])
    ops.extend(tail + [jpeg] if rng.random() < 0.5 else [jpeg] + tail)
    return ops


def severity_ops(level: int, seed: int = 0) -> list[Op]:
    """Deterministic validation ladder: level 0 is the identity; level L adds a Gaussian blur with
    sigma 0.6 L, Gaussian noise with sigma 2.5 L (0-255 scale) and JPEG at quality 95 - 15 L (min 10)."""
    if level < 0:
        raise ValueError(f"severity level must be >= 0, got {level}")
    if level == 0:
        return []
    s = 0.6 * level
    return [
        {"op": "blur", "kernel": "gaussian", "size": _odd_size_for(s), "sigma_x": s, "sigma_y": s, "theta": 0.0},
        {"op": "noise", "kind": "gaussian", "sigma": 2.5 * level, "gray": False, "seed": int(seed)},
        {"op": "jpeg", "quality": max(10, 95 - 15 * level)},
    ]


# -- applying --------------------------------------------------------------------------------


def _kernel(op: Op) -> np.ndarray:
    k = op["kernel"]
    if k in ("gaussian", "generalized", "plateau"):
        return kernels.anisotropic(op["size"], op["sigma_x"], op["sigma_y"], op["theta"], k, op.get("beta", 1.0))
    if k == "sinc":
        return kernels.sinc(op["size"], op["omega_c"])
    if k == "average":
        return kernels.average(op["size"])
    if k == "motion":
        return kernels.motion(op["length"], op["angle"])
    raise ValueError(f"unknown blur kernel {k!r}")


def _to_u8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 255.0), 0, 255).astype(np.uint8)


def apply_op(x: np.ndarray, op: Op) -> np.ndarray:
    """Apply one recorded operation to a float32 ``HxWx3`` image in [0, 1]."""
    kind = op["op"]
    if kind == "blur":
        return cv2.filter2D(x, -1, _kernel(op).astype(np.float32), borderType=cv2.BORDER_REFLECT_101)
    if kind == "median":
        return cv2.medianBlur(_to_u8(x), int(op["size"])).astype(np.float32) / 255.0
    if kind == "resize":
        return cv2.resize(x, (int(op["width"]), int(op["height"])), interpolation=_INTERP[op["interpolation"]])
    if kind == "noise":
        rng = np.random.default_rng(op["seed"])
        shape = x.shape[:2] + ((1,) if op.get("gray") else (x.shape[2],))
        if op["kind"] == "gaussian":
            n = rng.normal(0.0, op["sigma"] / 255.0, shape).astype(np.float32)
        else:  # Poisson: the image is read as photon counts at 10^k levels (Real-ESRGAN)
            src = x.mean(axis=2, keepdims=True) if op.get("gray") else x
            vals = 2 ** math.ceil(math.log2(max(2, len(np.unique(_to_u8(src))))))
            counts = np.clip(src, 0, 1) * vals
            n = ((rng.poisson(counts) / vals - np.clip(src, 0, 1)) * op["scale"]).astype(np.float32)
        return np.clip(x + n, 0.0, 1.0)
    if kind == "jpeg":
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(_to_u8(x), cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(op["quality"])])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
    raise ValueError(f"unknown degradation op {kind!r}")


def apply_ops(image: np.ndarray, ops: Sequence[Op], keep_size: bool = True) -> np.ndarray:
    """Apply recorded operations to an ``HxWx3`` uint8 RGB image; returns uint8, resized back to the
    input size with bicubic interpolation when ``keep_size``."""
    h, w = image.shape[:2]
    x = image.astype(np.float32) / 255.0
    for op in ops:
        x = np.clip(apply_op(x, op), 0.0, 1.0)
    if keep_size and x.shape[:2] != (h, w):
        x = cv2.resize(x, (w, h), interpolation=cv2.INTER_CUBIC)
    return _to_u8(x)


# -- one call --------------------------------------------------------------------------------


def item_rng(seed: int, key: str) -> np.random.Generator:
    """Generator for one output, derived from the global seed and the output's key (so results do
    not depend on the order in which images are processed)."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), zlib.crc32(key.encode())]))


@dataclass
class Degradation:
    """A degraded image and the record that reproduces it."""

    image: np.ndarray
    record: dict[str, Any] = field(default_factory=dict)


def degrade(image: np.ndarray, pipeline: str = "mixed", seed: int = 0, key: str = "", keep_size: bool = True,
            first: FirstOrderConfig = FirstOrderConfig(), second: SecondOrderConfig = SecondOrderConfig()) -> Degradation:
    """Degrade one image with the ``first``, ``second`` or ``mixed`` (half each) pipeline."""
    if pipeline not in PIPELINES:
        raise ValueError(f"unknown pipeline {pipeline!r}; choose one of {', '.join(PIPELINES)}")
    rng = item_rng(seed, key)
    chosen = pipeline if pipeline != "mixed" else ("first" if rng.random() < 0.5 else "second")
    h, w = image.shape[:2]
    ops = sample_first_order(rng, h, w, first) if chosen == "first" else sample_second_order(rng, h, w, second)
    out = apply_ops(image, ops, keep_size=keep_size)
    record = {
        "pipeline": chosen,
        "requested": pipeline,
        "seed": int(seed),
        "key": key,
        "keep_size": keep_size,
        "input_size": [h, w],
        "ops": ops,
        "config": asdict(first if chosen == "first" else second),
    }
    return Degradation(out, record)


def write_degradation(result: Degradation, path: str | os.PathLike) -> tuple[Path, Path]:
    """Write the image (format from the suffix) and its record as ``<path>.json`` beside it."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(p), cv2.cvtColor(result.image, cv2.COLOR_RGB2BGR)):
        raise OSError(f"{p}: cannot write image")
    js = p.with_suffix(p.suffix + ".json")
    js.write_text(json.dumps(result.record, indent=1))
    return p, js
