"""/api/v1/docs/: Swagger UI from the vendored sidecar assets, under the site's strict Content-Security-Policy."""

from csp.constants import NONCE
from csp.decorators import csp_update
from django.utils.decorators import method_decorator
from drf_spectacular.views import SpectacularSwaggerSplitView


@method_decorator(csp_update({"style-src": [NONCE]}), name="dispatch")
class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI from the vendored sidecar assets, under the site's strict Content-Security-Policy.

    The split view loads its start-up script from this same URL (`?script`), so no inline script is needed;
    the page's one inline <style> carries the request's nonce, which this view alone adds to style-src.
    """

    template_name = "api/swagger_ui.html"
    # A page, not an operation: OPTIONS is a 405 (DRF's answer to it rendered JSON through this HTML view: a 500).
    http_method_names = ["get", "head"]
    title = "Aether API"
