"""The API's answer to OPTIONS (settings.REST_FRAMEWORK["DEFAULT_METADATA_CLASS"]). Its own module: DRF's
settings import it while aether/api.py is still loading DRF's views."""

from rest_framework.metadata import SimpleMetadata


class ApiMetadata(SimpleMetadata):
    """OPTIONS: the view's name, description and media types, without DRF's "actions" (which builds the forms a
    browsable API shows, and for a PUT asks the view for its object: a 500 on a view that has none). The
    OpenAPI schema at /api/v1/schema/ is where the API describes itself."""

    def determine_metadata(self, request, view):
        metadata = super().determine_metadata(request, view)
        metadata.pop("actions", None)
        return metadata

    def determine_actions(self, request, view):
        return {}
