"""What happens to a post that cannot be taken, so that nothing a person typed is lost.

- `post_only(page)`: a POST-only address of the site. A GET (a link followed after sign-in, a reload, a pasted
  address) goes to the page the form is on instead of an empty 405. aether/tests/test_posting.py walks every
  address of the site and names any that still answers a GET with a 405.
- `InPlaceSignInMiddleware`: an in-place (htmx) request whose session has ended is answered 401 with the
  sign-in address in the `Aether-Sign-In` header, whose `next` is the page the person is on (htmx's
  `HX-Current-URL`), never the POST address. Without this the request followed the redirect and swapped the
  sign-in form into the task page, under a header that still showed the person. A plain post whose session
  ended is sent to sign in with `next` the page it came from (its same-site Referer), for the same reason.
- `csrf_failure`: a post with a stale CSRF token (the person signed in again in another tab) says so in plain
  words; to an in-place request, a 403 with `Aether-Refused: csrf`, which static/js/inplace.js turns into a
  renewed token and a message by the form.

static/js/inplace.js keeps what was typed in the browser (sessionStorage, per page and field) until the
server took it, and puts it back when the page is shown again.
"""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render, resolve_url
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

SIGN_IN_HEADER = "Aether-Sign-In"
REFUSED_HEADER = "Aether-Refused"


def post_only(page):
    """A view that takes POST only. `page` gives the address a GET or HEAD goes to: a URL name (reversed with
    the view's keyword arguments) or a callable (request, **kwargs) -> URL. Other methods get a 405."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method == "POST":
                return view(request, *args, **kwargs)
            if request.method in ("GET", "HEAD"):
                return redirect(page(request, **kwargs) if callable(page) else _page_url(page, kwargs))
            return HttpResponseNotAllowed(["POST"])

        wrapped.post_only_page = page  # the URL walk (aether/tests/test_posting.py) reads it
        return wrapped

    return decorator


def _page_url(name: str, kwargs: dict) -> str:
    """The URL name reversed with the view's arguments, or without them when the page takes none."""
    try:
        return reverse(name, kwargs=kwargs)
    except NoReverseMatch:
        return reverse(name)


def _same_site_path(request, url: str) -> str | None:
    """The path (with its query) of `url` when it is an address of this site, else None."""
    if not url or not url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}):
        return None
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _is_sign_in_redirect(response) -> bool:
    if response.status_code not in (301, 302, 303) or not response.has_header("Location"):
        return False
    return urlsplit(response["Location"]).path == resolve_url(settings.LOGIN_URL)


def _sign_in_url(request, page: str) -> str:
    return f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': page})}"


class InPlaceSignInMiddleware:
    """See the module docstring. After the authentication middleware, before the views."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not _is_sign_in_redirect(response):
            return response
        if getattr(request, "htmx", False):
            page = _same_site_path(request, request.headers.get("HX-Current-URL", "")) or request.path
            answer = HttpResponse("Your session has ended: sign in again.", status=401, content_type="text/plain")
            answer[SIGN_IN_HEADER] = _sign_in_url(request, page)
            return answer
        if request.method == "POST":
            page = _same_site_path(request, request.headers.get("Referer", ""))
            if page:
                return redirect(_sign_in_url(request, page))
        return response


def csrf_failure(request, reason: str = ""):
    """settings.CSRF_FAILURE_VIEW. The reason is for the log (Django logs it); the person gets plain words."""
    if getattr(request, "htmx", False) or request.headers.get("HX-Request") == "true":
        answer = HttpResponse("This page was out of date: send it again.", status=403, content_type="text/plain")
        answer[REFUSED_HEADER] = "csrf"
        return answer
    back = _same_site_path(request, request.headers.get("Referer", ""))
    return render(request, "403_csrf.html", {"back": back}, status=403)
