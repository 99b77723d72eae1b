"""The schema generator of /api/v1/ (settings.REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]): drf-spectacular's, also
documenting every operation's error answers. The docs page is in aether/api_docs.py: drf-spectacular's views
module imports the schema class through settings, so it cannot be imported from here."""

from __future__ import annotations

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter
from rest_framework.permissions import IsAuthenticated

from .api import ERROR_DESCRIPTIONS, ErrorSerializer


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
        return codes

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes():
            if code not in responses:
                response = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                response["description"] = ERROR_DESCRIPTIONS[code]
                responses[code] = response
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
