"""Django's Redis cache backend, with one redis-py client per connection pool instead of one per operation.

`django.core.cache.backends.redis.RedisCacheClient.get_client` builds a new `redis.Redis` around the pool on
every call, and building one fills its table of ~250 response callbacks: about 0.1 ms, five times in an API
request (the rate limit, the sign-out denylist, the generations). A redis-py
client is safe to share (each command takes a connection from the pool), and Django already gives every
thread its own cache backend instance, so keeping the client with its pool changes nothing else.
"""

from django.core.cache.backends import redis as django_redis


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient

    def incr_and_get(self, key: str, other_key: str, *, timeout: int) -> tuple[int, int]:
        """Add one to the counter `key`, let it live `timeout` seconds, and read the counter `other_key`, in one
        round trip (the API's rate limits, aether/api.py). The counters are plain integers, as Django's
        serializer stores them, so `get` reads them too."""
        key, other_key = self.make_and_validate_key(key), self.make_and_validate_key(other_key)
        pipe = self._cache.get_client(key, write=True).pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, timeout)
        pipe.get(other_key)
        current, _, other = pipe.execute()
        return int(current), int(other or 0)

    # --- raw values: generations and the account projection (aether/generations.py, accounts/auth_projection.py)
    # are short ASCII strings stored as they are (no pickle), so that a value is readable for what it is.

    _GET_OR_SET = """
    local n = tonumber(ARGV[1])
    local out = {}
    for i, key in ipairs(KEYS) do
      if i <= n then redis.call('SET', key, ARGV[i + 2], 'NX', 'EX', ARGV[2]) end
      out[i] = redis.call('GET', key)
    end
    return out
    """

    def get_or_set_and_get(self, keys, candidates, plain, *, timeout: int) -> list[bytes | None]:
        """One round trip: each of `keys` set to its candidate unless it has a value (living `timeout` seconds),
        then the values of `keys` and of the keys `plain`, as bytes (None where unset)."""
        names = [self.make_and_validate_key(k) for k in [*keys, *plain]]
        client = self._cache.get_client(names[0] if names else None, write=True)
        script = self.__dict__.get("_get_or_set_script")
        if script is None or script.registered_client is not client:
            script = self.__dict__["_get_or_set_script"] = client.register_script(self._GET_OR_SET)
        found = script(keys=names, args=[len(keys), timeout, *candidates], client=client)
        return [None if value is None else bytes(value) for value in found]

    def set_raw_many(self, mapping: dict[str, str], *, timeout: int) -> None:
        """SET each key to its value as it is, each living `timeout` seconds, in one round trip."""
        pipe = self._cache.get_client(None, write=True).pipeline(transaction=False)
        for key, value in mapping.items():
            pipe.set(self.make_and_validate_key(key), value, ex=timeout)
        pipe.execute()

    # --- live pages (aether/live/publish.py): an event id and its message in one step

    _INCR_AND_PUBLISH = """
    local id = redis.call('INCR', KEYS[1])
    redis.call('PUBLISH', ARGV[1], '{"id":' .. id .. ',"events":' .. ARGV[2] .. '}')
    return id
    """

    def incr_and_publish(self, counter: str, channel: str, events_json: str) -> int:
        """Add one to the counter `counter` (a plain integer, so `get` reads it too) and publish
        `{"id": <that number>, "events": <events_json>}` on the pub/sub `channel`, in one round trip: ids are
        given in the order the messages are published. Returns the id."""
        key = self.make_and_validate_key(counter)
        client = self._cache.get_client(key, write=True)
        script = self.__dict__.get("_incr_and_publish_script")
        if script is None or script.registered_client is not client:
            script = self.__dict__["_incr_and_publish_script"] = client.register_script(self._INCR_AND_PUBLISH)
        return int(script(keys=[key], args=[channel, events_json], client=client))
