"""Cache of the CTFd stand-in: Redis when REDIS_URL is set (as CTFd), else a
per-process dict (CTFd would use a filesystem cache; fine for one worker).
Holds the server-side sessions, rate-limit counters and the health probe."""
import threading
import time

import redis


class MemoryCache:
    def __init__(self):
        self._data = {}
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            item = self._data.get(key)
            if item is None:
                return None
            value, expires = item
            if expires and expires < time.time():
                del self._data[key]
                return None
            return value

    def set(self, key, value, timeout=None):
        with self._lock:
            self._data[key] = (str(value), time.time() + timeout if timeout else None)

    def delete(self, key):
        with self._lock:
            self._data.pop(key, None)


class RedisCache:
    def __init__(self, url):
        self.client = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=10,
                                           decode_responses=True)

    def get(self, key):
        return self.client.get(key)

    def set(self, key, value, timeout=None):
        self.client.set(key, value, ex=timeout or None)

    def delete(self, key):
        self.client.delete(key)


class Cache:
    backend = None

    def init_app(self, app):
        url = app.config.get("REDIS_URL")
        self.backend = RedisCache(url) if url else MemoryCache()

    def get(self, key):
        return self.backend.get("ctfd_" + key)

    def set(self, key, value, timeout=None):
        return self.backend.set("ctfd_" + key, value, timeout)

    def delete(self, key):
        return self.backend.delete("ctfd_" + key)


cache = Cache()
