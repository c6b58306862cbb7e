"""Masking of credentials in text that may reach users or logs.

ZStack echoes request fragments in error details, and the logout URL carries the session id, so every
string built from server answers or URLs goes through a `Redactor` that knows the client's secrets.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

MASK = "***"
# The account password travels only as its SHA-512 hash and the access-key secret only as an HMAC, so
# ZStack's answers cannot echo them. They are masked anyway when long enough to be distinctive; masking a
# short one would turn ordinary words into `***` (a password `wrong` in "wrong account name or password").
MIN_UNSENT_SECRET_LENGTH = 8

_SESSION_PATH = re.compile(r"(/accounts/sessions/)[^/?#\s\"']+")
# Authorization values: AccessKey signatures are not known secrets, but replayable for a while.
_AUTHORIZATION = re.compile(r"\b(OAuth|ZStack) [A-Za-z0-9_-]+:[A-Za-z0-9+/=]+|\b(OAuth) [A-Za-z0-9_-]+")


class Redactor:
    """Replaces known secrets with `***`.

    `sent` secrets (password hashes, session ids) go over the wire and are always masked; `unsent` ones
    (the plain password, the access-key secret) only from `MIN_UNSENT_SECRET_LENGTH` characters.
    """

    def __init__(self, *sent: str, unsent: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: tuple[str, ...] = ()
        for secret in sent:
            self.add(secret)
        for secret in unsent:
            if len(secret) >= MIN_UNSENT_SECRET_LENGTH:
                self.add(secret)

    def add(self, secret: str) -> None:
        if not secret:
            return
        with self._lock:
            # Longest first, so a secret that contains another one is masked whole.
            self._secrets = tuple(sorted({*self._secrets, secret}, key=len, reverse=True))

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        text = _AUTHORIZATION.sub(lambda m: f"{m.group(1) or m.group(2)} {MASK}", text)
        return _SESSION_PATH.sub(rf"\g<1>{MASK}", text)


class _SessionPathFilter(logging.Filter):
    """Masks session ids in URLs that httpx logs at INFO (the logout call puts one in the path)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = _SESSION_PATH.sub(rf"\g<1>{MASK}", message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


_filter_lock = threading.Lock()


def install_httpx_log_filter() -> None:
    """Attach the session-path filter to the `httpx` logger once per process."""
    logger = logging.getLogger("httpx")
    with _filter_lock:
        if not any(isinstance(f, _SessionPathFilter) for f in logger.filters):
            logger.addFilter(_SessionPathFilter())
