import zoneinfo

from django import forms

from .models import SWITCHABLE_KINDS, EmailCadence, Kind


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


def hour_choices() -> list[tuple[int, str]]:
    return [(h, f"{h:02d}:00") for h in range(24)]


def time_zone_choices() -> list[tuple[str, str]]:
    return [(z, z.replace("_", " ")) for z in sorted(zoneinfo.available_timezones())]


class EmailDeliveryForm(forms.Form):
    """How emails reach the user: as they happen (batched per task), one daily digest at an hour of their time
    zone, or none. The hour and zone are kept when another cadence is chosen, for the next time."""

    cadence = forms.ChoiceField(
        label="Emails about tasks",
        choices=EmailCadence.choices,
        widget=forms.RadioSelect,
        initial=EmailCadence.IMMEDIATE,
    )
    digest_hour = forms.TypedChoiceField(
        label="Digest hour", choices=hour_choices, coerce=int, help_text="When the daily digest is sent."
    )
    time_zone = forms.ChoiceField(label="Your time zone", choices=time_zone_choices)

    def __init__(self, *args, preference=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.preference = preference
        if preference is not None:
            self.fields["cadence"].initial = preference.cadence
            self.fields["digest_hour"].initial = preference.digest_hour
            self.fields["time_zone"].initial = preference.time_zone
