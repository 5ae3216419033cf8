"""The data engine (``facebench data``): build expression-editing datasets and benchmark sets.

FFE's collect -> compose -> generate -> annotate pipeline (PixelSmile paper, sec. 3.1), followed by
consistency filtering and export, as one resumable build:

    >>> from facebench.data import build_dataset
    >>> res = build_dataset("faces.yaml")          # or: facebench data build faces.yaml
    >>> res.samples[res.samples.keep].head()

Modules: :mod:`.config` (YAML/JSON configuration), :mod:`.collect` with :mod:`.quality`,
:mod:`.phash` and :mod:`.anime` (sources), :mod:`.identity` (calibrated band, identity groups,
split), :mod:`.prompts` (versioned prompt library), :mod:`.generate` (editing and judging through
the benchmark runner and its cache), :mod:`.annotate` (sample and annotation tables),
:mod:`.filtering` (consistency rules), :mod:`.export` (JSONL, manifests, spot-check study),
:mod:`.card` (dataset card), :mod:`.build` (the pipeline), :mod:`.cli` (``facebench data``).
"""

from .build import BuildResult, DataBuildError, build_dataset
from .card import write_card
from .config import ConfigError, DataConfig, load_config, parse_config
from .prompts import PROMPT_LIBRARY_VERSION, compose_library

__all__ = [
    "BuildResult", "ConfigError", "DataBuildError", "DataConfig", "PROMPT_LIBRARY_VERSION", "build_dataset",
    "compose_library", "load_config", "parse_config", "write_card",
]
