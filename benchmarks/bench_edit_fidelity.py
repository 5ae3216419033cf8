"""Do facebench's own instruments still see the same person, and the target expression, in the
offline editor's edits? One row per expression, over the bundled single-face portraits
(``facebench.samples.portrait_paths``), printed as a Markdown table:

- **identity**: the calibrated identity score (dlib cosine of source and edit on the source's face
  box, mapped by the shipped calibration, :mod:`facebench.face.calibration`) at alphas 0.5, 1 and
  1.5: the mean and the lowest over the photos, and how many photos stay the same person (score
  >= 0.5, i.e. not in the paper's "identity lost" band);
- **judge v2 top**: on how many photos judge v2's most probable class (``info["top"]``) is the target
  expression, at 0 (the source: a photo that already shows it) and at 0.5 / 1 / 1.5; for a judged
  expression that is not one of its head's classes (sleepy, graded by a prototype) the column says
  so, since the top can never be it;
- **Acc-6**: FFE-Bench's accuracy on the same edits (``facebench.metrics.ffe``; the rule the
  benchmark's scoring uses): the predicted class is the argmax of judge v2's graded scores over the
  six basic expressions, a tie split evenly; the column sums each photo's share of the target at
  0.5 / 1 / 1.5. Unlike the top column it reads the change from the source (the scores are graded
  relative to it), though a source's own expression still counts where it exceeds the typical
  neutral face's;
- **judge v2 intensity**: the mean of judge v2's graded target intensity ``I_c(edit | source)``
  over the photos at 0.5 / 1 / 1.5;
- **CLS**: the control linearity score (Pearson r of alpha against that intensity within each
  photo's sweep over ``--alphas``, averaged over the photos; :func:`facebench.metrics.ffe.cls`).

Judge v2 grades the six basic expressions; the extended six are "not judged" by it (its
``judged`` tuple), so their judge columns say so instead of showing a number.

A second table (``--gallery``, on by default when the folder exists) puts the editor beside
PixelSmile under the same judge: for each expression judge v2 grades with a head class, the source
of PixelSmile's gallery slider (``slider/<e>/00``) edited by the offline editor at alpha 1 and 1.5,
and PixelSmile's own full-strength frame (``27``, resized to the source's size): judge v2's top
class, its Acc-6 class (argmax of the six graded scores) and its target intensity relative to that
source. It is the reference for the top column
above: what the judge makes of the method the editor imitates, on the same faces.

    python benchmarks/bench_edit_fidelity.py [--alphas 0:1.5:7] [--photos astronaut,feat_single] [--gallery DIR]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from facebench.base.cli import parse_alphas
from facebench.expressions import BASIC6, EXPRESSIONS
from facebench.metrics.ffe import prediction_weights

#: The alphas the table reports (the sweep must contain them).
SHOWN = (0.5, 1.0, 1.5)
#: A calibrated identity score below this is the paper's "identity lost" band.
SAME_PERSON = 0.5


def acc6_weights(scores: dict[str, float]) -> dict[str, float]:
    """Each basic expression's share of FFE-Bench's predicted class: argmax of ``scores`` over the
    six basic expressions, a tie split evenly (:func:`facebench.metrics.ffe.prediction_weights`)."""
    w = prediction_weights(np.array([[scores[e] for e in BASIC6]]), BASIC6)[0]
    return dict(zip(BASIC6, (float(v) for v in w)))


def acc6_class(scores: dict[str, float]) -> str:
    """FFE-Bench's predicted class (``/``-joined when tied) over the six basic expressions."""
    return "/".join(e for e, v in acc6_weights(scores).items() if v > 0)


#: PixelSmile's gallery (the shared data folder next to the repository).
DEFAULT_GALLERY = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "pixelsmile-gallery"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--alphas", default="0:1.5:7", help="the sweep (must include 0.5, 1 and 1.5)")
    ap.add_argument("--photos", default="", help="comma list of sample names (default: every portrait)")
    ap.add_argument("--expressions", default=",".join(EXPRESSIONS), help="comma list")
    ap.add_argument("--gallery", type=Path, default=DEFAULT_GALLERY,
                    help="PixelSmile gallery folder for the side-by-side table ('' to skip it)")
    args = ap.parse_args()

    from facebench.base.imageio import load_image
    from facebench.edit import ExpressionControl, get_editor
    from facebench.face import analyze
    from facebench.face.calibration import load_calibration
    from facebench.face.identity import embed, similarity
    from facebench.judges.v2 import OfflineJudgeV2
    from facebench.metrics.ffe import cls
    from facebench.samples import portrait_paths

    alphas = [float(a) for a in parse_alphas(args.alphas)]
    missing = [a for a in SHOWN if not any(abs(a - b) < 1e-9 for b in alphas)]
    if missing:
        print(f"--alphas {args.alphas}: must include {', '.join(f'{a:g}' for a in missing)}", file=sys.stderr)
        return 2
    paths = portrait_paths()
    names = [n for n in args.photos.split(",") if n] or list(paths)
    unknown = [n for n in names if n not in paths]
    bad_e = [e for e in args.expressions.split(",") if e not in EXPRESSIONS]
    if unknown or bad_e:
        print(f"unknown photo(s) {unknown} or expression(s) {bad_e}; photos: {', '.join(paths)}", file=sys.stderr)
        return 2
    expressions = args.expressions.split(",")

    t0 = time.perf_counter()
    editor, judge, cal = get_editor("offline"), OfflineJudgeV2(), load_calibration("dlib")
    # (expression, photo, alpha) -> (identity score, judge top or None, target intensity or None,
    # the target's Acc-6 share or None)
    got: dict[tuple[str, str, float], tuple[float, str | None, float | None, float | None]] = {}
    for name in names:
        img = load_image(paths[name])
        faces = analyze(img, parts=("detection", "mesh", "mask"))
        if not faces:
            print(f"{paths[name]}: no face found; left out of every row", file=sys.stderr)
            continue
        face = faces[0]
        box = np.asarray(face.detection.box, np.float64)
        e_src = embed(img, box[None])[0]
        prep = editor.prepare(img, face)
        for e in expressions:
            judged = e in judge.judged
            for a in alphas:
                out = editor.render(prep, ExpressionControl.single(e, a)).image
                ident = float(cal.score(similarity(e_src, embed(out, box[None])[0])))
                top = inten = share = None
                if judged:
                    j = judge.judge(out, box=box.tolist(), source=img)
                    top, inten = str(j.info["top"]), float(j.scores[e])
                    share = acc6_weights(j.scores)[e] if e in BASIC6 else None
                got[e, name, a] = (ident, top, inten, share)
    photos = sorted({n for _, n, _ in got})
    print(f"offline editor on {len(photos)} bundled portraits ({', '.join(photos)}); identity: calibrated dlib "
          f"score ({cal.recogniser}, same person = score >= {SAME_PERSON:g}); judge v2 ({judge.judge_id()}) "
          f"graded relative to the source; CLS over alphas {', '.join(f'{a:g}' for a in alphas)} "
          f"({time.perf_counter() - t0:.0f} s)\n")
    shown = " / ".join(f"{a:g}" for a in SHOWN)
    print(f"| expression | identity mean (lowest), a = {shown} | same person (of {len(photos)}) | judge v2 top = "
          f"target on the source (of {len(photos)}) | ... on the edit, a = {shown} | Acc-6 hits (of {len(photos)}), "
          f"a = {shown} | judge v2 target intensity, mean | CLS (judge v2) |")
    print("|---|---|---|---|---|---|---|---|")
    for e in expressions:
        ids = [[got[e, n, a][0] for n in photos] for a in SHOWN]
        low = " / ".join(f"{np.mean(v):.2f} ({min(v):.2f})" for v in ids)
        same = " / ".join(f"{sum(s >= SAME_PERSON for s in v)}" for v in ids)
        if e in judge.judged:
            if e in judge.head.classes:
                at0 = sum(got[e, n, a][1] == e for n in photos for a in alphas if a == 0)
                tops = (f"{at0} | " if 0.0 in alphas else "- | ") + " / ".join(
                    f"{sum(got[e, n, a][1] == e for n in photos)}" for a in SHOWN) + " | " + " / ".join(
                    f"{sum(got[e, n, a][3] for n in photos):g}" for a in SHOWN)
            else:  # graded by a prototype, not a class of the head: its top can never be e
                tops = "not a class of the head | not a class of the head | not one of the six basic"
            inten = " / ".join(f"{np.mean([got[e, n, a][2] for n in photos]):.2f}" for a in SHOWN)
            xs = [a for n in photos for a in alphas]
            ys = [got[e, n, a][2] for n in photos for a in alphas]
            c = cls(xs, ys, [n for n in photos for _ in alphas])
            linear = f"{c.pearson:.2f}" + (f" ({c.n_constant} constant)" if c.n_constant else "")
        else:
            tops = "not judged | not judged | not judged"
            inten = linear = "not judged"
        print(f"| {e} | {low} | {same} | {tops} | {inten} | {linear} |")
    if str(args.gallery) and (args.gallery / "slider").is_dir():
        _gallery_table(args.gallery / "slider", [e for e in expressions if e in judge.head.classes], editor, judge)
    elif str(args.gallery):
        print(f"\n{args.gallery}: no slider folder; the table beside PixelSmile is left out", file=sys.stderr)
    return 0


def _gallery_table(slider: Path, expressions: list[str], editor, judge) -> None:
    """Judge v2 on the offline editor's edits of PixelSmile's gallery sources and on PixelSmile's
    own full-strength frames, each relative to the same source (module docstring)."""
    from facebench.base.imageio import load_image
    from facebench.base.pixels import resize_to
    from facebench.edit import ExpressionControl
    from facebench.edit.motion import REFERENCE_FRAME
    from facebench.face import analyze

    def graded(img: np.ndarray, box: list[float], src: np.ndarray, e: str) -> tuple[str, str, float]:
        j = judge.judge(img, box=box, source=src)
        return str(j.info["top"]), acc6_class(j.scores), float(j.scores[e])

    print("\nBeside PixelSmile, on its gallery sources (judge v2's top class / its Acc-6 class, '(=)' when it is "
          "the target, and its target intensity relative to the source):\n")
    print(f"| expression | offline editor, alpha 1 | offline editor, alpha 1.5 | PixelSmile frame {REFERENCE_FRAME} |")
    print("|---|---|---|---|")
    hits = [0, 0, 0]  # top = target at alpha 1, alpha 1.5, PixelSmile's frame
    acc = [0.0, 0.0, 0.0]  # the target's Acc-6 share, the same three
    for e in expressions:
        first, last = slider / e / "00.avif", slider / e / f"{REFERENCE_FRAME}.avif"
        if not first.is_file() or not last.is_file():
            print(f"| {e} | no gallery frames | | |")
            continue
        src = load_image(first)
        faces = analyze(src, parts=("detection", "mesh", "mask"))
        if not faces:
            print(f"| {e} | not judged: no face in {first} | | |")
            continue
        box = [float(v) for v in faces[0].detection.box]
        prep = editor.prepare(src, faces[0])
        cells = [graded(editor.render(prep, ExpressionControl.single(e, a)).image, box, src, e) for a in (1.0, 1.5)]
        cells.append(graded(resize_to(load_image(last), src.shape[:2]), box, src, e))
        for k, (top, pred, _) in enumerate(cells):
            hits[k] += top == e
            acc[k] += (e in pred.split("/")) / len(pred.split("/"))

        def mark(c: str) -> str:
            return c + (" (=)" if e in c.split("/") else "")

        print(f"| {e} | " + " | ".join(f"{mark(top)} / {mark(pred)}, {score:.2f}" for top, pred, score in cells) + " |")
    n = len(expressions)
    print(f"\ntop = target: offline editor {hits[0]}/{n} at alpha 1, {hits[1]}/{n} at 1.5; "
          f"PixelSmile {hits[2]}/{n} at frame {REFERENCE_FRAME}; Acc-6 hits: offline editor {acc[0]:g}/{n} and "
          f"{acc[1]:g}/{n}, PixelSmile {acc[2]:g}/{n}")


if __name__ == "__main__":
    raise SystemExit(main())
