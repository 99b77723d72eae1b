"""The schema generator of /api/v1/ (settings.REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]): drf-spectacular's, also
documenting every operation's error answers (a view's `refusals` name the 409s and 422s its services can give,
aether/refusals.py), the conditional GETs (`If-None-Match`, `ETag`, 304: aether/conditional.py), and, by the
postprocessing hook `state_input_constraints`, what the server refuses in any text: a NUL character, and in a
required text, nothing but spaces. The docs page is in aether/api_docs.py: drf-spectacular's views module
imports the schema class through settings, so it cannot be imported from here."""

from __future__ import annotations

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated

from .api import ERROR_DESCRIPTIONS, ErrorSerializer
from .conditional import ConditionalGetMixin


def id_path_parameter(description: str) -> OpenApiParameter:
    return OpenApiParameter("id", int, OpenApiParameter.PATH, description=description)


class AetherAutoSchema(AutoSchema):
    """drf-spectacular's generator, adding the error answers every operation can give, in the error shape."""

    def _error_codes(self) -> list[str]:
        codes = ["400", "429"]
        if any(isinstance(p, IsAuthenticated) for p in self.view.get_permissions()):
            codes += ["401", "403"]
        if "{" in self.path:
            codes.append("404")
        if self.method in ("POST", "PUT", "PATCH"):
            codes += ["413", "415"]
        codes += getattr(self.view, "refusals", {}).get(self.method, ())
        return codes

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        """drf-spectacular's, plus the bounds of a list of objects (`many=True`), which it leaves out."""
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if isinstance(field, serializers.ListSerializer) and schema.get("type") == "array":
            if field.min_length is not None:
                schema["minItems"] = field.min_length
            if field.max_length is not None:
                schema["maxItems"] = field.max_length
            if not field.allow_empty:
                schema["minItems"] = max(schema.get("minItems", 0), 1)
        return schema

    def _conditional(self) -> bool:
        return self.method == "GET" and isinstance(self.view, ConditionalGetMixin)

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if self._conditional():
            parameters.append(
                OpenApiParameter(
                    "If-None-Match",
                    {"type": "string"},
                    OpenApiParameter.HEADER,
                    description="The `ETag` of your copy: 304 and no body while it is current. Any other value, "
                    "whatever its shape, is ignored.",
                )
            )
        return parameters

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes():
            if code not in responses:
                response = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                response["description"] = ERROR_DESCRIPTIONS[code]
                responses[code] = response
        if self._conditional():
            validators = {
                "ETag": {
                    "schema": {"type": "string"},
                    "description": "A weak validator of this answer: send it back as If-None-Match to revalidate.",
                },
                "Cache-Control": {"schema": {"type": "string"}, "description": "`private, no-cache`."},
            }
            if "200" in responses:
                responses["200"]["headers"] = {**responses["200"].get("headers", {}), **validators}
            responses["304"] = {"description": "Not modified: your copy is current.", "headers": validators}
        return dict(sorted(responses.items()))


class DenylistJWTScheme(SimpleJWTScheme):
    """The bearer scheme for simplejwt's authentication with the sign-out denylist (accounts/tokens.py)."""

    target_class = "accounts.tokens.DenylistJWTAuthentication"


def link_created_objects(result, generator, request, public):
    """drf-spectacular postprocessing hook: OpenAPI links from each create to the operations on what it created
    (POST /tasks/ → /tasks/{id}/, its stages, comments, ...; POST /tasks/{id}/stages/ → /stages/{id}/), so that
    clients and stateful fuzzing (schemathesis) can follow an id from one answer to the next request."""
    paths = result.get("paths", {})

    def ref_of(op, codes):
        for code in codes:
            schema = op.get("responses", {}).get(code, {}).get("content", {}).get("application/json", {})
            if "$ref" in schema.get("schema", {}):
                return schema["schema"]["$ref"]
        return None

    item_paths = {}  # component ref -> the path of one such object ("/api/v1/tasks/{id}/")
    for path, ops in paths.items():
        if path.endswith("/{id}/"):
            for method in ("get", "patch"):
                if method in ops and (ref := ref_of(ops[method], ["200"])):
                    item_paths.setdefault(ref, path)
    for ops in paths.values():
        create = ops.get("post")
        ref = create and ref_of(create, ["201"])
        item = item_paths.get(ref) if ref else None
        if not item:
            continue
        links = {}
        for path, targets in paths.items():
            if not path.startswith(item):
                continue
            for op in targets.values():
                if isinstance(op, dict) and "operationId" in op:
                    links[op["operationId"]] = {
                        "operationId": op["operationId"],
                        "parameters": {"id": "$response.body#/id"},
                    }
        create["responses"]["201"]["links"] = links
    return result


# What the server refuses in text (DRF refuses a NUL, which PostgreSQL cannot store; the services strip
# required texts and refuse what is left empty), as JSON Schema patterns.
NO_NUL = "^[^\\u0000]*$"
NOT_BLANK = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"


def state_input_constraints(result, generator, request, public):
    """drf-spectacular postprocessing hook: every text of a request body or query without a pattern, format or
    enum of its own gets NO_NUL, or NOT_BLANK when it must not be empty (minLength 1); a text query parameter
    is never empty (given empty, the API refuses it: aether/api.py ApiQueryMiddleware)."""

    def text(schema: dict) -> None:
        if not isinstance(schema, dict):
            return
        for sub in (*schema.get("allOf", ()), *schema.get("oneOf", ()), *schema.get("anyOf", ())):
            text(sub)
        kinds = schema.get("type")
        if (kinds == "string" or (isinstance(kinds, list) and "string" in kinds)) and not (
            {"pattern", "format", "enum", "const"} & schema.keys()
        ):
            schema["pattern"] = NOT_BLANK if schema.get("minLength", 0) >= 1 else NO_NUL
        for prop in schema.get("properties", {}).values():
            text(prop)
        text(schema.get("items"))

    for name, schema in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request"):
            text(schema)
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", ()) if isinstance(operation, dict) else ():
                if parameter.get("in") == "query":  # headers state their own (If-None-Match takes anything)
                    schema = parameter.get("schema") or {}
                    if schema.get("type") == "string":  # given empty, a parameter is refused (aether/api.py)
                        schema["minLength"] = max(schema.get("minLength", 0), 1)
                    text(schema)
    return result
