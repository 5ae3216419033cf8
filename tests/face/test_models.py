"""The shipped-model table: every default model file is found inside its installed package,
without importing packages that pull TensorFlow, and a missing one gives a clear error."""

from __future__ import annotations

import subprocess
import sys

import pytest

from facebench.face import models


def test_every_shipped_model_is_installed_with_a_licence():
    frame = models.models_frame()
    assert frame["installed"].all(), frame.loc[~frame["installed"], "name"].tolist()
    assert (frame["licence"].str.len() > 0).all() and (frame["licence_source"].str.len() > 0).all()
    for name in models.SHIPPED_MODELS:
        path = models.model_path(name)
        assert path.stat().st_size > 10_000, path  # a real model, not a pointer file
    assert models.model_path("fer_mini_xception").name == "emotion_model.hdf5"


def test_missing_package_gives_install_hint(monkeypatch):
    fake = models.ShippedModel("nope", "no-such-dist", "facebench_no_such_pkg", "m.bin", "x", "x", "MIT", "x")
    monkeypatch.setitem(models.SHIPPED_MODELS, "nope", fake)
    msg = r"model nope not found: install package no-such-dist \(make venv\)"
    with pytest.raises(models.ModelNotFoundError, match=msg):
        models.model_path("nope")
    present = models.ShippedModel("gone", "fer", "fer", "data/no_such_model.hdf5", "x", "x", "MIT", "x")
    monkeypatch.setitem(models.SHIPPED_MODELS, "gone", present)
    with pytest.raises(models.ModelNotFoundError, match=r"install package fer \(make venv\); looked for .*no_such"):
        models.model_path("gone")
    with pytest.raises(KeyError, match="unknown shipped model 'nopee'"):
        models.model_path("nopee")


def test_finding_models_imports_no_model_package():
    code = (
        "import sys; from facebench.face.models import SHIPPED_MODELS, model_path\n"
        "[model_path(n) for n in SHIPPED_MODELS]\n"
        "bad = [m for m in ('tensorflow', 'fer', 'facex', 'mediapipe', 'feat') if m in sys.modules]\n"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
