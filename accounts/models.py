import secrets
import zoneinfo

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError("%(value)s is not a known time zone.", params={"value": value}, code="invalid")


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)

    def get_by_natural_key(self, username):
        # Emails are stored lower-case; sign-in accepts any case.
        return self.get(email=username.strip().lower())


class User(AbstractBaseUser, PermissionsMixin):
    """A person. Signs in with the email address; belongs to teams through Membership."""

    # Unique and always lower-case (a check constraint), so uniqueness is case-insensitive.
    email = models.EmailField("email address", max_length=254, unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="May sign in to Django admin.")
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["email"]
        constraints = [
            models.CheckConstraint(condition=models.Q(email=Lower("email")), name="user_email_lowercase"),
        ]

    def __str__(self):
        return self.full_name or self.email

    def clean(self):
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    def get_full_name(self):
        return self.full_name or self.email

    def get_short_name(self):
        return (self.full_name.split(" ")[0] if self.full_name else "") or self.email


class Team(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text="Deadlines of this team's tasks are judged in this time zone.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"
    VIEWER = "viewer", "Viewer"


class Membership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team__name", "user__email"]
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="membership_one_per_team_user"),
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="membership_role_valid"),
        ]
        indexes = [models.Index(fields=["user", "team"], name="membership_user_team")]

    def __str__(self):
        return f"{self.user} in {self.team} ({self.role})"


def _invitation_token() -> str:
    return secrets.token_urlsafe(32)  # named by migration 0001 only: tokens are no longer stored


def _unmatched_token_hash() -> str:
    """The hash of a row made without a link (by a test or a shell): random, so that no token matches it."""
    return secrets.token_hex(32)


class Invitation(models.Model):
    """An email address invited to a team; the link carries a token and lets the invitee set a password.

    The token is never stored: it is an HMAC, under SECRET_KEY, of `token_nonce`, computed when the email is
    sent (accounts/links.py), and the row keeps only its SHA-256 (`token_hash`), which the link is looked up
    by. A reader of the database, of its backups or of Django admin therefore holds nothing that opens the
    link. Rows from before this keep the hash of their old token (nonce empty): their links still work."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(max_length=254)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    token_hash = models.CharField(max_length=64, unique=True, editable=False, default=_unmatched_token_hash)
    token_nonce = models.CharField(max_length=32, blank=True, editable=False)
    invited_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="invitation_role_valid"),
            models.CheckConstraint(condition=models.Q(email=Lower("email")), name="invitation_email_lowercase"),
            # One open invitation per address and team; an accepted one no longer blocks a new one.
            models.UniqueConstraint(
                "team", Lower("email"), condition=models.Q(accepted_at__isnull=True), name="invitation_one_open"
            ),
        ]

    def __str__(self):
        return f"{self.email} to {self.team}"

    @property
    def is_usable(self) -> bool:
        return self.accepted_at is None and self.expires_at > timezone.now()


def _calendar_token() -> str:
    return secrets.token_urlsafe(32)


class CalendarFeed(models.Model):
    """A user's private iCal feed: `token` is the secret part of the feed's URL (`/calendar/feed/<token>.ics`).

    The token is stored as is (like an invitation's), so that the profile page can show the link again; it
    is 256 random bits, looked up by its unique index, and grants nothing but reading that one feed (the
    feed view is the only code that reads it; it signs nobody in). Resetting replaces it, and the old link
    answers 404."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="calendar_feed")
    token = models.CharField(max_length=64, unique=True, default=_calendar_token, editable=False)
    created_at = models.DateTimeField(help_text="When this token was made (a reset makes a new one).")

    class Meta:
        ordering = ["user__email"]

    def __str__(self):
        return f"calendar feed of {self.user}"


class AccountEventKind(models.TextChoices):
    MEMBER_ADDED = "member_added", "Member added"
    MEMBER_REMOVED = "member_removed", "Member removed"
    ROLE_CHANGED = "role_changed", "Role changed"
    INVITATION_SENT = "invitation_sent", "Invitation sent"
    INVITATION_ACCEPTED = "invitation_accepted", "Invitation accepted"
    INVITATION_REVOKED = "invitation_revoked", "Invitation withdrawn"
    TEAM_RENAMED = "team_renamed", "Team renamed"
    TEAM_TIME_ZONE_CHANGED = "team_time_zone_changed", "Team time zone changed"
    USER_DEACTIVATED = "user_deactivated", "Account deactivated"
    USER_REACTIVATED = "user_reactivated", "Account reactivated"
    PASSWORD_CHANGED = "password_changed", "Password changed"
    PASSWORD_RESET = "password_reset", "Password reset by email"
    SIGNIN_PAUSED = "signin_paused", "Sign-in paused"
    SECOND_FACTOR_ENROLLED = "second_factor_enrolled", "Second factor set up"
    SECOND_FACTOR_REMOVED = "second_factor_removed", "Second factor removed"


class AccountEvent(models.Model):
    """The account audit trail: one row per change to a team, its members, its invitations or an account,
    written by the service that made the change, in its transaction (accounts/audit.py), so a rolled-back
    change leaves none. Read-only everywhere.

    `team` is the team the change was in (None for a change to an account itself: a password, a second
    factor, a deactivation); `subject` the person it is about; `actor` who made it (None: the system, or an
    anonymous visitor whose failures paused a sign-in); `address` the client address of the request, as the
    sign-in policy reads it ("" outside a request). `data` holds what changed (old and new role, name, ...)."""

    Kind = AccountEventKind

    kind = models.CharField(max_length=30, choices=AccountEventKind.choices)
    team = models.ForeignKey(Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    actor = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    subject = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    email = models.EmailField(max_length=254, blank=True, help_text="The address invited, for invitations.")
    data = models.JSONField(default=dict, blank=True)
    address = models.CharField(max_length=64, blank=True, help_text="The client address of the request.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "account event"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=AccountEventKind.values), name="account_event_kind_valid"
            )
        ]
        indexes = [
            models.Index(fields=["team", "-created_at", "-id"], name="account_event_team_recent"),
            models.Index(fields=["subject", "-created_at", "-id"], name="account_event_subject_recent"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} ({self.created_at:%Y-%m-%d %H:%M})" if self.created_at else self.kind
