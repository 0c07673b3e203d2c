from django import template

from leadline.intake.access import can_manage_intake

register = template.Library()


@register.filter
def manages_intake(user) -> bool:
    return can_manage_intake(user)
