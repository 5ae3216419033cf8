"""facebench: facial expression editing, FFE-Bench / FED-Bench benchmarking and F-Bench face quality.

Parts (one folder per concern, arrows pointing one way):

- ``facebench.base``     -- plumbing under everything (layer order: the import-linter contract in
  ``pyproject.toml``): ``imageio`` (the one image loader), ``registry`` (the one registry pattern
  for editors, judges and metrics), ``store``/``cache``, ``http``, ``configfile``, ``pixels``;
- ``facebench.face``     -- offline face analysis (detector, mesh, identity, expression, geometry);
- ``facebench.metrics``  -- pure numpy metrics (FFE-Bench, FED-Score, F-Bench statistics);
- ``facebench.cli``      -- the ``facebench`` command.
"""

__version__ = "0.1.0"
