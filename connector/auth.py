"""Log-in: hashed passwords (Argon2 via pwdlib) and signed, expiring tokens (JWT via PyJWT).

The token key is 32 random bytes generated into the connector's folder at first start, owner
only; a token names its connector (`iss`), so one organisation's token is refused by another's.
"""

from __future__ import annotations

import os
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
from pwdlib import PasswordHash

_HASHER = PasswordHash.recommended()
_ALGORITHM = "HS256"
_VERIFIED = 4096


class TokenRejected(Exception):
    """The token is missing, malformed, expired, or not this connector's."""


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password: str, hashed: str) -> bool:
    try:
        return bool(_HASHER.verify(password, hashed))
    except Exception:  # a damaged hash is a failed log-in, never a 500
        return False


# Verifying an unknown user still costs one hash, so timing does not tell who exists.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def burn_time(password: str) -> None:
    verify_password(password, _DUMMY_HASH)


def private_file(path: Path, data: bytes) -> None:
    """Write a file only its owner can read, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(tmp, path)


def token_key(folder: Path) -> bytes:
    path = folder / "token.key"
    if not path.exists():
        private_file(path, secrets.token_bytes(32))
    return path.read_bytes()


@dataclass(frozen=True)
class Claims:
    username: str
    access: str
    expires: datetime


class Tokens:
    def __init__(self, key: bytes, issuer: str, minutes: int) -> None:
        self._key = key
        self.issuer = issuer
        self.minutes = minutes
        # tokens already verified, until they expire: a client sends the same one every time
        self._verified: dict[str, Claims] = {}

    def issue(self, username: str, access: str) -> tuple[str, datetime]:
        now = datetime.now(UTC)
        expires = now + timedelta(minutes=self.minutes)
        claims = {
            "sub": username,
            "access": access,
            "iss": self.issuer,
            "iat": now,
            "exp": expires,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._key, algorithm=_ALGORITHM), expires

    def check(self, token: str) -> Claims:
        known = self._verified.get(token)
        if known is not None:
            if known.expires > datetime.now(UTC):
                return known
            self._verified.pop(token, None)
            raise TokenRejected("the session has expired; log in again")
        claims = self._verify(token)
        if len(self._verified) >= _VERIFIED:
            self._verified.pop(next(iter(self._verified)))
        self._verified[token] = claims
        return claims

    def _verify(self, token: str) -> Claims:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[_ALGORITHM],
                issuer=self.issuer,
                options={"require": ["sub", "exp", "iss", "access"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRejected("the session has expired; log in again") from None
        except jwt.PyJWTError:
            raise TokenRejected("the token is not valid for this connector; log in again") from None
        return Claims(
            str(claims["sub"]), str(claims["access"]), datetime.fromtimestamp(claims["exp"], UTC)
        )
