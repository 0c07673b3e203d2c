"""Who may do what with a lead. Reads are scoped by `Lead.objects.visible_to(user)`."""

from leadline.core.choices import Role
from leadline.core.errors import DomainError, NotFound
from leadline.core.models import Membership
from leadline.core.prepared import Prepared


def roles_by_team(user) -> dict[int, str]:
    if not user.is_authenticated:
        return {}
    cache = getattr(user, "_leadline_roles", None)
    if cache is None:
        cache = dict(_roles(user.pk))
        user._leadline_roles = cache
    return cache


# Every request reads the user's roles: compiled once (see core.prepared).
_roles = Prepared(
    lambda user_id: Membership.objects.filter(user_id=user_id).values_list("team_id", "role"),
    Membership._meta.get_field("user"),
)


def is_admin(user) -> bool:
    return user.is_superuser or Role.ADMIN in roles_by_team(user).values()


def is_manager_of(user, team_id) -> bool:
    return is_admin(user) or roles_by_team(user).get(team_id) == Role.MANAGER


def is_marketer(user) -> bool:
    return Role.MARKETER in roles_by_team(user).values()


def managed_teams(user) -> list[int]:
    return [team for team, role in roles_by_team(user).items() if role == Role.MANAGER]


def can_capture(user) -> bool:
    return is_admin(user) or bool(roles_by_team(user))


def can_edit(user, lead) -> bool:
    if is_admin(user) or (lead.team_id and is_manager_of(user, lead.team_id)):
        return True
    if lead.owner_id == user.pk:
        return True
    role = roles_by_team(user).get(lead.team_id)
    return role == Role.REP and lead.owner_id is None


def get_visible_lead(user, lead_id: int, *, for_edit: bool = False):
    """The lead if the user may see it, else NotFound (another team's lead does not exist)."""
    from leadline.leads.models import Lead

    lead = (
        Lead.objects.visible_to(user)
        .select_related("owner", "team", "campaign", "converted_opportunity", "account")
        .filter(pk=lead_id)
        .first()
    )
    if lead is None:
        raise NotFound({"": f"lead {lead_id} not found"})
    if for_edit and not can_edit(user, lead):
        raise DomainError({"": "you can see this lead but not change it"}, status=403)
    return lead
