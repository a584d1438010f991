"""YAML through libyaml's C parser and emitter where PyYAML was built with it (every PyPI wheel
for Linux is): the same documents as the pure-Python classes, 5-8x faster, which start-up
notices (the topology is read by every process, configtx.yaml written on every `up`)."""

from __future__ import annotations

from typing import Any

import yaml

try:
    from yaml import CSafeDumper as SafeDumper
    from yaml import CSafeLoader as SafeLoader
except ImportError:  # PyYAML built without libyaml
    from yaml import SafeDumper, SafeLoader  # type: ignore[assignment]


YAMLError = yaml.YAMLError


def safe_load(text: str) -> Any:
    return yaml.load(text, Loader=SafeLoader)  # a safe loader, C or Python


def safe_dump(doc: Any, **kwargs: Any) -> str:
    return yaml.dump(doc, Dumper=SafeDumper, **kwargs)
