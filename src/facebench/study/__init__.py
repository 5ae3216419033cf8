"""Subjective studies: a rating web app with a real database, following F-Bench's protocol.

F-Bench (seed 002, sections 3.2-3.3 and appendix B) collects human preference as 0-5 slider
ratings with two decimals along several dimensions (quality, authenticity, ID fidelity,
correspondence), after a tutorial and practice, with each rater rating a group of images in
random order; MOS come from BT.500 screening and rescaled z-scores. This package lets a lab run
such a study:

- :mod:`.definition` -- the study file (YAML/JSON): dimensions, stimulus modes, groups, tutorial,
  practice, raters;
- :mod:`.db` -- the one data layer (SQLAlchemy Core; SQLite WAL or PostgreSQL) with migrations;
- :mod:`.store` -- create a study, invite raters, next item, write-once ratings, progress;
- :mod:`.app` / :mod:`.server` -- the Flask web app served by waitress;
- :mod:`.export` -- raw ratings and MOS tables (through :mod:`facebench.metrics.mos`);
- :mod:`.loadtest` -- concurrent raters and a server crash on loopback.

Commands: ``facebench study create|invite|serve|status|export|loadtest``.
"""

from .definition import (
    DIMENSIONS,
    Dimension,
    ItemSpec,
    RaterSpec,
    StudyDefinition,
    StudyDefinitionError,
    load_study,
    parse_study,
    validate_score,
)

__all__ = [
    "DIMENSIONS",
    "Dimension",
    "ItemSpec",
    "RaterSpec",
    "StudyDefinition",
    "StudyDefinitionError",
    "load_study",
    "parse_study",
    "validate_score",
]
