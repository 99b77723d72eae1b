"""The dashboard's filters, one definition for the HTML page, the JSON API and the CSV export."""

from __future__ import annotations

from django import forms

from aether.refusals import unprocessable

from .selectors import PRESETS

MAX_ID = 2**63 - 1


class DashboardFilterForm(forms.Form):
    project = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    team = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    assignee = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    range = forms.ChoiceField(required=False, choices=[("", "Any two dates"), *PRESETS.items()])
    since = forms.DateField(required=False, input_formats=["%Y-%m-%d"])
    until = forms.DateField(required=False, input_formats=["%Y-%m-%d"])

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        # Each value well-formed, together not: the API answers 422 (aether/refusals.py).
        if since and until and since > until:
            self.add_error("until", unprocessable("The end date must be on or after the start date."))
        if data.get("range") and (since or until):
            self.add_error("range", unprocessable("Give either a preset range or two dates, not both."))
        return data

    def scope_arguments(self) -> dict:
        """The arguments of analytics.selectors.dashboard_scope (call after is_valid())."""
        data = self.cleaned_data
        return {
            "project_id": data.get("project"),
            "team_id": data.get("team"),
            "assignee_id": data.get("assignee"),
            "since": data.get("since"),
            "until": data.get("until"),
            "preset": data.get("range") or None,
        }
