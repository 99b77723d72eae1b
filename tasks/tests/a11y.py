"""What the browser tests use to check accessibility and the Content-Security-Policy in Chromium.

- `watch_csp(context)`: every CSP violation in the pages of a browser context is written to the console as an
  error ("CSP violation: …"), which the tests' Tab records with the other console errors and fails on.
- `axe_violations(page)`: axe-core (WCAG 2.0/2.1 A and AA, and best practice) on the page as it is now. The
  engine is the axe.min.js bundled in the axe-playwright-python wheel (a dev dependency), evaluated in the
  page through the DevTools protocol, so it needs no CDN, no npm and no exception in the site's CSP.
"""

from __future__ import annotations

import functools
from importlib import resources

# The tags axe runs: WCAG 2.1 AA (with the 2.0 rules it builds on) and axe's best practices.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


_CSP_WATCH = """document.addEventListener('securitypolicyviolation', (e) => console.error(
    'CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') + ' at ' +
    (e.sourceFile || location.pathname) + ':' + e.lineNumber));"""


def watch_csp(context) -> None:
    context.add_init_script(_CSP_WATCH)


@functools.cache
def _axe_source() -> str:
    return (resources.files("axe_playwright_python") / "axe.min.js").read_text(encoding="utf-8")


def axe_violations(page) -> list[str]:
    """axe-core's violations on the page, one line each: rule, impact, the first elements, the help."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(_axe_source())
    results = page.evaluate(
        """(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})""",
        AXE_TAGS,
    )
    out = []
    for v in results["violations"]:
        targets = ", ".join(" ".join(node["target"]) for node in v["nodes"][:3])
        out.append(f"{v['id']} ({v['impact']}, {len(v['nodes'])} elements): {targets} — {v['help']}")
    return out
