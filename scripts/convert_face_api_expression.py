"""Convert face-api's FaceExpressionNet (TFJS weights) into the .npz facebench ships.

    npm pack @vladmandic/face-api@1.7.15 && tar xzf vladmandic-face-api-1.7.15.tgz
    python scripts/convert_face_api_expression.py package/ [--out src/facebench/face/data/face_api_expression.npz]

Reads ``model/face_expression_model-weights_manifest.json`` and its binary shard(s) from the npm
package folder, dequantises the uint8 tensors (TFJS weight quantisation: ``value = q * scale + min``)
and writes every tensor under its TFJS name (float32, TFJS layouts: conv filters HWIO, depthwise
filters HWC1, fc weights (in, out)) plus ``meta_*`` strings (source package, version, licence).
Run once by a developer; nothing is downloaded at run time.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
_DTYPES = {"float32": np.float32, "int32": np.int32, "uint8": np.uint8, "uint16": np.uint16}


def convert(package: Path) -> dict[str, np.ndarray]:
    """Tensors of the FaceExpressionNet in the unpacked npm ``package`` folder, dequantised."""
    model = package / "model"
    manifest = json.loads((model / "face_expression_model-weights_manifest.json").read_text())
    out: dict[str, np.ndarray] = {}
    for group in manifest:
        buf = b"".join((model / p).read_bytes() for p in group["paths"])
        pos = 0
        for w in group["weights"]:
            shape, q = w["shape"], w.get("quantization")
            n = int(np.prod(shape)) if shape else 1
            dt = np.dtype(_DTYPES[q["dtype"] if q else w["dtype"]])
            raw = np.frombuffer(buf, dt, count=n, offset=pos)
            pos += n * dt.itemsize
            val = raw.astype(np.float64) * q["scale"] + q["min"] if q else raw
            out[w["name"]] = np.asarray(val, np.float32).reshape(shape)
        if pos != len(buf):
            raise ValueError(f"{group['paths']}: read {pos} of {len(buf)} bytes")
    pkg = json.loads((package / "package.json").read_text())
    out["meta_source"] = np.array(f"npm {pkg['name']} {pkg['version']} model/face_expression_model.bin")
    out["meta_licence"] = np.array(f"{pkg.get('license', '?')} (package LICENSE: Copyright (c) Vladimir Mandic; weights from face-api.js-models by justadudewhohacks, credited in the README)")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("package", help="unpacked npm package folder (holds model/ and package.json)")
    ap.add_argument("--out", default=str(ROOT / "src/facebench/face/data/face_api_expression.npz"))
    args = ap.parse_args()
    try:
        tensors = convert(Path(args.package))
    except (OSError, KeyError, ValueError) as exc:
        print(f"{args.package}: not a face-api package folder ({exc})", file=sys.stderr)
        return 2
    np.savez_compressed(args.out, **tensors)
    print(f"wrote {args.out}: {sum(v.size for k, v in tensors.items() if not k.startswith('meta'))} weights")
    return 0


if __name__ == "__main__":
    sys.exit(main())
