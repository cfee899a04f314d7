"""A certificate authority and a server certificate for 127.0.0.1, made for one test run with `cryptography`, so the
SMTP client's TLS is tested for real: the client trusts the authority's PEM file (SURVEYBOT_SMTP_CA_FILE), exactly as a
deployment trusts its own relay's internal authority."""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Certificates carry dates, and CI also runs tests with the clock a year on (faketime): valid long either side.
START, LIFETIME = datetime(2020, 1, 1, tzinfo=UTC), timedelta(days=365 * 30)


@dataclass(frozen=True)
class Certificates:
    ca_file: Path  # the authority's certificate (PEM): what a client trusts
    cert_file: Path  # the server's certificate chain and key (PEM)
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_certificates(folder: Path, host: str = "127.0.0.1", names: tuple[str, ...] = ()) -> Certificates:
    """An authority, and a certificate for `host` (an IP address) and any host `names` it signed, written to
    `folder`."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_public = ca_key.public_key()
    ca = (x509.CertificateBuilder().subject_name(_name("surveybot test CA")).issuer_name(_name("surveybot test CA"))
          .public_key(ca_public).serial_number(x509.random_serial_number())
          .not_valid_before(START).not_valid_after(START + LIFETIME)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_public), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    server = (x509.CertificateBuilder().subject_name(_name(host)).issuer_name(ca.subject)
              .public_key(key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(START).not_valid_after(START + LIFETIME)
              .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host)),
                                                          *(x509.DNSName(name) for name in names)]), critical=False)
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_public), critical=False)
              .sign(ca_key, hashes.SHA256()))
    found = Certificates(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    found.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    found.cert_file.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    found.key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption()))
    return found
