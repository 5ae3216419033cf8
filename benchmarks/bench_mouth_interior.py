"""How dark is an open mouth? The luminance inside the inner-lip polygon, as a multiple of the
lips' own luminance (``edit.colours.face_colours``), on PixelSmile's full-strength gallery frames
(``slider/<e>/27.avif`` of the open-mouthed expressions) and on the offline editor's edits of the
bundled portraits at alpha 1 and 2. Printed: the 10th/50th/90th percentile and the share of
pixels darker than 0.35 x the lips (a near-black hole scores high). Figures go in
``src/facebench/edit/offline.md``.

    python benchmarks/bench_mouth_interior.py
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from facebench.base.imageio import load_image
from facebench.edit import ExpressionControl, get_editor
from facebench.edit import landmarks as lm
from facebench.edit.colours import face_colours
from facebench.face import analyze
from facebench.samples import portrait_paths

GALLERY = Path(__file__).resolve().parents[2] / "shared" / "data" / "pixelsmile-gallery" / "slider"
OPEN_MOUTHED = ("angry", "fear", "surprised", "sleepy")
PHOTOS = ("astronaut", "feat_anger", "feat_disgust", "feat_surprise")
DARK = 0.35


def _lum(px: np.ndarray) -> np.ndarray:
    return np.asarray(px, float) @ np.array([0.299, 0.587, 0.114])


def interior(img: np.ndarray, mesh: np.ndarray, lips: np.ndarray) -> tuple[np.ndarray, float] | None:
    """(10th, 50th, 90th percentile, share below DARK) of the inner-lip polygon's luminance over
    the lips' luminance; None for a mouth too small to read."""
    m = np.zeros(img.shape[:2], np.uint8)
    cv2.fillPoly(m, [np.round(mesh[list(lm.LIPS_INNER), :2]).astype(np.int32)], 1)
    px = img[m > 0]
    if len(px) < 50:
        return None
    rel = _lum(px) / max(float(_lum(lips[None])[0]), 1.0)
    return np.quantile(rel, [0.1, 0.5, 0.9]), float(np.mean(rel < DARK))


def main() -> int:
    rows: list[tuple[str, tuple[np.ndarray, float]]] = []
    for e in OPEN_MOUTHED:
        path = GALLERY / e / "27.avif"
        if not path.exists():
            print(f"{path}: not found (PixelSmile's gallery is not next to the checkout); skipped")
            continue
        img = load_image(path)
        faces = analyze(img, parts=("detection", "mesh"))
        if faces:
            mesh = np.asarray(faces[0].mesh, float)
            got = interior(img, mesh, face_colours(img, mesh)["lips"])
            if got is not None:
                rows.append((f"PixelSmile {e} 27", got))
    editor = get_editor("offline")
    for name in PHOTOS:
        prep = editor.prepare(load_image(portrait_paths()[name]))
        for e in OPEN_MOUTHED:
            for a in (1.0, 2.0):
                res = editor.render(prep, ExpressionControl.single(e, a))
                got = interior(res.image, res.info["mesh_moved"], prep.colours["lips"])
                if got is not None:
                    rows.append((f"offline {name} {e} {a:g}", got))
    print("| mouth | lum / lips q10 | q50 | q90 | share < 0.35 |\n|---|---|---|---|---|")
    for label, (q, dark) in rows:
        print(f"| {label} | {q[0]:.2f} | {q[1]:.2f} | {q[2]:.2f} | {dark:.2f} |")
    for who in ("PixelSmile", "offline"):
        sel = [r for label, r in rows if label.startswith(who)]
        if sel:
            print(f"{who}: mean median {np.mean([q[1] for q, _ in sel]):.2f}, "
                  f"mean share < {DARK} {np.mean([d for _, d in sel]):.2f} ({len(sel)} mouths)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
