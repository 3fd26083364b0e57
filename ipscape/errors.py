"""The error tree callers catch. Messages never contain credentials.

IpscapeError
├── ConfigError                 a setting is missing or malformed
├── StoreError                  the database could not be used
│   └── FencedError             a newer collector leads: this one's writes are refused
└── ApiError                    the tenant could not be used for this request
    ├── ApiConnectionError      cannot be reached
    │   └── ApiTimeoutError     no complete answer before the deadline
    ├── BudgetExhaustedError    our own request budget has no room before the deadline
    ├── ResponseFormatError     2xx, but not what we can read
    │   ├── ResponseTooLargeError   over the byte cap of its operation
    │   └── PaginationError         a listing that does not end or makes no progress
    └── ApiStatusError          an error status
        ├── AuthenticationError     401/403 with every key
        ├── NotFoundError           404
        ├── RateLimitedError        429
        ├── RedirectError           3xx (never followed: credentials stay with the tenant)
        └── ServerError             5xx
"""

from __future__ import annotations


class IpscapeError(Exception):
    """Base of every error raised by this package."""


class ConfigError(IpscapeError):
    """A setting is missing or malformed. The message names the setting, never its value."""

    def __init__(self, message: str, *, setting: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting


class StoreError(IpscapeError):
    """The database (snapshots, history, the collector lease) could not be used. The message
    says what failed in words safe to show: never the URL, a password or SQL."""


class FencedError(StoreError):
    """A write by a collector whose tenure has ended: another process holds the lease now, so
    this one's data must not overwrite its successor's."""


class ApiError(IpscapeError):
    """The tenant could not be used for this request."""

    def __init__(self, message: str, *, operation: str | None = None) -> None:
        super().__init__(message)
        self.operation = operation


class ApiConnectionError(ApiError):
    """The tenant could not be reached (DNS, refused, reset)."""


class ApiTimeoutError(ApiConnectionError):
    """The tenant did not answer within the timeout."""


class ResponseFormatError(ApiError):
    """The tenant answered 2xx but the body is not the JSON we expect (truncated, wrong shape)."""


class ResponseTooLargeError(ResponseFormatError):
    """The answer (counted after decompression) is larger than its operation accepts."""

    def __init__(self, message: str, *, operation: str | None = None, limit: int) -> None:
        super().__init__(message, operation=operation)
        self.limit = limit


class PaginationError(ResponseFormatError):
    """A listing that loops, makes no progress or passes its page or item cap.

    ``partial`` holds what a caller could safely keep of what was read (set by the caller that
    knows; the client itself leaves it None)."""

    def __init__(self, message: str, *, operation: str | None = None) -> None:
        super().__init__(message, operation=operation)
        self.partial: object = None


class BudgetExhaustedError(ApiError):
    """Our own ceiling on requests per minute has no room for this request before its deadline."""

    def __init__(
        self, message: str, *, operation: str | None = None, per_minute: float | None = None
    ) -> None:
        super().__init__(message, operation=operation)
        self.per_minute = per_minute


class ApiStatusError(ApiError):
    """The tenant answered with an error status."""

    def __init__(self, message: str, *, status_code: int, operation: str | None = None) -> None:
        super().__init__(message, operation=operation)
        self.status_code = status_code


class AuthenticationError(ApiStatusError):
    """Every configured key was refused (401/403)."""


class NotFoundError(ApiStatusError):
    """404: the campaign, activity, lead or media does not exist (or the path differs)."""


class RateLimitedError(ApiStatusError):
    """429 after retries; `retry_after_s` is the tenant's last hint, if any."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int = 429,
        operation: str | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code, operation=operation)
        self.retry_after_s = retry_after_s


class RedirectError(ApiStatusError):
    """3xx: the tenant pointed elsewhere; ``location_host`` is where (host only, no path)."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        operation: str | None = None,
        location_host: str | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code, operation=operation)
        self.location_host = location_host


class ServerError(ApiStatusError):
    """5xx after retries."""


def user_message(exc: BaseException) -> str:
    """A short, secret-free sentence for a page or a CLI, naming what to do where we can."""
    if isinstance(exc, AuthenticationError):
        return (
            "The tenant refused the API token and every configured secret key (HTTP "
            f"{exc.status_code}). Check IPSCAPE_API_TOKEN and IPSCAPE_SECRET_KEY_1/2."
        )
    if isinstance(exc, RateLimitedError):
        hint = f" (asked to wait {exc.retry_after_s:.0f} s)" if exc.retry_after_s else ""
        return f"The tenant is rate limiting us{hint}; data will refresh when it allows."
    if isinstance(exc, BudgetExhaustedError):
        return f"Request budget: {exc}; refreshing more slowly."
    if isinstance(exc, ApiTimeoutError):
        return "The tenant did not answer in time; retrying in the background."
    if isinstance(exc, ApiConnectionError):
        return "The tenant cannot be reached; check IPSCAPE_BASE_URL and the network."
    if isinstance(exc, NotFoundError):
        return f"The tenant does not know this resource (HTTP 404, {exc.operation or 'request'})."
    if isinstance(exc, RedirectError):
        where = f" to {exc.location_host}" if exc.location_host else ""
        return (
            f"The tenant redirected us{where} (HTTP {exc.status_code}); redirects are not "
            "followed. Check IPSCAPE_BASE_URL."
        )
    if isinstance(exc, ServerError):
        return f"The tenant is failing (HTTP {exc.status_code}); retrying in the background."
    if isinstance(exc, ApiStatusError):
        return f"The tenant answered HTTP {exc.status_code} ({exc.operation or 'request'})."
    if isinstance(exc, ResponseFormatError):
        return f"The tenant sent data we could not read ({exc})."
    if isinstance(exc, IpscapeError):
        return str(exc)
    return f"Unexpected error: {type(exc).__name__}."


# Kinds for operators (health and metrics labels): few, fixed, never tenant text.
_KINDS: tuple[tuple[type[BaseException], str], ...] = (
    (AuthenticationError, "auth"),
    (RateLimitedError, "rate_limited"),
    (RedirectError, "redirect"),
    (NotFoundError, "not_found"),
    (ServerError, "server"),
    (ApiStatusError, "status"),
    (ApiTimeoutError, "timeout"),
    (ApiConnectionError, "unreachable"),
    (BudgetExhaustedError, "budget"),
    (ResponseTooLargeError, "too_large"),
    (PaginationError, "pagination"),
    (ResponseFormatError, "format"),
    (ConfigError, "config"),
    (FencedError, "fenced"),
    (StoreError, "store"),
)


def error_kind(exc: BaseException) -> str:
    """A short, fixed label for what went wrong ("timeout", "auth", ...; "internal" for a bug)."""
    for kind, label in _KINDS:
        if isinstance(exc, kind):
            return label
    return "internal"
