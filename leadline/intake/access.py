"""Who may set up intake channels: imports, forms and engagement feeds."""

from leadline.core.choices import Role
from leadline.core.permissions import is_admin, roles_by_team

MANAGING_ROLES = frozenset({Role.MANAGER, Role.MARKETER, Role.ADMIN})


def can_manage_intake(user) -> bool:
    """Admins, managers and marketers import lists and build forms; reps work the leads."""
    if not user.is_authenticated:
        return False
    return is_admin(user) or bool(MANAGING_ROLES & set(roles_by_team(user).values()))
