from django import forms

from .models import SWITCHABLE_KINDS, Kind


class PreferencesForm(forms.Form):
    """Two switches per switchable kind: `<kind>__email` and `<kind>__in_app`."""

    def __init__(self, *args, preferences=(), **kwargs):
        super().__init__(*args, **kwargs)
        current = {p.kind: p for p in preferences}
        for kind in SWITCHABLE_KINDS:
            pref = current.get(kind)
            label = Kind(kind).label
            self.fields[f"{kind}__email"] = forms.BooleanField(
                required=False, initial=pref.email if pref else True, label=f"{label}: email"
            )
            self.fields[f"{kind}__in_app"] = forms.BooleanField(
                required=False, initial=pref.in_app if pref else True, label=f"{label}: in the app"
            )

    def rows(self):
        """(label, email field, in-app field) per kind, for the template's table."""
        return [(Kind(k).label, self[f"{k}__email"], self[f"{k}__in_app"]) for k in SWITCHABLE_KINDS]

    def choices(self) -> dict[str, tuple[bool, bool]]:
        data = self.cleaned_data
        return {str(k): (data[f"{k}__email"], data[f"{k}__in_app"]) for k in SWITCHABLE_KINDS}
