"""Reading settings from the environment (12-factor).

A setting without a default is required: a missing one stops start-up with its name,
rather than letting production run on a development value.
"""

import os

from django.core.exceptions import ImproperlyConfigured

_REQUIRED = object()


def env_str(name: str, default: object = _REQUIRED) -> str:
    value = os.environ.get(name)
    if value is None or value == "":
        if default is _REQUIRED:
            raise ImproperlyConfigured(f"The environment variable {name} must be set.")
        return str(default)
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}.")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from exc


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


CACHE_SCHEMES = {
    "locmem": "django.core.cache.backends.locmem.LocMemCache",
    "db": "django.core.cache.backends.db.DatabaseCache",
    "file": "django.core.cache.backends.filebased.FileBasedCache",
    "redis": "contactpoint.api.cache.RedisCache",
    "rediss": "contactpoint.api.cache.RedisCache",
}


def cache_from_url(url: str) -> dict[str, str]:
    """A CACHES entry from a URL: locmem:// (one process), db://TABLE (the database every process
    shares), file:///PATH (one machine), redis://HOST:PORT/DB or rediss:// (needs the redis package).

    API rate limits count in this cache, so a limit holds across processes only when it is shared.
    """
    scheme, separator, rest = url.partition("://")
    if not separator or scheme not in CACHE_SCHEMES:
        raise ImproperlyConfigured(
            f"CACHE_URL must start with one of {', '.join(s + '://' for s in CACHE_SCHEMES)}, not {url!r}."
        )
    if scheme == "db" and not rest.isidentifier():
        raise ImproperlyConfigured(
            f"CACHE_URL db://TABLE needs a table name (letters, digits, _), not {rest!r}."
        )
    if scheme == "file" and not rest.startswith("/"):
        raise ImproperlyConfigured(f"CACHE_URL file:// needs an absolute path, not {rest!r}.")
    location = url if scheme.startswith("redis") else rest
    return {"BACKEND": CACHE_SCHEMES[scheme], "LOCATION": location}


def shared_cache_from_url(url: str) -> dict[str, str]:
    """cache_from_url for production: a cache one process keeps to itself would let each process
    grant a token its full rate limit, so locmem:// stops start-up instead of starting quietly."""
    if url.partition("://")[0] == "locmem":
        raise ImproperlyConfigured(
            "CACHE_URL locmem:// keeps counts in one process; production needs a cache every process "
            "shares: redis://HOST:6379/0 (or rediss://), or db://TABLE."
        )
    return cache_from_url(url)
