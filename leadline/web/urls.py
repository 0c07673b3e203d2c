from django.contrib.auth import views as auth_views
from django.urls import path

from leadline.web import quality_views, scoring_views, views

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.queue, name="queue"),
    path("leads/", views.lead_list, name="lead_list"),
    path("leads/new/", views.lead_new, name="lead_new"),
    path("leads/<int:lead_id>/", views.lead_detail, name="lead_detail"),
    path("leads/<int:lead_id>/activity/", views.lead_activity, name="lead_activity"),
    path("leads/<int:lead_id>/next-step/", views.lead_next_step, name="lead_next_step"),
    path("leads/<int:lead_id>/transition/", views.lead_transition, name="lead_transition"),
    path("leads/<int:lead_id>/convert/", views.lead_convert, name="lead_convert"),
    path("leads/<int:lead_id>/assign/", views.lead_assign, name="lead_assign"),
    path("routing/simulate/", views.routing_simulator, name="routing_simulator"),
    path("scoring/", views.scoring, name="scoring"),
    path("scoring/rules/", scoring_views.rules, name="scoring_rules"),
    path("scoring/rules/new/", scoring_views.rule_edit, name="scoring_rule_new"),
    path("scoring/rules/<int:rule_id>/", scoring_views.rule_edit, name="scoring_rule_edit"),
    path(
        "scoring/rules/<int:rule_id>/toggle/", scoring_views.rule_toggle, name="scoring_rule_toggle"
    ),
    path(
        "scoring/rules/<int:rule_id>/delete/", scoring_views.rule_delete, name="scoring_rule_delete"
    ),
    path("scoring/groups/new/", scoring_views.group_edit, name="scoring_group_new"),
    path("scoring/groups/<int:group_id>/", scoring_views.group_edit, name="scoring_group_edit"),
    path(
        "scoring/groups/<int:group_id>/delete/",
        scoring_views.group_delete,
        name="scoring_group_delete",
    ),
    path("scoring/teams/<int:team_id>/mql/", scoring_views.team_mql, name="scoring_team_mql"),
    path("settings/tokens/", views.tokens, name="tokens"),
    path("healthz", views.healthz, name="healthz"),
    *quality_views.urlpatterns,
]
