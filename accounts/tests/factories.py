import factory

from accounts.models import Membership, Role, Team, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    full_name = factory.Faker("name")
    password = factory.django.Password("pw-for-tests-1")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    team = factory.SubFactory(TeamFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.MEMBER


def token_of(invitation) -> str:
    """The token of the invitation's link, as its email carries it (accounts/links.py); an invitation made
    directly by a test gets its link here."""
    from accounts.links import invitation_token, new_invitation_nonce, token_hash

    if not invitation.token_nonce:
        invitation.token_nonce = new_invitation_nonce()
        invitation.token_hash = token_hash(invitation_token(invitation))
        invitation.save(update_fields=["token_nonce", "token_hash"])
    return invitation_token(invitation)


def link_of(outbox_email) -> str:
    """The link an invitation or reset email carries, made as the delivery worker makes it when it sends."""
    from django.conf import settings
    from django.utils.module_loading import import_string

    return import_string(settings.NOTIFICATIONS_LINK_AT_DELIVERY)(
        outbox_email.kind, outbox_email.context, outbox_email.user_id
    )


def sign_in_to_admin(client, user):
    """Sign `client` in as `user` with a session that passed the second factor, as Django admin asks of staff
    (AETHER_STAFF_SECOND_FACTOR, on in the tests as in production): the user gets a confirmed authenticator."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
        user=user, name="test", confirmed=True
    )
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client
