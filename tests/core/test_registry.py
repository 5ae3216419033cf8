from __future__ import annotations

import pytest

from facebench.expressions import EXPRESSIONS, normalize_expression
from facebench.base.registry import Registry, UnknownNameError


def test_register_get_meta_and_suggestions():
    reg: Registry[type] = Registry("widget")

    @reg.register("offline", aliases=("cpu",), licence="MIT")
    class Offline:  # noqa: D401
        pass

    assert reg.get("offline") is Offline and reg.get("CPU") is Offline
    assert reg.meta("offline") == {"licence": "MIT"}
    assert "offline" in reg and len(reg) == 1 and reg.names() == ["offline"]
    with pytest.raises(UnknownNameError, match="did you mean offline"):
        reg.get("ofline")
    with pytest.raises(ValueError, match="already registered"):
        reg.add("offline", Offline)


def test_expressions():
    assert len(EXPRESSIONS) == 12
    assert normalize_expression("Surprise") == "surprised"
    with pytest.raises(ValueError, match="unknown expression 'grumpy'.*happy, sad"):
        normalize_expression("grumpy")
    assert normalize_expression("neutral", allow_neutral=True) == "neutral"


def test_providers_imported_on_first_lookup(tmp_path, monkeypatch):
    (tmp_path / "fb_provider_mod.py").write_text(
        "from test_registry_target import REG\nREG.add('plugged', object, licence='MIT')\n"
    )
    reg: Registry[object] = Registry(
        "plugin", providers=(("fb_provider_mod", True), ("fb_absent_optional_mod", False))
    )
    target = tmp_path / "test_registry_target.py"
    target.write_text("REG = None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import test_registry_target

    test_registry_target.REG = reg
    assert reg._loaded is False, "nothing imported before the first lookup"
    assert reg.names() == ["plugged"] and reg.meta("plugged") == {"licence": "MIT"}

    broken: Registry[object] = Registry("plugin", providers=(("fb_absent_required_mod", True),))
    with pytest.raises(ModuleNotFoundError):
        broken.names()
