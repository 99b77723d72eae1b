"""Celery tasks of the outbox. Thin: they take ids (or nothing), call one delivery function, and are safe to
run twice (rows already sent, or leased by another worker, are skipped)."""

from celery import shared_task

from . import delivery


@shared_task(name="notifications.deliver_outbox_emails", ignore_result=True)
def deliver_outbox_emails(ids: list[int]) -> int:
    """Deliver the outbox rows a transaction just committed (queued by delivery_enqueue_on_commit).

    Given ids rather than "deliver what is due": the worker goes straight to its rows (one indexed claim),
    several workers share a burst without contending for the same rows, and a redelivered message is a no-op.
    Rows this message never reaches (lost message, broker down) are the sweep's.
    """
    report = delivery.outbox_deliver(ids=[int(i) for i in ids])
    if report.more:
        deliver_outbox.delay()
    return report.sent


@shared_task(name="notifications.deliver_outbox", ignore_result=True)
def deliver_outbox() -> int:
    """The sweep (celery beat, every 60 s): deliver every row that is due: pending rows whose message was
    lost, failed rows whose retry time has come, rows of a dead worker whose lease expired. A sweep that ran
    out of time hands the rest to a fresh sweep task rather than waiting for the next beat."""
    report = delivery.outbox_deliver()
    if report.more:
        deliver_outbox.delay()
    return report.sent


@shared_task(name="notifications.merge_held", ignore_result=True)
def merge_held() -> int:
    """(celery beat, every 60 s) Combine the held emails that are due: quick updates on one task into one
    email, each person's digest at their hour. Returns how many emails this run wrote or released."""
    from . import merging

    run = merging.held_merge()
    if run.more:
        merge_held.delay()
    return run.batches + run.released + run.digests
