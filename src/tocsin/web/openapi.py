"""The OpenAPI document says every status and content type a route answers.

FastAPI documents the success response and 422; tocsin's routes also answer, as RFC
9457 ``application/problem+json``: 400 (a request the services refuse), 401 (no or
wrong credentials), 403 (a role or a CSRF token missing), 404 (an object that does not
exist or lies outside the caller's scope), 409 (a conflict with the current state),
413 (a body over ``TOCSIN_MAX_BODY_BYTES``) and 422 (a malformed request). This module
adds them to every operation, and adds to every free text the rule of
:mod:`tocsin.text` as a ``pattern``, so that the document describes exactly what is
accepted (checked by schemathesis in the tests).

Path and query parameters are checked against the same rule by
:func:`refuse_forbidden_parameters`, a dependency of every API route.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError

from tocsin.text import JSON_SCHEMA_PATTERN, TextError, check_text
from tocsin.web.problems import PROBLEM_JSON

#: RFC 9457 section 3.1, with the ``errors`` extension of validation problems.
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
    "required": ["type", "title", "status"],
}

#: What each problem status means, as the document says it.
PROBLEMS: dict[int, str] = {
    400: "the request is refused (see `detail`)",
    401: "credentials missing or wrong",
    403: "the caller's roles do not allow this, or a browser's CSRF token is missing",
    404: "no such object in the caller's scope",
    409: "conflicts with the current state",
    413: "the request body is larger than the limit",
    422: "the request is malformed; `errors` lists each field",
}

_UNSAFE = {"post", "put", "patch", "delete"}


def refuse_forbidden_parameters(request: Request) -> None:
    """422 for a path or query parameter holding a character XML 1.0 forbids."""
    places = (("path", request.path_params), ("query", request.query_params))
    for where, values in places:
        for name, value in values.items():
            if not isinstance(value, str):
                continue
            try:
                check_text(value, name)
            except TextError as exc:
                error = {"loc": (where, name), "msg": exc.reason, "type": "xml_character"}
                raise RequestValidationError([error]) from None


def refuse_unknown_parameters(request: Request) -> None:
    """422 for a query parameter the operation does not declare: a misspelt filter
    (``?jurisdicton=DE-BY``) would otherwise be ignored and answer more than was asked."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    known = _query_names(dependant) if dependant is not None else set()
    for name in request.query_params:
        if name not in known:
            error = {
                "loc": ("query", name),
                "msg": "is not a parameter of this operation",
                "type": "unknown_parameter",
            }
            raise RequestValidationError([error])


def _query_names(dependant: Any) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for inner in dependant.dependencies:
        names |= _query_names(inner)
    return names


def _with_text_rule(schema: Any) -> None:
    """Add the text rule to every free string of ``schema`` (in place, recursively)."""
    if isinstance(schema, list):
        for item in schema:
            _with_text_rule(item)
        return
    if not isinstance(schema, dict):
        return
    free = not ({"format", "enum", "pattern", "const", "contentMediaType"} & schema.keys())
    if schema.get("type") == "string" and free:
        schema["pattern"] = JSON_SCHEMA_PATTERN
    if schema.get("type") == "object" and "additionalProperties" in schema:
        schema.setdefault("propertyNames", {"pattern": JSON_SCHEMA_PATTERN})
    for key, value in schema.items():
        if key not in ("example", "examples", "default"):
            _with_text_rule(value)


def _problem_response(description: str) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/Problem"}
    return {"description": description, "content": {PROBLEM_JSON: {"schema": schema}}}


def _statuses(path: str, method: str, operation: dict[str, Any]) -> list[int]:
    """The problem statuses an operation can answer."""
    if _public(
        operation
    ):  # parameters (in the path or the query) can be missing, malformed, unknown
        return [404, 422] if "{" in path or operation.get("parameters") else []
    statuses = [400, 401, 403, 404, 422]
    if method in _UNSAFE:
        statuses.append(409)
    if "requestBody" in operation:
        statuses.append(413)
    return statuses


def _public(operation: dict[str, Any]) -> bool:
    """Whether anyone may call the operation (its tag says "public")."""
    return "public" in " ".join(operation.get("tags", [])).lower()


def document(openapi: dict[str, Any]) -> dict[str, Any]:
    """``openapi`` with the problem responses and the text rule (in place)."""
    components = openapi.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    # OpenAPI 3.1 section 4.8.27: the API token, so that /docs offers "Authorize".
    openapi["components"]["securitySchemes"] = {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token (tsn_...) from POST /api/v1/tokens.",
        },
        "session": {
            "type": "apiKey",
            "in": "cookie",
            "name": "tocsin_session",
            "description": "The session of a browser signed in at /login (unsafe methods "
            "also need the X-CSRF-Token header).",
        },
    }
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for path, methods in openapi.get("paths", {}).items():
        for method, operation in methods.items():
            responses = operation.setdefault("responses", {})
            for status in _statuses(path, method, operation):
                problem = _problem_response(PROBLEMS[status])
                given = responses.setdefault(str(status), problem)
                given["content"] = problem["content"]
            _with_text_rule(operation.get("parameters", []))
            _with_text_rule(operation.get("requestBody", {}))
            if not _public(operation):
                operation["security"] = [{"bearer": []}, {"session": []}]
    for name in _request_schemas(openapi):
        _with_text_rule(components[name])
    return openapi


def _refs(schema: Any) -> set[str]:
    """The component names ``schema`` refers to directly."""
    if isinstance(schema, list):
        return set().union(*map(_refs, schema)) if schema else set()
    if not isinstance(schema, dict):
        return set()
    found = {schema["$ref"].rsplit("/", 1)[-1]} if "$ref" in schema else set()
    return found.union(*(_refs(v) for v in schema.values()))


def _request_schemas(openapi: dict[str, Any]) -> set[str]:
    """The components that request bodies use, directly or through other components."""
    components = openapi["components"]["schemas"]
    bodies = [op.get("requestBody", {}) for ms in openapi["paths"].values() for op in ms.values()]
    todo, seen = _refs(bodies), set()
    while todo:
        name = todo.pop()
        if name in components and name not in seen:
            seen.add(name)
            todo |= _refs(components[name])
    return seen


def install(app: FastAPI) -> None:
    """Serve the completed document at ``/openapi.json`` (built once)."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(original())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
