"""The site's URLs plus /bench/trivial/: a view that does nothing, the framework's ceiling in bench/load.py."""

from django.http import HttpResponse
from django.urls import path

from aether.urls import handler400, handler403, handler404, handler500  # noqa: F401
from aether.urls import urlpatterns as site


def trivial(request):
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [path("bench/trivial/", trivial), *site]
