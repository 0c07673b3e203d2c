from datetime import datetime

from django import template
from django.utils.html import format_html

from leadline.core.clock import clock

register = template.Library()


def _span(seconds: float) -> str:
    seconds = abs(int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h {seconds % 3600 // 60}m"
    return f"{seconds // 86400}d {seconds % 86400 // 3600}h"


@register.simple_tag
def sla_badge(lead):
    """The speed-to-lead clock: time left, overdue, or when it was answered."""
    if lead.first_response_at:
        minutes = lead.response_minutes or 0
        late = lead.sla_due_at and lead.first_response_at > lead.sla_due_at
        return format_html(
            '<span class="badge {}" title="business minutes">answered in {}</span>',
            "warn" if late else "ok",
            _span(minutes * 60),
        )
    if not lead.sla_due_at or not lead.is_open:
        return ""
    left = (lead.sla_due_at - clock.now()).total_seconds()
    if left < 0:
        return format_html(
            '<span class="badge breach" data-due="{}">overdue {}</span>',
            lead.sla_due_at.isoformat(),
            _span(left),
        )
    return format_html(
        '<span class="badge {}" data-due="{}">{} left</span>',
        "soon" if left < 300 else "clock",
        lead.sla_due_at.isoformat(),
        _span(left),
    )


@register.simple_tag
def due_badge(moment: datetime | None):
    if not moment:
        return ""
    left = (moment - clock.now()).total_seconds()
    if left < 0:
        return format_html('<span class="badge breach">overdue {}</span>', _span(left))
    return format_html('<span class="badge clock">due in {}</span>', _span(left))


@register.filter
def points(value: int) -> str:
    return f"{value:+d}"


@register.filter
def percent(value) -> str:
    return "" if value is None else f"{float(value):.0%}"


@register.filter
def percent_points(value) -> str:
    """An effect on a probability, in percentage points."""
    return f"{float(value) * 100:+.1f} pts"


@register.filter
def kind_label(kind: str) -> str:
    return kind.replace("_", " ").capitalize()
