"""Who may review duplicates and merge leads: admins, and managers for their teams' leads.

A pair, a merge or a lead outside the user's reach does not exist for them (NotFound), as with
every other per-object check in Leadline; a rep or marketer is refused outright (403).
"""

from leadline.core.errors import DomainError, NotFound
from leadline.core.permissions import is_admin, managed_teams
from leadline.leads.models import Lead
from leadline.quality.models import DuplicateCandidate, MergeRecord


def can_review(user) -> bool:
    return user.is_authenticated and (is_admin(user) or bool(managed_teams(user)))


def require_reviewer(user) -> None:
    if not can_review(user):
        raise DomainError({"": "only admins and managers review duplicates"}, status=403)


def manages(user, team_id) -> bool:
    return is_admin(user) or (team_id is not None and team_id in managed_teams(user))


def get_candidate(user, candidate_id: int) -> DuplicateCandidate:
    require_reviewer(user)
    found = (
        DuplicateCandidate.objects.visible_to(user)
        .select_related("lead_a__owner", "lead_a__team", "lead_b__owner", "lead_b__team")
        .filter(pk=candidate_id)
        .first()
    )
    if found is None:
        raise NotFound({"": f"duplicate pair {candidate_id} not found"})
    return found


def merges_visible_to(user):
    if is_admin(user):
        return MergeRecord.objects.all()
    return MergeRecord.objects.filter(survivor__team_id__in=managed_teams(user))


def get_merge(user, merge_id: int) -> MergeRecord:
    require_reviewer(user)
    found = merges_visible_to(user).select_related("survivor", "by").filter(pk=merge_id).first()
    if found is None:
        raise NotFound({"": f"merge {merge_id} not found"})
    if not is_admin(user):
        teams = set(managed_teams(user))
        snapped = [s.get("fields", {}).get("team") for s in found.snapshots.values()]
        if any(team not in teams for team in snapped):
            raise NotFound({"": f"merge {merge_id} not found"})
    return found


def get_leads_to_merge(user, ids: list[int]) -> list[Lead]:
    """The live leads with these ids, each in a team the user manages, in the order given."""
    require_reviewer(user)
    found = Lead.objects.visible_to(user).in_bulk(ids)
    for lead_id in ids:
        lead = found.get(lead_id)
        if lead is None or not manages(user, lead.team_id):
            raise NotFound({"": f"lead {lead_id} not found"})
    return [found[i] for i in ids]
