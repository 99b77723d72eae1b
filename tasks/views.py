from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render

from . import selectors


@login_required
def my_work(request):
    return render(request, "tasks/my_work.html", {"tasks": selectors.my_work(request.user)[:200]})


@login_required
def task_detail(request, pk: int):
    task = get_object_or_404(selectors.with_details(selectors.tasks_visible_to(request.user)), pk=pk)
    return render(request, "tasks/task_detail.html", {"task": task})
