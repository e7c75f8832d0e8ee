"""grt_common's certificate filters: a certificate read back on the controller and judged against what the roles'
request and signing would leave (front_proxy's self-signed certificate, link_pki's link certificates and CA).
Each test changes one thing the judgement looks at; the certificate must then be made anew."""

import datetime
import importlib.util
import ipaddress
import pathlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROOT = pathlib.Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location(
    "grt_common_filters", ROOT / "roles" / "grt_common" / "filter_plugins" / "grt_common.py")
filters = importlib.util.module_from_spec(spec)
spec.loader.exec_module(filters)

NOW = datetime.datetime.now(datetime.timezone.utc)
SANS = ["DNS:grt-cloud", "IP:2001:db8:0:0:0:0:0:1"]


def key_and_fingerprint():
    key = ec.generate_private_key(ec.SECP256R1())
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(der)
    # As openssl_privatekey returns it: colon-separated hex.
    return key, {"fingerprint": {"sha256": ":".join(f"{b:02x}" for b in digest.finalize())}}


def name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make(key, *, signer=None, issuer="grt-link-ca", cn="grt-cloud", sans=("grt-cloud", "2001:db8::1"),
         days=90, usage=ExtendedKeyUsageOID.SERVER_AUTH, ca=False, critical=True):
    signer = signer or key
    entries = [x509.IPAddress(ipaddress.ip_address(s)) if ":" in s else x509.DNSName(s) for s in sans]
    builder = (x509.CertificateBuilder().subject_name(name(cn)).issuer_name(name(issuer))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(NOW - datetime.timedelta(days=1)).not_valid_after(NOW + datetime.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=critical)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False))
    if not ca:
        builder = (builder.add_extension(x509.SubjectAlternativeName(entries), critical=False)
                   .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False),
                                  critical=critical)
                   .add_extension(x509.ExtendedKeyUsage([usage]), critical=False))
    else:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
    return builder.sign(signer, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture(scope="module")
def pki():
    ca_key, _ = key_and_fingerprint()
    ca = filters.grt_certificate_read(make(ca_key, cn="grt-link-ca", ca=True))
    key, fingerprint = key_and_fingerprint()
    return {"ca_key": ca_key, "ca": ca, "key": key, "fingerprint": fingerprint}


def as_made(pki, pem, *, key=None, sans=SANS, usage="serverAuth", renew_days=30, ca=True):
    return filters.grt_certificate_as_made(filters.grt_certificate_read(pem), key or pki["fingerprint"], "grt-cloud",
                                           sans, usage, renew_days, pki["ca"] if ca else None)


def test_the_certificate_the_signing_leaves_is_as_made(pki):
    pem = make(pki["key"], signer=pki["ca_key"])
    # Names compared as read back: an IPv6 name written long-hand, in another order.
    assert as_made(pki, pem, sans=list(reversed(SANS)))
    assert 89 < filters.grt_certificate_days_left(filters.grt_certificate_read(pem)) < 90


@pytest.mark.parametrize("change", ["another key", "near its end", "another name", "a name fewer", "another usage",
                                    "not critical", "another common name", "another CA", "self-signed"])
def test_each_difference_makes_it_anew(pki, change):
    key, signer, kwargs, judged = pki["key"], pki["ca_key"], {}, {}
    if change == "another key":
        judged["key"] = key_and_fingerprint()[1]
    elif change == "near its end":
        kwargs["days"] = 29
    elif change == "another name":
        kwargs["sans"] = ("grt-cloud", "2001:db8::2")
    elif change == "a name fewer":
        kwargs["sans"] = ("grt-cloud",)
    elif change == "another usage":
        kwargs["usage"] = ExtendedKeyUsageOID.CLIENT_AUTH
    elif change == "not critical":
        kwargs["critical"] = False
    elif change == "another common name":
        kwargs["cn"] = "grt-venue"
    elif change == "another CA":
        signer = key_and_fingerprint()[0]
    elif change == "self-signed":
        signer = key
    assert not as_made(pki, make(key, signer=signer, **kwargs), **judged)


def test_without_a_ca_the_issuer_is_not_judged(pki):
    # front_proxy's self-signed certificate.
    assert as_made(pki, make(pki["key"]), ca=False)
    assert not as_made(pki, make(pki["key"]), ca=True)


@pytest.mark.parametrize("pem", ["", "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"])
def test_none_or_a_damaged_certificate_reads_as_nothing_and_is_made_anew(pki, pem):
    assert filters.grt_certificate_read(pem) == {}
    assert filters.grt_certificate_days_left({}) == 0
    assert not as_made(pki, pem)
    # A key task that did not run (check mode on a new host) has no fingerprint.
    assert not as_made(pki, make(pki["key"], signer=pki["ca_key"]), key={"skipped": True})


# grt_networks and grt_networks_invalid (the same filter file): the port guards' and /admin's sources.
def test_sources_become_networks_and_the_bad_ones_are_named():
    sources = ["198.51.100.7", "10.20.3.4/16", "2001:db8::1", "not-an-address", "300.1.1.1"]
    assert filters.grt_networks(sources, 4) == ["198.51.100.7/32", "10.20.0.0/16", "2001:db8::1",
                                                "not-an-address", "300.1.1.1"]
    assert filters.grt_networks_invalid(sources, 4) == ["2001:db8::1", "not-an-address", "300.1.1.1"]
    assert filters.grt_networks_invalid(sources) == ["not-an-address", "300.1.1.1"]
    assert filters.grt_networks(["2001:db8::1"]) == ["2001:db8::1/128"]
    assert filters.grt_networks([]) == [] and filters.grt_networks_invalid(None) == []
