"""The build's collectstatic with the production storage (whitenoise's compressed manifest, README "Deployment"):
every file a stylesheet or script refers to must exist, or the deploy fails (a vendored script's
`sourceMappingURL` naming a map that is not vendored did exactly that)."""

from __future__ import annotations

import json

from django.core.management import call_command


def test_collectstatic_with_the_production_storage_succeeds(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", "--noinput", verbosity=0)
    manifest = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    assert "css/app.css" in manifest or any(name.endswith(".css") for name in manifest)
    assert any(name.startswith("vendor/chartjs/") for name in manifest)
    assert all((tmp_path / hashed).exists() for hashed in manifest.values())
