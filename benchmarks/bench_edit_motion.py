"""Does the offline editor move faces the way PixelSmile does? For each of the 12 expressions of
PixelSmile's gallery, the aligned 478-point mesh distance (inter-ocular units, see
:mod:`facebench.edit.motion`) from the offline edit of ``slider/<e>/00.avif`` at alpha 1 to
PixelSmile's full-strength frame ``27.avif``, against the source's distance to it. Prints a table;
the goal is ratio < 1 for every expression and a mean ratio <= 0.6 (the recipes that also keep
the classifiers rising measure 0.591: see facebench.edit.expression_table). With ``--identity`` it also
prints, per expression, the identity similarity to the source (dlib, cosine) of the edit and of
PixelSmile's frame 27, and the offline classifier ensemble's top class (neutral + 6 basic) of both.

    python benchmarks/bench_edit_motion.py [--gallery ../shared/data/pixelsmile-gallery] [--alpha 1]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from facebench.edit import get_editor
from facebench.edit.motion import gallery_motion
from facebench.expressions import EXPRESSIONS

DEFAULT_GALLERY = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "pixelsmile-gallery"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gallery", type=Path, default=DEFAULT_GALLERY, help="PixelSmile gallery folder")
    ap.add_argument("--alpha", type=float, default=1.0)
    ap.add_argument("--expressions", default=",".join(EXPRESSIONS), help="comma-separated")
    ap.add_argument("--identity", action="store_true", help="also print identity and top-class columns")
    args = ap.parse_args()
    slider = args.gallery / "slider"
    if not slider.is_dir():
        print(f"{slider}: no such folder (the PixelSmile gallery's slider series)", file=sys.stderr)
        return 2
    rows = gallery_motion(get_editor("offline"), slider, args.expressions.split(","), alpha=args.alpha)
    print(f"offline editor at alpha {args.alpha:g} vs PixelSmile frame 27; aligned 478-point mesh "
          "distance in inter-ocular units")
    print(f"{'expression':>10s} {'source->27':>11s} {'edit->27':>9s} {'ratio':>6s}")
    for r in rows:
        print(f"{r.expression:>10s} {r.source_to_reference:11.4f} {r.edit_to_reference:9.4f} {r.ratio:6.2f}")
    ratios = np.array([r.ratio for r in rows])
    print(f"closer for {int((ratios < 1).sum())} of {len(rows)}; mean ratio {ratios.mean():.3f}")
    if args.identity:
        _identity_table(slider, args.expressions.split(","), args.alpha)
    return 0


def _identity_table(slider: Path, expressions: list[str], alpha: float) -> None:
    """Identity similarity to the source and the classifier ensemble's top class, edit vs frame 27."""
    from facebench.edit import ExpressionControl
    from facebench.face import analyze_face, top_expression
    from facebench.face.identity import embed, similarity
    from facebench.base.imageio import load_image

    editor = get_editor("offline")

    def look(img):
        f = analyze_face(img, parts=("detection", "expression"))
        top = top_expression(f)
        return embed(img, f.detection.box[None])[0], (f"{top[0]} {top[1]:.2f}" if top else "-")

    print(f"\nidentity similarity to the source (dlib cosine) and ensemble top class, alpha {alpha:g}")
    print(f"{'expression':>10s} {'ID edit':>8s} {'ID ps27':>8s} {'top class edit':>16s} {'top class ps27':>16s}")
    for e in expressions:
        src = load_image(slider / e / "00.avif")
        e0, _ = look(src)
        ee, te = look(editor.edit(src, ExpressionControl.single(e, alpha)).image)
        er, tr = look(load_image(slider / e / "27.avif"))
        print(f"{e:>10s} {similarity(e0, ee):8.3f} {similarity(e0, er):8.3f} {te:>16s} {tr:>16s}")


if __name__ == "__main__":
    raise SystemExit(main())
