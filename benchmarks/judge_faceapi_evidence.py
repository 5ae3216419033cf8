"""Does face-api's FaceExpressionNet add evidence to judge v2? Alone and as an extra feature block.

    nice python benchmarks/judge_faceapi_evidence.py [--data ../shared/data] [--cache /tmp/wt13-cache]
        [--seeds 0 1 2 3 4]

On faces-in-the-wild (neutral + 6 basic, the judge's feature table and person folds,
:func:`facebench.judges.head.group_folds` seeds) it computes face-api's logits and 256-D embedding
(:mod:`facebench.face.faceapi`) on each photo's cached face box, for the plain crop and as the mean
of the crop and its mirror image (cached under ``CACHE/faceapi-1.7.15``), and prints one Markdown
row per variant as ``benchmarks/judge_head_candidates.py`` does: mean balanced accuracy over the
shuffles (unmeasured photos counted as wrong), its range and the mean recall per class. The
variants are fitted inside the training folds only (:func:`judge_head_candidates.linear`); "its own
argmax" rows fit nothing. Then the CPU time of one face-api forward pass per face (median of 50).
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
#: face-api's classes (:data:`facebench.face.faceapi.LABELS`) in BASIC7 order.
_ORDER = [0, 1, 2, 3, 4, 6, 5]


def faceapi_views(path: str, box: np.ndarray, cache: Path) -> dict[str, np.ndarray]:
    """face-api's logits (BASIC7 order) and embedding of the plain crop and of the crop + mirror mean."""
    from facebench.base.imageio import load_image
    from facebench.face.faceapi import face_crop, get_net

    key = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:32]
    f = cache / "faceapi-1.7.15" / key[:2] / f"{key}.npz"
    if f.exists():
        with np.load(f) as z:
            return {k: z[k] for k in z.files}
    crop = face_crop(load_image(path), box)
    logits, emb = get_net()([crop, np.ascontiguousarray(crop[:, ::-1])])
    out = {"logits": logits[0, _ORDER], "embed": emb[0],
           "logits_mirror": logits[:, _ORDER].mean(0), "embed_mirror": emb.mean(0)}
    f.parent.mkdir(parents=True, exist_ok=True)
    np.savez(f, **out)
    return out


def fused(a, b, w: float):  # noqa: ANN001, ANN201
    """Late fusion of two fold-fitted heads: ``p ~ p_a * p_b^w`` (renormalised)."""
    def fp(Xtr: np.ndarray, ytr: np.ndarray, Xte: np.ndarray, gtr: list) -> np.ndarray:
        lp = np.log(a(Xtr, ytr, Xte, gtr) + 1e-12) + w * np.log(b(Xtr, ytr, Xte, gtr) + 1e-12)
        p = np.exp(lp - lp.max(1, keepdims=True))
        return p / p.sum(1, keepdims=True)
    return fp


def main() -> int:
    from judge_head_candidates import Basic7, arguments, linear

    args = arguments(__doc__).parse_args()

    from facebench.face.faceapi import face_crop, get_net, sample_crops
    from facebench.judges.features import BLOCKS
    from facebench.judges.head import softmax
    from facebench.judges.train import BLOCK_SETS

    data = Basic7.load(args.data, args.cache)
    t = data.table
    views = [faceapi_views(p, b, Path(args.cache)) for p, b, k in zip(t.paths, t.extra["box"], data.keep) if k]
    base = data.X
    n0 = base.shape[1]

    def with_faceapi(suffix: str) -> np.ndarray:
        """The judge's table with face-api's logits and embedding appended (columns n0.. n0+263)."""
        return np.concatenate([base, np.stack([v["logits" + suffix] for v in views]),
                               np.stack([v["embed" + suffix] for v in views])], 1)

    # linear() selects block columns by name: register the two appended blocks after BLOCKS' own
    BLOCKS["faceapi_logits"], BLOCKS["faceapi_embed"] = 7, 256
    try:
        def own_argmax(Xtr: np.ndarray, ytr: np.ndarray, Xte: np.ndarray, gtr: list) -> np.ndarray:
            return softmax(Xte[:, n0:n0 + 7])

        new = BLOCK_SETS["weighted"]
        no_facex = {k: v for k, v in new.items() if k != "facex_logits"}
        variants = {
            "weighted, C=0.03 (shipped)": ("", linear(new, 0.03)),
            "face-api alone, its own argmax (no training)": ("", own_argmax),
            "face-api alone, crop + mirror, its own argmax": ("_mirror", own_argmax),
            "fer logits only (6 views), C=0.03": ("", linear({"fer_logits": 1.0}, 0.03)),
            "facex logits only, C=0.03": ("", linear({"facex_logits": 1.0}, 0.03)),
            "face-api logits only, C=0.03": ("", linear({"faceapi_logits": 1.0}, 0.03)),
            "face-api logits only, crop + mirror, C=0.03": ("_mirror", linear({"faceapi_logits": 1.0}, 0.03)),
            "face-api logits + embedding 0.2, C=0.03": ("", linear({"faceapi_logits": 1.0, "faceapi_embed": 0.2}, 0.03)),
            "weighted + face-api logits 0.3, C=0.03": ("", linear({**new, "faceapi_logits": 0.3}, 0.03)),
            "weighted + face-api logits 0.5, C=0.03": ("", linear({**new, "faceapi_logits": 0.5}, 0.03)),
            "weighted + face-api logits 1, C=0.03": ("", linear({**new, "faceapi_logits": 1.0}, 0.03)),
            "weighted + face-api logits 1, C=0.01": ("", linear({**new, "faceapi_logits": 1.0}, 0.01)),
            "weighted + face-api logits 2, C=0.03": ("", linear({**new, "faceapi_logits": 2.0}, 0.03)),
            "weighted + face-api logits 1 + embedding 0.1, C=0.03": (
                "", linear({**new, "faceapi_logits": 1.0, "faceapi_embed": 0.1}, 0.03)),
            "weighted + face-api logits 1 + embedding 0.2, C=0.03": (
                "", linear({**new, "faceapi_logits": 1.0, "faceapi_embed": 0.2}, 0.03)),
            "weighted + face-api logits 0.5, crop + mirror, C=0.03": (
                "_mirror", linear({**new, "faceapi_logits": 0.5}, 0.03)),
            "weighted + face-api logits 1, crop + mirror, C=0.03": (
                "_mirror", linear({**new, "faceapi_logits": 1.0}, 0.03)),
            "late fusion: weighted head x face-api head^0.25 (crop + mirror)": (
                "_mirror", fused(linear(new, 0.03), linear({"faceapi_logits": 1.0}, 0.03), 0.25)),
            "late fusion: weighted head x face-api head^0.5 (crop + mirror)": (
                "_mirror", fused(linear(new, 0.03), linear({"faceapi_logits": 1.0}, 0.03), 0.5)),
            "weighted, facex logits replaced by face-api logits 2, C=0.03": (
                "", linear({**no_facex, "faceapi_logits": 2.0}, 0.03)),
        }
        print(data.header("variant"))
        for name, (suffix, fp) in variants.items():
            print(data.row(name, fp, with_faceapi(suffix), args.seeds), flush=True)
    finally:
        del BLOCKS["faceapi_logits"], BLOCKS["faceapi_embed"]

    crop = sample_crops(["feat_happy"])[0]
    net = get_net()
    for label, batch in (("plain crop", [crop]), ("crop + mirror", [crop, crop[:, ::-1].copy()])):
        t = []
        for _ in range(50):
            t0 = time.process_time()
            net(batch)
            t.append(time.process_time() - t0)
        print(f"face-api forward pass, {label}: median CPU {1000 * np.median(t):.1f} ms per face")
    t = []
    for _ in range(20):
        t0 = time.process_time()
        face_crop(np.zeros((480, 640, 3), np.uint8), [200, 100, 400, 350])
        t.append(time.process_time() - t0)
    print(f"crop + resize: median CPU {1000 * np.median(t):.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
