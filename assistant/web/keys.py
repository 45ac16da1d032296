"""API keys: who may call the HTTP API, and whether they may change the document library.

Two sources, both optional, read once when the server starts:

- `ASSISTANT_API_KEYS`: keys separated by commas. `KEY` may ask and list documents (read);
  `KEY:write` may also add and remove documents.
- `ASSISTANT_API_KEYS_FILE`: a file of SHA-256 hashes of keys (so the file does not hold the keys),
  one a line: `HEX` or `HEX write`; blank lines and `#` comments are skipped. The hash of a key:
  `printf %s "$KEY" | sha256sum`.

Only hashes are kept in memory; a presented key is hashed and compared with every stored hash in
constant time (`hmac.compare_digest`, no early exit), and no key or hash is ever logged or said.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from starlette.requests import Request

from assistant.config import Settings
from assistant.web.errors import ApiError
from assistant.web.library import is_local

__all__ = ["Access", "Keyring", "Rights", "load_keyring"]

Rights = Literal["read", "write"]
_HASH = re.compile(r"(?:sha256:)?([0-9a-fA-F]{64})")


@dataclass(frozen=True)
class Keyring:
    """The SHA-256 digests of the accepted keys with the rights of each."""

    keys: tuple[tuple[bytes, Rights], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.keys)

    def rights(self, presented: str) -> Rights | None:
        """The rights of `presented` (None: not a key). Every stored digest is compared, whichever matches."""
        digest = hashlib.sha256(presented.encode("utf-8", "surrogateescape")).digest()
        found: Rights | None = None
        for stored, rights in self.keys:
            if hmac.compare_digest(digest, stored) and found != "write":
                found = rights
        return found


def load_keyring(settings: Settings) -> Keyring:
    """The keys of `api_keys` and of the `api_keys_file`. Raises ValueError naming the file and line of a
    malformed entry (never the entry itself)."""
    keys: list[tuple[bytes, Rights]] = []
    for entry in settings.api_keys:
        key, rights = _split(entry)
        keys.append((hashlib.sha256(key.encode("utf-8", "surrogateescape")).digest(), rights))
    if settings.api_keys_file:
        path = Path(settings.api_keys_file).expanduser()
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot read the API keys file {path}: {getattr(exc, 'strerror', None) or exc}") from None
        for n, line in enumerate(lines, 1):
            words = line.split("#", 1)[0].split()
            if not words:
                continue
            match = _HASH.fullmatch(words[0])
            if match is None or len(words) > 2 or (len(words) == 2 and words[1] not in ("read", "write")):
                raise ValueError(f"{path} line {n}: expected a SHA-256 hash (64 hex digits), then optionally write")
            rights: Rights = "write" if words[1:] == ["write"] else "read"
            keys.append((bytes.fromhex(match.group(1)), rights))
    return Keyring(tuple(keys))


def _split(entry: str) -> tuple[str, Rights]:
    """`KEY` or `KEY:write` (or `KEY:read`) as (key, rights)."""
    for rights in ("write", "read"):
        if entry.endswith(":" + rights):
            return entry[: -len(rights) - 1], rights  # type: ignore[return-value]
    return entry, "read"


MISSING = "需要 API 密钥：请在请求头加上 Authorization: Bearer <密钥>。"
INVALID = "API 密钥无效。"
READ_ONLY = "这个 API 密钥只能提问和查看文档，不能修改文档库（需要带 :write 的密钥）。"
LOCAL_ONLY = "没有设置 API 密钥时只接受本机（127.0.0.1）的请求；请管理员设置 ASSISTANT_API_KEYS。"


class Access:
    """Who may call the API, the library panel's rule carried over to HTTP:

    - keys configured: `Authorization: Bearer KEY` on every call (401 without or with a wrong one); a read key
      may not change the library (403). With a web login configured, `Authorization: Basic` with that login
      is accepted too, with the rights of a logged-in page user (asking and changing);
    - a web login but no keys: that login, by HTTP Basic;
    - neither: only callers on this machine (loopback), who may also change the library, as on the page.
    """

    def __init__(self, settings: Settings, keyring: Keyring) -> None:
        self.settings, self.keyring = settings, keyring
        challenges = (["Bearer"] if keyring else []) + (['Basic realm="assistant"'] if settings.username else [])
        self._challenge = {"WWW-Authenticate": ", ".join(challenges)} if challenges else {}

    def check(self, request: Request, need: Rights) -> None:
        """Raises ApiError (401/403) unless `request` may do what `need` says."""
        if not self._challenge:
            # The connection's peer address as the server sees it, never a forwarded-for header.
            if not is_local(request.client.host if request.client else None):
                raise ApiError(403, "local_only", LOCAL_ONLY)
            return
        header = request.headers.get("authorization", "")
        if not header.strip():
            raise ApiError(401, "missing_key", MISSING, self._challenge)
        scheme, _, credentials = header.strip().partition(" ")
        rights: Rights | None = None
        if scheme.lower() == "bearer" and self.keyring:
            rights = self.keyring.rights(credentials.strip())
        elif scheme.lower() == "basic" and self.settings.username:
            rights = "write" if self._login(credentials.strip()) else None
        if rights is None:
            raise ApiError(401, "invalid_key", INVALID, self._challenge)
        if need == "write" and rights != "write":
            raise ApiError(403, "read_only_key", READ_ONLY)

    def _login(self, credentials: str) -> bool:
        try:
            user, _, password = base64.b64decode(credentials, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        # Both compared whatever the first gives: the time taken says nothing about which was wrong.
        same_user = hmac.compare_digest(user.encode(), self.settings.username.encode())
        same_password = hmac.compare_digest(password.encode(), self.settings.password.encode())
        return same_user and same_password
