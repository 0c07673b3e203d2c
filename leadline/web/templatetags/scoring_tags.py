from django import template

from leadline.scoring.ruleset import can_edit_rules

register = template.Library()


@register.filter
def edits_scoring(user) -> bool:
    """For the navigation: whether the scoring rule editor is open to this user."""
    return can_edit_rules(user)
