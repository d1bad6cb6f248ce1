"""OAuth for the fake: service-account registry, the ``jwt-bearer`` token endpoint
(RS256 assertions verified against the registered public key), bearer tokens with
expiry, and per-user per-minute quotas."""
from __future__ import annotations

import base64
import json
import secrets
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .models import SheetsError

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
REFRESH = "refresh_token"


class OAuthError(Exception):
    """Token endpoint failure, answered as OAuth does: {"error", "error_description"}."""

    def __init__(self, error: str, description: str, code: int = 400):
        self.error, self.description, self.code = error, description, code
        super().__init__(description)

    def body(self):
        return {"error": self.error, "error_description": self.description}


def _b64d(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def generate_key():
    """A fresh RSA key and its PEM (PKCS#8), as in a downloaded key file."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    return key, pem


class Auth:
    def __init__(self, token_ttl: int = 3600, clock=time.time):
        self.token_ttl = token_ttl
        self.clock = clock
        self.reset()

    def reset(self):
        self.accounts: dict[str, dict] = {}  # email -> {"public_key", "key_id"}
        self.tokens: dict[str, tuple[str, float]] = {}  # token -> (email, expiry)
        self.refresh_tokens: dict[str, dict] = {}  # refresh token -> {"email", "client_id", "client_secret"}
        self.read_quota: int | None = None
        self.write_quota: int | None = None
        self.usage: dict[tuple[str, str, int], int] = {}

    # ------------------------------------------------------------ accounts

    def register(self, email: str, public_key, key_id: str | None = None) -> str:
        key_id = key_id or secrets.token_hex(20)
        if isinstance(public_key, (str, bytes)):
            public_key = serialization.load_pem_public_key(public_key.encode() if isinstance(public_key, str) else public_key)
        self.accounts[email] = {"public_key": public_key, "key_id": key_id}
        return key_id

    def issue_token(self, email: str, ttl: int | None = None) -> str:
        tok = "ya29.fake-" + secrets.token_urlsafe(32)
        self.tokens[tok] = (email, self.clock() + (ttl if ttl is not None else self.token_ttl))
        return tok

    def user(self, email: str) -> dict:
        """An OAuth client and a refresh token for a person (the `authorized_user` flow)."""
        entry = {"email": email, "client_id": f"{secrets.randbelow(10**12)}-fake.apps.googleusercontent.com",
                 "client_secret": "GOCSPX-" + secrets.token_urlsafe(18)}
        refresh = "1//fake-" + secrets.token_urlsafe(32)
        self.refresh_tokens[refresh] = entry
        return dict(entry, refresh_token=refresh)

    # ------------------------------------------------------------ token endpoint

    def exchange(self, form: dict, token_uri: str) -> dict:
        grant = form.get("grant_type")
        if grant == REFRESH:
            return self._refresh(form)
        if grant != JWT_BEARER:
            raise OAuthError("unsupported_grant_type", f"Invalid grant_type: {grant}")
        assertion = form.get("assertion") or ""
        parts = assertion.split(".")
        if len(parts) != 3:
            raise OAuthError("invalid_request", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.")
        try:
            header = json.loads(_b64d(parts[0]))
            claims = json.loads(_b64d(parts[1]))
            sig = _b64d(parts[2])
        except (ValueError, json.JSONDecodeError):
            raise OAuthError("invalid_request", "Invalid JWT: could not decode the assertion.") from None
        if header.get("alg") != "RS256":
            raise OAuthError("invalid_grant", "Invalid JWT Signature.")
        email = claims.get("iss")
        acct = self.accounts.get(email)
        if acct is None:
            raise OAuthError("invalid_grant", "Invalid grant: account not found")
        try:
            acct["public_key"].verify(sig, (parts[0] + "." + parts[1]).encode(), padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise OAuthError("invalid_grant", "Invalid JWT Signature.") from None
        now = self.clock()
        iat, exp = claims.get("iat", 0), claims.get("exp", 0)
        if exp < now - 60 or iat > now + 300 or exp - iat > 3600 + 60:
            raise OAuthError("invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.")
        aud = claims.get("aud")
        if aud not in (token_uri, token_uri.rstrip("/"), "https://oauth2.googleapis.com/token"):
            raise OAuthError("invalid_grant", "Invalid JWT: Failed audience check.")
        if not claims.get("scope") and not claims.get("target_audience"):
            raise OAuthError("invalid_scope", "Invalid OAuth scope or ID token audience provided.")
        tok = self.issue_token(email)
        return {"access_token": tok, "expires_in": self.token_ttl, "token_type": "Bearer"}

    def _refresh(self, form: dict) -> dict:
        """Google's refresh-token grant: the client must match the one the token was
        issued to; a revoked or unknown token is `invalid_grant`."""
        entry = self.refresh_tokens.get(form.get("refresh_token") or "")
        if entry is None:
            raise OAuthError("invalid_grant", "Token has been expired or revoked.")
        if form.get("client_id") != entry["client_id"] or form.get("client_secret") != entry["client_secret"]:
            raise OAuthError("invalid_client", "The OAuth client was not found.", 401)
        tok = self.issue_token(entry["email"])
        return {"access_token": tok, "expires_in": self.token_ttl, "scope": form.get("scope") or "https://www.googleapis.com/auth/spreadsheets",
                "token_type": "Bearer"}

    def revoke(self, refresh_token: str) -> None:
        self.refresh_tokens.pop(refresh_token, None)

    # ------------------------------------------------------------ API calls

    def authenticate(self, header: str | None) -> str:
        if not header or not header.startswith("Bearer "):
            raise SheetsError(401, "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.")
        entry = self.tokens.get(header[7:].strip())
        if entry is None or entry[1] < self.clock():
            raise SheetsError(401)
        return entry[0]

    def set_quota(self, read_per_minute: int | None, write_per_minute: int | None):
        self.read_quota, self.write_quota = read_per_minute, write_per_minute
        self.usage.clear()

    def charge(self, email: str, kind: str):
        """Count one request; 429 with Google's body when the minute's quota is spent."""
        limit = self.read_quota if kind == "read" else self.write_quota
        if limit is None:
            return
        minute = int(self.clock() // 60)
        key = (email, kind, minute)
        used = self.usage.get(key, 0)
        if used >= limit:
            metric = "Read requests" if kind == "read" else "Write requests"
            quota_limit = "ReadRequestsPerMinutePerUser" if kind == "read" else "WriteRequestsPerMinutePerUser"
            raise SheetsError(
                429,
                f"Quota exceeded for quota metric '{metric}' and limit '{metric} per minute per user' of service 'sheets.googleapis.com' for consumer 'project_number:000000000000'.",
                details=[
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "RATE_LIMIT_EXCEEDED",
                        "domain": "googleapis.com",
                        "metadata": {
                            "quota_location": "global",
                            "quota_metric": f"sheets.googleapis.com/{kind}_requests",
                            "quota_limit": quota_limit,
                            "quota_limit_value": str(limit),
                            "consumer": "projects/000000000000",
                            "service": "sheets.googleapis.com",
                        },
                    },
                    {"@type": "type.googleapis.com/google.rpc.Help", "links": [{"description": "Request a higher quota limit.", "url": "https://cloud.google.com/docs/quota#requesting_higher_quota"}]},
                ],
            )
        self.usage[key] = used + 1
