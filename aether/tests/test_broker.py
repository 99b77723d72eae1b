"""The worker survives Redis going away while it holds unacknowledged messages (aether/broker.py)."""

import pytest
from kombu import Connection
from kombu.common import ignore_errors

from aether.celery import app as celery_app


def _connection(transport):
    return Connection(celery_app.conf.broker_url, transport=transport, transport_options={"global_keyprefix": "t:"})


def _channel_with_an_unacked_message(connection):
    channel = connection.channel()
    queue = "aether-test-broker"
    channel.queue_declare(queue, auto_delete=True)
    channel.basic_publish(channel.prepare_message("hello"), exchange="", routing_key=queue)
    message = channel.basic_get(queue, no_ack=False)
    assert message is not None
    return channel


def _lose_the_transport(connection):
    """What kombu's Connection does when the consumer releases it after Redis went away."""
    connection.transport.client = None


def test_the_workers_broker_is_aethers_transport():
    assert celery_app.conf.broker_transport == "aether.broker:Transport"
    with celery_app.connection_for_write() as connection:
        assert type(connection.transport).__module__ == "aether.broker"


@pytest.mark.parametrize("transport", ["redis", "aether.broker:Transport"])
def test_closing_a_channel_after_the_transport_is_gone(transport):
    connection = _connection(transport)
    channel = _channel_with_an_unacked_message(connection)
    _lose_the_transport(connection)

    if transport == "redis":  # kombu's own: the AttributeError that killed the worker
        with pytest.raises(AttributeError, match="hostname"):
            ignore_errors(connection, channel.close)
    else:  # a connection error, which the consumer ignores before it reconnects
        ignore_errors(connection, channel.close)
        assert channel.closed
