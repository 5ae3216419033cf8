"""The Ray executor on a local Ray instance started by the run: same table as a serial run."""

from __future__ import annotations

import pandas as pd
import pytest

from facebench.bench import Component, Manifest, build_tasks, run_benchmark

ray = pytest.importorskip("ray", reason="ray is in the test extra (pip install ray)")


def test_local_ray_instance_gives_the_serial_table(faces_dir, fake_openai, command_template, tmp_path):
    fake_openai.reset("good")
    tasks = build_tasks([faces_dir / "astronaut.png", faces_dir / "feat_happy.png"], ["happy", "angry"])
    kw = dict(editors=[Component.make("editor", "command", {"template": command_template})],
              judges=[Component.make("judge", "vlm", {"base_url": fake_openai.base_url, "model": "fake-vl"})],
              recognisers=[], alphas=(0.0, 0.5, 1.0), progress=False)
    serial = run_benchmark(Manifest(tasks), store=tmp_path / "serial.sqlite", **kw)
    on_ray = run_benchmark(Manifest(tasks), store=tmp_path / "ray.sqlite", executor="ray", workers=2, **kw)
    assert not ray.is_initialized()  # the run stopped the instance it started
    assert on_ray.stats["edits"].computed == 12 and (on_ray.results["status"] == "ok").all()
    pd.testing.assert_frame_equal(on_ray.results, serial.results)
