"""Record face-api's own TFJS outputs for the bundled posed photos (the port's reference fixture).

    python scripts/face_api_reference.py PACKAGE_DIR [--out tests/face/data/face_api_reference.json]

Crops the largest face of the samples astronaut, feat_happy, feat_surprise, feat_anger and
feat_disgust (:func:`facebench.face.faceapi.face_crop`), runs face-api's FaceExpressionNet in node
(``scripts/face_api_reference.mjs``: the npm package's bundled TFJS, CPU backend) on those 112x112 RGB
crops and writes the crops (a lossless PNG strip next to the JSON), their hashes, the TFJS logits and embeddings as JSON; ``tests/face/test_faceapi``
compares facebench's PyTorch port against it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ("astronaut", "feat_happy", "feat_surprise", "feat_anger", "feat_disgust")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("package")
    ap.add_argument("--out", default=str(ROOT / "tests/face/data/face_api_reference.json"))
    args = ap.parse_args()
    from facebench.face.faceapi import get_net, sample_crops

    crops = sample_crops(SAMPLES)
    with tempfile.NamedTemporaryFile(suffix=".bin") as fh:
        fh.write(np.stack(crops).astype(np.uint8).tobytes())
        fh.flush()
        res = subprocess.run(["node", str(ROOT / "scripts/face_api_reference.mjs"), args.package, fh.name,
                              str(len(crops))], capture_output=True, text=True, check=True)
    ref = json.loads(res.stdout.strip().splitlines()[-1])
    logits, emb = get_net()(crops)
    ref["samples"] = list(SAMPLES)
    ref["crop_sha256"] = [hashlib.sha256(c.tobytes()).hexdigest() for c in crops]
    strip = Path(args.out).with_name("face_api_reference_crops.png")
    cv2.imwrite(str(strip), cv2.cvtColor(np.concatenate(crops, axis=1), cv2.COLOR_RGB2BGR))
    for i, s in enumerate(SAMPLES):
        dl = float(np.abs(logits[i] - ref["logits"][i]).max())
        de = float(np.abs(emb[i] - ref["embedding"][i]).max())
        print(f"{s}: tfjs logits {np.round(ref['logits'][i], 3).tolist()} torch max |diff| logits {dl:.2e} "
              f"embedding {de:.2e}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(ref))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
