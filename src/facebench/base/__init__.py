"""facebench's base layer: plumbing every other package may use and that imports none of them.

Layer order (imports point down only; enforced by the import-linter contract in pyproject.toml):
base -> face/metrics -> edit/judges -> pixelsmile/quality/study -> bench -> data/demo.
"""
