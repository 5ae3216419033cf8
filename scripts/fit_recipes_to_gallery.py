"""Suggest offline-editor recipes that move faces the way PixelSmile's gallery does.

For each expression, the displacement PixelSmile applies to ``slider/<e>/00.avif`` (its frame 27,
similarity-aligned onto the source mesh, minus the source mesh) is approximated by the editor's
own action-unit fields on that face, with non-negative intensities kept near the current recipe:

    w* = argmin_{w >= 0} || B w - d ||^2 + lam * n * || w - w0 ||^2

(``B``: one column per action unit, its image-plane field on the 468 mesh points at intensity
1; ``d``: the target displacement; ``w0``: the current recipe at alpha 1; ``n``: the number of
rows, so ``lam`` is per point.) The linear model misses what the renderer does to it (lids and
lips stop where they meet, folds are prevented, the face analysis reads the rendered mouth), so
``--refine`` passes then scale each intensity by 1.25 or 0.8 when that lowers the measured
aligned distance (:func:`facebench.edit.motion.aligned_distance` of the re-analysed edit to frame
27). Prints the fitted rows in the table's units (divided by ``APEX_AT_ALPHA_1``). A person copies them into :mod:`facebench.edit.expression_table`; this is
fitted on one face per expression, so keep ``lam`` large enough that the FACS prototype stays.

    python scripts/fit_recipes_to_gallery.py [--lam 2e-5] [--expressions happy,angry]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy.optimize import lsq_linear

from facebench.edit import get_editor
from facebench.edit.expression_table import APEX_AT_ALPHA_1, recipe
from facebench.edit.motion import REFERENCE_FRAME, aligned_distance, mesh_of
from facebench.expressions import EXPRESSIONS
from facebench.face.geometry import umeyama
from facebench.base.imageio import load_image

GALLERY = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "pixelsmile-gallery" / "slider"
#: The action units the fit may use per expression: the FACS prototypes the table cites, their
#: open-mouth variants (EMFACS lists 25/26 for anger, fear, surprise, disgust; 10 and 16 bare
#: the teeth), lid and brow units seen in the expression, and the relax units; one-sided units
#: for the asymmetric ones. Nothing outside these is fitted, so a row stays that expression.
ALLOWED: dict[str, tuple[str, ...]] = {
    "happy": ("AU6", "AU7", "AU12", "AU25", "AU26", "AU16", "AU10"),
    "sad": ("R12", "R5", "AU1", "AU4", "AU6", "AU7", "AU15", "AU17", "AU24", "AU43"),
    "angry": ("R12", "R6", "AU4", "AU5", "AU7", "AU9", "AU10", "AU16", "AU17", "AU20", "AU23", "AU24",
              "AU25", "AU26"),
    "fear": ("R12", "AU1", "AU2", "AU4", "AU5", "AU7", "AU10", "AU16", "AU20", "AU25", "AU26"),
    "surprised": ("R12", "R6", "AU1", "AU2", "AU5", "AU16", "AU25", "AU26"),
    "disgust": ("R12", "R6", "AU4", "AU6", "AU7", "AU9", "AU10", "AU15", "AU16", "AU17", "AU20", "AU25",
                "AU26"),
    "confused": ("R12", "AU1", "AU2", "AU4", "AU5", "AU7", "AU14", "AU16", "AU17", "AU23", "AU24", "AU25",
                 "AU26", "AU1R", "AU1L", "AU2R", "AU2L", "AU4R", "AU4L", "AU7R", "AU7L", "AU14R", "AU14L"),
    "contempt": ("R12", "R12L", "AU12R", "AU14R", "AU7", "AU7R", "AU15", "AU17", "AU23", "AU24"),
    "confident": ("R12", "AU1", "AU2", "AU6", "AU7", "AU12", "AU17", "AU24", "AU25"),
    "shy": ("R12", "AU1", "AU6", "AU12", "AU14", "AU15", "AU17", "AU23", "AU24", "AU43"),
    "sleepy": ("R12", "R5", "AU1", "AU4", "AU6", "AU15", "AU24", "AU25", "AU26", "AU43"),
    "anxious": ("R12", "R5", "AU1", "AU2", "AU4", "AU5", "AU7", "AU16", "AU20", "AU24", "AU25", "AU26"),
}


#: The largest intensity (table units, 1 = apex) the fit may give a unit: 1.5 x apex for FACS
#: units, 2 for the relax units (they saturate at neutral). AU25 only parts the lips (no jaw
#: motion), so it is kept near its apex: larger openings must come from the jaw (AU26), or the
#: lower lip's red folds under itself. AU5 and AU20 are held lower after the contact sheets
#: (eyes staring out of a white ring; a stretched grin on faces that already smile).
MAX_INTENSITY = {"default": 1.5, "R12": 2.0, "R5": 2.0, "R6": 2.0, "AU25": 1.2, "AU5": 1.2, "AU20": 1.0}


def _cap(au: str) -> float:
    """The largest intensity at alpha 1 (the table's units times ``APEX_AT_ALPHA_1``)."""
    name = au[:-1] if au[-1] in "RL" else au
    return MAX_INTENSITY.get(name, MAX_INTENSITY["default"]) * APEX_AT_ALPHA_1


def candidates(expression: str) -> list[str]:
    """The action units the fit may use (:data:`ALLOWED`) plus whatever the current recipe has."""
    out = list(ALLOWED[expression])
    out += [a for a in recipe(expression).aus if a not in out]
    return out


def fit(editor, expression: str, lam: float) -> tuple[dict[str, float], float, float]:
    """Fitted intensities at alpha 1, and the RMS residual (inter-ocular units) before and after."""
    src_img = load_image(GALLERY / expression / "00.avif")
    prep = editor.prepare(src_img)
    src = np.asarray(prep.face.mesh, np.float64)[:, :2]
    ref = mesh_of(GALLERY / expression / f"{REFERENCE_FRAME}.avif")[:, :2]
    s, r, t = umeyama(ref, src)
    d = ((ref @ (s * r).T + t) - src)[:468].ravel() / prep.iod_px
    aus = candidates(expression)
    cols = []
    for au in aus:
        p = prep.au_parts(au)
        f = p.free + sum(frac * unit for _, frac, unit in p.closing)
        cols.append((prep.scale * (f @ prep.rot.T))[:468, :2].ravel() / prep.iod_px)
    b = np.stack(cols, 1)
    w0 = np.array([recipe(expression).aus.get(a, 0.0) for a in aus])
    k = np.sqrt(lam * len(d))
    top = np.array([_cap(a) for a in aus])
    w = lsq_linear(np.vstack([b, k * np.eye(len(aus))]), np.concatenate([d, k * np.minimum(w0, top)]),
                   bounds=(0.0, top)).x
    rms = lambda v: float(np.sqrt(np.mean(v ** 2)))
    return {a: float(x) for a, x in zip(aus, w) if x > 1e-3}, rms(d - b @ w0), rms(d - b @ w)


def _measured(editor, prep, expression: str, aus: dict[str, float], ref: np.ndarray) -> float:
    """Aligned distance of the re-analysed edit (alpha 1, recipe ``aus``) to the reference mesh."""
    from types import MappingProxyType

    from facebench.edit import ExpressionControl
    from facebench.edit import expression_table as table

    old = table.EXPRESSION_TABLE
    row = old[expression]
    table.EXPRESSION_TABLE = MappingProxyType({**old, expression: table.Recipe(
        MappingProxyType(aus), row.blush, row.under_eye, row.note)})
    try:
        out = editor.render(prep, ExpressionControl.single(expression, 1.0)).image
    finally:
        table.EXPRESSION_TABLE = old
    return aligned_distance(mesh_of(out), ref)


def refine(editor, expression: str, aus: dict[str, float], passes: int) -> tuple[dict[str, float], float]:
    """Coordinate search on the measured distance (module docstring); returns the intensities
    and the final distance."""
    prep = editor.prepare(load_image(GALLERY / expression / "00.avif"))
    ref = mesh_of(GALLERY / expression / f"{REFERENCE_FRAME}.avif")
    best = _measured(editor, prep, expression, aus, ref)
    for _ in range(passes):
        for au in sorted(aus):
            cap = _cap(au)
            for k in (1.25, 0.8):
                trial = {**aus, au: min(aus[au] * k, cap)}
                d = _measured(editor, prep, expression, trial, ref)
                if d < best - 1e-5:
                    aus, best = trial, d
                    break
    return aus, best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lam", type=float, default=2e-5)
    ap.add_argument("--expressions", default=",".join(EXPRESSIONS))
    ap.add_argument("--refine", type=int, default=0, help="passes of the measured coordinate search")
    ap.add_argument("--from-table", action="store_true",
                    help="refine the table's current rows instead of the linear fit")
    ap.add_argument("--min", type=float, default=0.04, help="drop intensities below this")
    args = ap.parse_args()
    editor = get_editor("offline")
    for e in args.expressions.split(","):
        if args.from_table:
            w = {a: min(x, _cap(a)) for a, x in recipe(e).aus.items()}
        else:
            w, before, after = fit(editor, e, args.lam)
            w = {a: x for a, x in w.items() if x >= args.min}
            print(f"{e:>10s}  linear fit: rms {before:.4f} -> {after:.4f}")
        if args.refine:
            w, measured = refine(editor, e, w, args.refine)
            print(f"{e:>10s}  measured distance after refining: {measured:.4f}")
        row = ", ".join(f'"{a}": {x / APEX_AT_ALPHA_1:.2f}' for a, x in sorted(w.items(), key=lambda kv: -kv[1]))
        print(f"{e:>10s}  {{{row}}}")


if __name__ == "__main__":
    main()
