"""Reading records (rows with a location) from GeoJSON, YAML and table files.

Reference data (jurisdictions, indicators) comes as GeoJSON, YAML or a table; each is
read into :class:`Record` objects that know where they came from, so that every problem
can be reported as ``FILE:LINE:FIELD`` whatever the format. Records are validated with a
Pydantic model; all problems are collected before anything is written.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from tocsin.files.tables import Problem, Problems, TableError, not_utf8, read_table, table_format

M = TypeVar("M", bound=BaseModel)


@dataclass
class Record:
    """One input record: its fields, where it starts, and extra data (e.g. geometry)."""

    fields: dict[str, Any]
    where: str
    extra: dict[str, Any] = field(default_factory=dict)

    def location(self, name: str) -> str:
        return f"{self.where}:{name}"


def yaml_mappings(
    path: Path, key: str, *, single: bool = False
) -> list[tuple[dict[str, Any], yaml.Node]]:
    """The mappings of a YAML list (or of the list under ``key``; with ``single``, also one
    mapping on its own), each with its node, so that a problem deep inside can be placed
    (:func:`yaml_line`)."""
    try:
        text = path.read_text(encoding="utf-8")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except UnicodeDecodeError:
        raise not_utf8(path) from None
    except OSError as exc:
        raise TableError(f"{path}: cannot read the file: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise TableError(_yaml_error(path, exc)) from None
    if isinstance(data, dict) and key in data:
        data = data[key]
        node = next(v for k, v in node.value if k.value == key)
    elif single and isinstance(data, dict):
        data, node = [data], yaml.SequenceNode("tag:yaml.org,2002:seq", [node])
    if not isinstance(data, list) or node is None:
        raise TableError(f"{path}: expected a list of {key} (or a mapping with the key {key!r})")
    found = []
    for item, item_node in zip(data, node.value, strict=True):
        if not isinstance(item, dict):
            where = f"{path}:{item_node.start_mark.line + 1}"
            raise TableError(f"{where}: expected a mapping of fields (name: value)")
        found.append(({str(k): item[k] for k in item}, item_node))
    return found


def yaml_line(node: yaml.Node, loc: Sequence[Any]) -> int:
    """The 1-based line of the deepest node of ``loc`` (keys and list positions, as in a
    Pydantic error) found below ``node``."""
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if str(k.value) == str(part)), None)
            if match is None:  # e.g. a level keyed "2" but reported as "II"
                break
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(node.value):
                break
            node = node.value[part]
        else:
            break
    return node.start_mark.line + 1


def _yaml_records(path: Path, key: str) -> list[Record]:
    """Mappings of a YAML list (or of the list under ``key``), with their line numbers."""
    return [
        Record(item, f"{path}:{node.start_mark.line + 1}")
        for item, node in yaml_mappings(path, key)
    ]


def _yaml_error(path: Path, exc: yaml.YAMLError) -> str:
    """``FILE:LINE:COLUMN: not valid YAML: what`` from PyYAML's marks."""
    mark = getattr(exc, "problem_mark", None)
    where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    return f"{where}: not valid YAML: {problem}" + (f" ({context})" if context else "")


def _geojson_records(path: Path) -> list[Record]:
    """One record per feature: its properties, with the geometry kept aside."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise not_utf8(path) from None
    except OSError as exc:
        raise TableError(f"{path}: cannot read the file: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise TableError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg})") from None
    features = data.get("features") if isinstance(data, dict) else None
    if not isinstance(features, list):
        raise TableError(f"{path}: expected a GeoJSON FeatureCollection with a 'features' list")
    records = []
    for number, feature in enumerate(features, start=1):
        where = f"{path}:feature {number}"
        if not isinstance(feature, dict) or not isinstance(feature.get("properties"), dict):
            raise TableError(f"{where}: expected a GeoJSON Feature with 'properties'")
        records.append(
            Record(dict(feature["properties"]), where, {"geometry": feature.get("geometry")})
        )
    return records


def _table_records(path: Path, required: Sequence[str], optional: Sequence[str]) -> list[Record]:
    table = read_table(path, required=required, optional=optional)
    frame = table.frame
    columns = list(frame.columns)
    records = []
    for row, values in enumerate(frame.itertuples(index=False, name=None)):
        fields = {
            c: (None if v is None or v != v else v) for c, v in zip(columns, values, strict=True)
        }
        records.append(Record(fields, table.location(row, "").rstrip(":")))
    return records


def read_records(
    path: str | Path, *, key: str, required: Sequence[str], optional: Sequence[str] = ()
) -> list[Record]:
    """Records of a GeoJSON, YAML, CSV, JSON lines or Parquet file (by extension)."""
    path = Path(path)
    name = path.name.lower()
    if not path.is_file():
        raise TableError(f"{path}: the file does not exist")
    if name.endswith((".geojson", ".json")):
        return _geojson_records(path)
    if name.endswith((".yaml", ".yml")):
        return _yaml_records(path, key)
    table_format(path)  # a clear error for an unknown extension
    return _table_records(path, required, optional)


def validate(records: Sequence[Record], model: type[M], problems: Problems) -> list[M | None]:
    """Each record validated with ``model``; ``None`` (and problems) where it fails."""
    out: list[M | None] = []
    for record in records:
        try:
            out.append(model.model_validate(record.fields))
        except ValidationError as exc:
            for error in exc.errors():
                name = ".".join(str(p) for p in error["loc"]) or "record"
                value = record.fields.get(name)
                reason = error["msg"]
                if error["type"] == "literal_error":
                    reason = f"is not allowed; {error['msg'].lower()}"
                elif error["type"] == "extra_forbidden":
                    reason = f"is an unknown field; expected {', '.join(model.model_fields)}"
                    value = None
                problems.add(
                    Problem(
                        record.location(name),
                        name,
                        None if value is None else str(value),
                        reason if value is not None else f"{name}: {reason.lower()}",
                    )
                )
            out.append(None)
    return out
