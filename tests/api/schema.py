"""A small Swagger 2.0 schema validator for the API tests (standard library only).

Supports what billing-costs.swagger.json and billing-v2.swagger.json use: $ref
(#/definitions/...), type (object, array, string, integer, number, boolean, null, and arrays of
them: ["string", "null"]), required, properties, items, enum,
additionalProperties: false, and the int32/int64 formats. Values are expected as parsed by
harness.parse_json: JSON numbers with a fraction or exponent arrive as decimal.Decimal, JSON
integers as int. So an `integer` must be a Python int (never a bool, float or Decimal); a
`number` may be an int or a finite Decimal/float (never a bool).
"""

import decimal
import json
import os
import re

_INT_RANGES = {
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
}


def default_spec_path():
    """<repo>/../shared/spec/billing-costs.swagger.json, overridable by $COSTS_SPEC."""
    env = os.environ.get("COSTS_SPEC")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(os.path.dirname(here))
    return os.path.join(os.path.dirname(repo), "shared", "spec", "billing-costs.swagger.json")


class SchemaError(Exception):
    pass


def _type_name(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, (float, decimal.Decimal)):
        return "number(with fraction/exponent)"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return type(v).__name__


def _is_type(value, t):
    if t == "object":
        return isinstance(value, dict)
    if t == "array":
        return isinstance(value, list)
    if t == "string":
        return isinstance(value, str)
    if t == "boolean":
        return isinstance(value, bool)
    if t == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if t == "number":
        if isinstance(value, bool):
            return False
        if isinstance(value, int):
            return True
        if isinstance(value, decimal.Decimal):
            return value.is_finite()
        if isinstance(value, float):
            return value == value and value not in (float("inf"), float("-inf"))
        return False
    if t == "null":  # draft 4 type arrays: nullable members are ["string", "null"]
        return value is None
    if t == "file":
        return True
    raise SchemaError("unsupported schema type %r" % (t,))


class Spec:
    """The loaded swagger document and lookups of response schemas by path template."""

    def __init__(self, path=None):
        self.path = path or default_spec_path()
        with open(self.path, "r", encoding="utf-8") as f:
            self.doc = json.load(f)
        self.base_path = self.doc.get("basePath", "")
        self.definitions = self.doc.get("definitions", {})
        self._templates = []
        for template in self.doc.get("paths", {}):
            pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
            self._templates.append((template, re.compile(pattern)))
        # Most specific (more literal characters) first.
        self._templates.sort(key=lambda tp: -len(re.sub(r"\{[^}]+\}", "", tp[0])))

    def match_path(self, path):
        """The spec's path template for an actual request path (with or without basePath and
        query), or None."""
        path = path.split("?", 1)[0]
        if self.base_path and path.startswith(self.base_path + "/"):
            path = path[len(self.base_path):]
        for template, rx in self._templates:
            if rx.match(path):
                return template
        return None

    def operation(self, template, method):
        return self.doc["paths"].get(template, {}).get(method.lower())

    def response(self, template, method, status):
        op = self.operation(template, method)
        if op is None:
            return None
        return op.get("responses", {}).get(str(status))

    def response_schema(self, template, method, status):
        r = self.response(template, method, status)
        return None if r is None else r.get("schema")

    def header_enum(self, template, method, status, header):
        r = self.response(template, method, status)
        if not r:
            return None
        for name, h in r.get("headers", {}).items():
            if name.lower() == header.lower():
                return h.get("enum")
        return None

    def definition(self, name):
        return {"$ref": "#/definitions/" + name}

    def resolve(self, ref):
        prefix = "#/definitions/"
        if not ref.startswith(prefix):
            raise SchemaError("unsupported $ref %r" % (ref,))
        name = ref[len(prefix):]
        if name not in self.definitions:
            raise SchemaError("unknown definition %r" % (name,))
        return self.definitions[name]

    def validate(self, instance, schema, where="$"):
        """Returns a list of problems ("$.data[0].timestamp: expected integer, got ..."),
        empty when the instance conforms."""
        problems = []
        self._validate(instance, schema, where, problems, 0)
        return problems

    def _validate(self, value, schema, where, problems, depth):
        if depth > 64:
            raise SchemaError("schema nesting too deep at %s" % where)
        if "$ref" in schema:
            # Swagger 2.0: siblings of $ref are ignored.
            self._validate(value, self.resolve(schema["$ref"]), where, problems, depth + 1)
            return
        for sub in schema.get("allOf", []):
            self._validate(value, sub, where, problems, depth + 1)
        t = schema.get("type")
        if t is None and ("properties" in schema or "required" in schema):
            t = "object"
        if t is not None:
            types = t if isinstance(t, list) else [t]
            if not any(_is_type(value, x) for x in types):
                problems.append("%s: expected %s, got %s %s" % (
                    where, "/".join(types), _type_name(value), _short(value)))
                return
        if "enum" in schema and value not in schema["enum"]:
            problems.append("%s: %s is not one of %s" % (where, _short(value), schema["enum"]))
        fmt = schema.get("format")
        if t == "integer" and fmt in _INT_RANGES and isinstance(value, int):
            lo, hi = _INT_RANGES[fmt]
            if not lo <= value <= hi:
                problems.append("%s: %d out of %s range" % (where, value, fmt))
        if isinstance(value, dict):
            for name in schema.get("required", []):
                if name not in value:
                    problems.append("%s: missing required property %r" % (where, name))
            props = schema.get("properties", {})
            for name, sub in props.items():
                if name in value:
                    self._validate(value[name], sub, "%s.%s" % (where, name), problems, depth + 1)
            extra = schema.get("additionalProperties")
            if extra is False:
                for name in value:
                    if name not in props:
                        problems.append("%s: unexpected property %r" % (where, name))
            elif isinstance(extra, dict):
                for name in value:
                    if name not in props:
                        self._validate(value[name], extra, "%s.%s" % (where, name), problems, depth + 1)
        if isinstance(value, list) and "items" in schema:
            for i, item in enumerate(value):
                self._validate(item, schema["items"], "%s[%d]" % (where, i), problems, depth + 1)


def _short(value, limit=80):
    try:
        text = json.dumps(value, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
