"""Test-only helpers of the split scenario's tests: certificates minted on the
controller (which holds the link CA), TLS from the vantage point, and the
remote proxy's access log. The hosts and the client are in grt_split (lib/).
"""

import contextlib
import datetime
import http.client
import json
import pathlib
import socket
import ssl
import tempfile
import time

from grt_split.hosts import on_host
from grt_split.scenario import REMOTE

# --- certificates (the controller holds the CA) ----------------------------------------------------

def load_ca(pki_dir, passphrase):
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    pki_dir = pathlib.Path(pki_dir).expanduser()
    cert = x509.load_pem_x509_certificate((pki_dir / "ca.crt").read_bytes())
    key = serialization.load_pem_private_key((pki_dir / "ca.key").read_bytes(), passphrase.encode())
    return cert, key


def new_ca(subject):
    """A throwaway self-signed CA (an attacker's) named `subject` (x509.Name or a CN), as (cert, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = subject if isinstance(subject, x509.Name) else x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    return cert, key


def mint_client(ca_cert, ca_key, common_name, directory, stem, not_before=None, not_after=None):
    """A client certificate (EKU clientAuth) signed by the CA, written as <directory>/<stem>.{crt,key}.

    Returns (cert_path, key_path). The key never leaves the controller's temporary directory.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    not_before = not_before or now - datetime.timedelta(minutes=5)
    not_after = not_after or now + datetime.timedelta(days=1)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    directory = pathlib.Path(directory)
    cert_path, key_path = directory / f"{stem}.crt", directory / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.touch(mode=0o600)
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


def private_dir():
    """A 0700 temporary directory on the controller for minted keys."""
    return tempfile.TemporaryDirectory(prefix="grt-split-")


# --- TLS from the vantage point ------------------------------------------------------------------

class Refused(Exception):
    """The TLS connection or the first exchange on it failed (no HTTP answer)."""


def tls_context(ca_file, cert=None, key=None, max_version=None):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(ca_file)
    context.check_hostname = True
    if cert:
        context.load_cert_chain(cert, key)
    if max_version is not None:
        context.maximum_version = max_version
    return context


def https_request(ip, port, server_name, context, method="GET", path="/chat/models", token=None, body=None,
                  timeout=30):
    """One request over TLS to ip:port verifying server_name -> (status, headers, body text, peer cert DER).

    Raises Refused when no HTTP answer came (handshake failure, TLS alert, reset, EOF).
    """
    headers = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    try:
        raw = socket.create_connection((ip, port), timeout=timeout)
        sock = context.wrap_socket(raw, server_hostname=server_name)
    except (ssl.SSLError, OSError) as error:
        raise Refused(f"handshake: {type(error).__name__}: {error}") from error
    peer = sock.getpeercert(binary_form=True)
    conn = http.client.HTTPSConnection(server_name, port, timeout=timeout, context=context)
    conn.sock = sock
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        return response.status, dict(response.headers), text, peer
    except (ssl.SSLError, OSError, http.client.HTTPException) as error:
        raise Refused(f"after the handshake: {type(error).__name__}: {error}") from error
    finally:
        conn.close()


def serial_of(der):
    from cryptography import x509

    return x509.load_der_x509_certificate(der).serial_number


# --- the remote proxy's access log --------------------------------------------------------------------

# The link proxies write their access log in batches at least once a second (access_log ... flush=1s).
LOG_FLUSH_SECONDS = 1.2


def link_log_dir():
    """Where both link proxies write their access logs on the host (grt_common_link_log_dir)."""
    from grt_testinfra import PROJECT_DIR
    import yaml

    return yaml.safe_load((PROJECT_DIR / "roles/grt_common/vars/main.yml").read_text())["grt_common_link_log_dir"]


def access_log(host=REMOTE):
    """A link proxy's current JSON access log lines (other lines ignored) and the raw text, once the requests
    made before the call have been flushed to it: by default the remote proxy's."""
    time.sleep(LOG_FLUSH_SECONDS)
    result = on_host(host, "cat", f"{link_log_dir()}/access.log")
    text = result.stdout
    entries = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                entries.append(json.loads(line))
    return entries, text


def entry_value(entry, word):
    """The value of the first key of an access log entry containing `word` (e.g. serial, addr, uri)."""
    for key, value in entry.items():
        if word in key.lower():
            return value
    return None
