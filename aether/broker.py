"""Celery's Redis transport (kombu's), with one fix: a channel closed after its transport lost Redis raises a
connection error, not an AttributeError that kills the worker.

When Redis goes away, the worker's consumer releases its connection (ignoring connection errors) and reconnects.
Releasing closes the channel, and closing it first puts its unacknowledged messages back, which needs a Redis
client; kombu builds one from the transport's connection details, but the transport has already dropped them
(`client` is None), so kombu raised AttributeError, which nothing ignores: "Unrecoverable error", the worker
process exited (the fault run saw it once in four Redis kills). Raising redis' ConnectionError instead lets the
consumer go on reconnecting as it does for any lost connection. The messages it could not put back stay in
Redis' unacknowledged set, which kombu restores after the visibility timeout; the outbox sweep does not wait for
them (docs/faults.md).

Selected by CELERY_BROKER_TRANSPORT in settings; the URL stays REDIS_URL.
"""

from kombu.transport import redis as kombu_redis
from redis.exceptions import ConnectionError as RedisConnectionError


class Channel(kombu_redis.Channel):
    def _connparams(self, asynchronous=False):
        if self.connection.client is None:
            raise RedisConnectionError("The broker connection is closed; the consumer reconnects.")
        return super()._connparams(asynchronous=asynchronous)


class Transport(kombu_redis.Transport):
    Channel = Channel
