from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.SignInView.as_view(), name="login"),
    path("login/code/", views.second_factor_verify, name="second_factor_verify"),
    path("logout/", views.SignOutView.as_view(), name="logout"),
    path("profile/", views.profile, name="profile"),
    path("profile/calendar-feed/", views.calendar_feed_reset, name="calendar_feed_reset"),
    path("profile/second-factor/", views.second_factor, name="second_factor"),
    path("profile/second-factor/begin/", views.second_factor_begin, name="second_factor_begin"),
    path("profile/second-factor/confirm/", views.second_factor_confirm, name="second_factor_confirm"),
    path("profile/second-factor/session/", views.second_factor_session, name="second_factor_session"),
    path("profile/second-factor/remove/", views.second_factor_remove, name="second_factor_remove"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path("password/reset/<uidb64>/<token>/", views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("password/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("teams/", views.team_list, name="team_list"),
    path("teams/<int:team_id>/", views.team_detail, name="team_detail"),
    path("teams/<int:team_id>/invite/", views.team_invite, name="team_invite"),
    path("teams/<int:team_id>/account-events/", views.team_audit, name="team_audit"),
    path(
        "teams/<int:team_id>/invitations/<int:invitation_id>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
    path("teams/<int:team_id>/members/<int:user_id>/role/", views.membership_role, name="membership_role"),
    path("teams/<int:team_id>/members/<int:user_id>/remove/", views.membership_remove, name="membership_remove"),
]
