from decimal import Decimal

import factory

from accounts.tests.factories import TeamFactory, UserFactory
from tasks.models import Label, Project, Stage, Task, Template, TemplateStage


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    team = factory.SubFactory(TeamFactory)
    name = factory.Sequence(lambda n: f"Project {n}")


class TaskFactory(factory.django.DjangoModelFactory):
    """A bare task row (no Activity): for arranging a test. Behaviour under test goes through the services."""

    class Meta:
        model = Task

    project = factory.SubFactory(ProjectFactory)
    title = factory.Sequence(lambda n: f"Task {n}")
    created_by = factory.SubFactory(UserFactory)


class StageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Stage

    task = factory.SubFactory(TaskFactory)
    order = factory.Sequence(lambda n: n + 1)
    name = factory.Sequence(lambda n: f"Stage {n}")
    estimated_hours = Decimal("4.00")


class LabelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Label

    team = factory.SubFactory(TeamFactory)
    name = factory.Sequence(lambda n: f"label-{n}")


class TemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Template

    team = factory.SubFactory(TeamFactory)
    name = factory.Sequence(lambda n: f"Template {n}")


class TemplateStageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TemplateStage

    template = factory.SubFactory(TemplateFactory)
    order = factory.Sequence(lambda n: n + 1)
    name = factory.Sequence(lambda n: f"Template stage {n}")
    estimated_hours = Decimal("2.00")
