from leadline.core.permissions import is_admin, managed_teams


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    admin = is_admin(user)
    return {"nav_is_admin": admin, "nav_can_route": admin or bool(managed_teams(user))}
