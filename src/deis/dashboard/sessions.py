"""Session cookies and CSRF tokens.

A session is an API token issued by the users service at sign-in, sealed (encrypted and
authenticated, Fernet) with a key kept in the state directory: the browser holds it but
cannot read it, and a sealed session older than SESSION_SECONDS is refused. Signing out
revokes the token, so a copy of the cookie stops working too. CSRF tokens are HMACs of
the session's token; before sign-in, a random cookie value is echoed by the form
(double submit).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets

from cryptography.fernet import Fernet, InvalidToken

SESSION_COOKIE = "deis_session"
SIGNIN_COOKIE = "deis_signin"
SESSION_SECONDS = 12 * 60 * 60


def new_key() -> str:
    return Fernet.generate_key().decode()


class SessionCodec:
    def __init__(self, key: str | bytes) -> None:
        raw = key.encode() if isinstance(key, str) else key
        self.fernet = Fernet(raw)
        self._mac_key = hmac.new(base64.urlsafe_b64decode(raw), b"csrf", hashlib.sha256).digest()

    def seal(self, token: str) -> str:
        return self.fernet.encrypt(json.dumps({"token": token}).encode()).decode()

    def open(self, cookie: str | None) -> str | None:
        """The session's API token, or None when the cookie is absent, forged or expired."""
        if not cookie:
            return None
        try:
            data = json.loads(self.fernet.decrypt(cookie.encode(), ttl=SESSION_SECONDS))
        except (InvalidToken, ValueError):
            return None
        token = data.get("token") if isinstance(data, dict) else None
        return token if isinstance(token, str) and token else None

    def csrf_for(self, token: str) -> str:
        return hmac.new(self._mac_key, token.encode(), hashlib.sha256).hexdigest()

    def csrf_matches(self, token: str, given: str | None) -> bool:
        return bool(given) and hmac.compare_digest(self.csrf_for(token), given or "")


def new_signin_nonce() -> str:
    return secrets.token_urlsafe(24)


def nonce_matches(cookie: str | None, given: str | None) -> bool:
    return bool(cookie) and bool(given) and hmac.compare_digest(cookie or "", given or "")
