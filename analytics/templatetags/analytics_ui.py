"""How the dashboard shows a figure: "no data" where there is none, never a division error."""

from django import template

register = template.Library()


@register.filter
def figure(value, unit: str = ""):
    if value is None:
        return "no data"
    if isinstance(value, float):
        value = f"{value:,.2f}".rstrip("0").rstrip(".") if value % 1 else f"{value:,.0f}"
    elif isinstance(value, int):
        value = f"{value:,}"
    return f"{value} {unit}".strip()


@register.filter
def percent(value):
    return "no data" if value is None else f"{value * 100:.1f}%"


@register.filter
def heat_level(value: int, peak: int) -> int:
    """0 (none) to 5 (the busiest hour), for the heatmap's cell colour."""
    if not value or not peak:
        return 0
    return 1 + min(4, (4 * value) // peak)
