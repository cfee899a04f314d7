"""The Ed25519 key that signs evidence packs, and the fingerprint people compare to trust it.

The private key is a setting, SURVEYBOT_SIGNING_KEY: a PEM private key, or base64 of the raw 32-byte key (what
`surveybot keys signing-new` prints, one line that fits in .env). Like the pepper, it is never stored in the
database and never logged. In production it must be set; the embedded default generates one into the data folder
(mode 0600) on first use, so development needs no setup.

The fingerprint is the SHA-256 of the raw 32-byte public key, in hex groups of four: the partnership publishes it
(on its website, in its annual report), and a scrutineer compares it with the one the pack's verifier prints.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from bot.config import Settings, SettingsError
from storage.files import create_owner_only

SETTING = "SURVEYBOT_SIGNING_KEY"
KEY_FILE = "signing-key.pem"


def fingerprint(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    digest = hashlib.sha256(raw).hexdigest()
    return " ".join(digest[i:i + 4] for i in range(0, len(digest), 4))


def public_pem(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def parse_private(text: str, where: str = SETTING) -> Ed25519PrivateKey:
    """A PEM private key or base64 of the raw 32 bytes; the error names `where`, never the value."""
    value = text.strip()
    try:
        if value.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(value.replace("\\n", "\n").encode(), password=None)
        else:
            raw = base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_" if "-" in value or "_" in value
                                   else None, validate=True)
            if len(raw) != 32:
                raise ValueError("not 32 bytes")
            key = Ed25519PrivateKey.from_private_bytes(raw)
    except (ValueError, TypeError, binascii.Error):
        raise SettingsError(f"{where} is not an Ed25519 private key (PEM, or base64 of its 32 bytes; "
                            "`surveybot keys signing-new` makes one)") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SettingsError(f"{where} is a private key, but not an Ed25519 one")
    return key


def new_key_pair() -> tuple[str, str, str]:
    """A new key: (the setting's value, the public key as PEM, its fingerprint)."""
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                            serialization.NoEncryption())
    return base64.b64encode(raw).decode(), public_pem(key.public_key()).decode(), fingerprint(key.public_key())


def signing_new() -> str:
    """What `surveybot keys signing-new` prints: lines that can go straight into .env, the key pair's public half
    as comments, and the fingerprint to publish."""
    private, public, print_ = new_key_pair()
    commented = "\n".join(f"# {line}" for line in public.strip().splitlines())
    return (f"# A new Ed25519 key for signing evidence packs. Keep the next line secret: put it in .env or your\n"
            f"# secret store, never in the database, a ticket or a chat.\n{SETTING}={private}\n"
            f"# Its public key (every pack carries it too):\n{commented}\n"
            f"# Fingerprint, to publish so people can check packs: {print_}")


def signing_key(settings: Settings) -> tuple[Ed25519PrivateKey, str | None]:
    """The key from the setting; in development, else one kept in the data folder (made on first use, with a note
    to show). Production refuses to sign without the setting: a generated key nobody published proves nothing."""
    if settings.signing_key:
        return parse_private(settings.signing_key), None
    if settings.production:
        raise SettingsError(f"{SETTING} is not set; production needs a signing key for evidence packs "
                            "(`surveybot keys signing-new` makes one; see deploy/.env.example)")
    path = settings.data_dir / KEY_FILE
    note = None
    try:
        if not path.exists():
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            key = Ed25519PrivateKey.generate()
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
            with contextlib.suppress(FileExistsError):  # another process made it first: use theirs
                create_owner_only(path, pem, exclusive=True)
            note = (f"Created a signing key for evidence packs at {path} (fingerprint {fingerprint(key.public_key())})."
                    f" Publish the fingerprint, and keep the key with the pepper; set {SETTING} in production.")
        return parse_private(path.read_text(), str(path)), note
    except OSError as exc:
        raise SettingsError(f"cannot create or read the signing key file {path}: {exc.strerror}") from None
