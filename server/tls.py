"""``hinge serve --https``: a self-signed certificate for this machine's LAN address (browsers only give motion
sensors to secure pages), kept in ``DATA_DIR/tls/`` and made again when the address changes or it expires."""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

TLS_DIRNAME = "tls"
VALID_DAYS = 365
RENEW_BEFORE_DAYS = 7


def lan_address() -> str:
    """The address other devices on the network reach this machine at (127.0.0.1 when there is no network).

    Connecting a UDP socket sends nothing; it only asks the kernel which interface would route outwards."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed anywhere
            return probe.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def self_signed_certificate(data_dir: Path, address: str) -> tuple[Path, Path]:
    """Return (certificate, key) PEM paths valid for ``address``, 127.0.0.1 and localhost, made if needed."""
    directory = Path(data_dir) / TLS_DIRNAME
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    if cert_path.is_file() and key_path.is_file() and _still_good(cert_path, address):
        return cert_path, key_path
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"hinge at {address}")])
    now = datetime.datetime.now(datetime.UTC)
    addresses = sorted({address, "127.0.0.1"})
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), *(x509.IPAddress(ipaddress.ip_address(a)) for a in addresses)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def _still_good(cert_path: Path, address: str) -> bool:
    certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    covered = ipaddress.ip_address(address) in names.get_values_for_type(x509.IPAddress)
    remaining = certificate.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
    return covered and remaining > datetime.timedelta(days=RENEW_BEFORE_DAYS)
