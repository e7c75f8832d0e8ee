"""link_pki: the split layout's private CA on the controller and the link certificates it signs.

Runs the role against this machine over a local connection, with a temporary
directory standing in for both the controller's CA directory and the host's
certificate directory (the Molecule scenario `split` covers the real hosts).
The runs build on each other in file order: make (a check-mode run on a new pair of
directories alongside), re-run, renew, then a wrong passphrase.
"""

import datetime
import json
import os
import pathlib
import re
import stat
import subprocess
import sys

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

ROOT = pathlib.Path(__file__).resolve().parents[1]
PYTHON = os.path.abspath(sys.executable)  # the venv's, not resolved past its symlink
BIN = pathlib.Path(PYTHON).parent
PASSPHRASE = "link-ca-passphrase-must-not-show-0123"
SANS = ["DNS:grt-cloud", "DNS:router.example.org", "IP:198.51.100.20"]

SERVER = {"link_pki_cert_name": "server", "link_pki_cert_usage": "server",
          "link_pki_cert_common_name": "grt-cloud", "link_pki_cert_sans": SANS}
CLIENT = {"link_pki_cert_name": "client", "link_pki_cert_usage": "client",
          "link_pki_cert_common_name": "grt-venue", "link_pki_cert_sans": []}


def playbook(*certificates, ca=True):
    """The CA (link_pki main), then each certificate (tasks_from: certificate) with its vars, as the
    proxy roles call it, each reporting the serial the role set as a fact."""
    tasks = [{"name": "CA on the controller", "ansible.builtin.include_role": {"name": "link_pki"}}] if ca else []
    tasks.append({"name": "Directory of the certificates (the proxy roles create it)",
                  "ansible.builtin.file": {"path": "{{ cert_dir }}", "state": "directory", "mode": "0750"}})
    for index, certificate in enumerate(certificates):
        tasks += [
            {"name": f"Certificate {index}",
             "ansible.builtin.include_role": {"name": "link_pki", "tasks_from": "certificate"},
             "vars": {"link_pki_cert_dir": "{{ cert_dir }}", **certificate}},
            {"name": f"Report serial {index}",
             "ansible.builtin.debug": {"msg": f"SERIAL {index} {{{{ link_pki_certificate_serial | int }}}}"}}]
    return [{"name": "The link's CA and certificates, as site.yml makes them (controller.yml, then the proxies)",
             "hosts": "pki-host", "gather_facts": False, "tasks": tasks}]


class Pki:
    def __init__(self, base):
        self.base = base
        self.ca_dir = base / "controller" / "pki"
        self.cert_dir = base / "host" / "tls"
        self.inventory = base / "hosts.json"
        self.inventory.write_text(json.dumps({"all": {"hosts": {"pki-host": {
            "ansible_connection": "local", "ansible_python_interpreter": PYTHON,
            "link_pki_dir": str(self.ca_dir), "cert_dir": str(self.cert_dir),
            # The vaulted variable, as group_vars/all/link_ca.yml provides it.
            "grt_link_ca_passphrase": PASSPHRASE}}}}))

    def start(self, plays, *extra, extra_vars=None):
        path = self.base / f"playbook-{len(list(self.base.glob('playbook-*')))}.json"
        path.write_text(json.dumps(plays))
        args = [str(BIN / "ansible-playbook"), "-i", str(self.inventory), str(path), "-v", *extra]
        if extra_vars:
            args += ["-e", json.dumps(extra_vars)]
        return subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
                                         ANSIBLE_ROLES_PATH=str(ROOT / "roles")))

    @staticmethod
    def finish(process):
        stdout, stderr = process.communicate(timeout=180)
        result = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
        result.output = stdout + stderr
        # Whatever happens, the passphrase is never printed (no_log on every task that handles it).
        assert PASSPHRASE not in result.output
        return result

    def run(self, plays, *extra, extra_vars=None):
        return self.finish(self.start(plays, *extra, extra_vars=extra_vars))

    def apply(self, plays, *extra, extra_vars=None):
        result = self.run(plays, *extra, extra_vars=extra_vars)
        assert result.returncode == 0, result.output
        result.changed = int(re.search(r"pki-host\s*:\s*ok=\d+\s+changed=(\d+)", result.stdout).group(1))
        result.serials = [int(serial) for serial in re.findall(r"SERIAL \d+ (\d+)", result.stdout)]
        return result

    def cert(self, name):
        return x509.load_pem_x509_certificate((self.cert_dir / f"{name}.crt").read_bytes())

    def ca_cert(self):
        return x509.load_pem_x509_certificate((self.ca_dir / "ca.crt").read_bytes())


def snapshot(*paths):
    return {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in paths}


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def days_left(cert):
    return (cert.not_valid_after_utc - datetime.datetime.now(datetime.timezone.utc)) / datetime.timedelta(days=1)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A new CA with the server's and the client's certificates, then the same run again."""
    pki = Pki(tmp_path_factory.mktemp("link_pki"))
    # A check-mode run on a new controller and host of its own, alongside.
    pki.fresh = Pki(tmp_path_factory.mktemp("link_pki_check"))
    check = pki.fresh.start(playbook(SERVER, CLIENT), "--check")
    pki.first = pki.apply(playbook(SERVER, CLIENT))
    pki.check = Pki.finish(check)
    pki.ca_after_first = snapshot(pki.ca_dir / "ca.key", pki.ca_dir / "ca.crt")
    pki.second = pki.apply(playbook(SERVER, CLIENT))
    return pki


def test_check_mode_on_a_new_controller_and_host_fails_nothing_and_writes_nothing(pki):
    assert pki.check.returncode == 0, pki.check.output
    assert not pki.fresh.ca_dir.exists()
    assert not pki.fresh.cert_dir.exists()


def test_the_ca_is_made_once_in_a_private_directory_with_an_encrypted_key(pki):
    assert pki.first.changed > 0
    assert mode(pki.ca_dir) == 0o700
    assert mode(pki.ca_dir / "ca.key") == 0o600
    key_pem = (pki.ca_dir / "ca.key").read_bytes()
    with pytest.raises(TypeError):  # encrypted: of no use without the passphrase
        serialization.load_pem_private_key(key_pem, password=None)
    with pytest.raises(ValueError):
        serialization.load_pem_private_key(key_pem, password=b"another passphrase, 16+ chars")
    key = serialization.load_pem_private_key(key_pem, password=PASSPHRASE.encode())
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"

    ca = pki.ca_cert()
    assert ca.public_key() == key.public_key()
    assert ca.subject.rfc4514_string() == "CN=grt-deploy link CA" == ca.issuer.rfc4514_string()
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign
    assert not usage.value.digital_signature
    assert days_left(ca) > 3649
    # The second run neither rewrote nor touched the CA.
    assert snapshot(*pki.ca_after_first) == pki.ca_after_first


def test_certificates_chain_to_the_ca_with_their_names_usages_and_host_keys(pki):
    ca = pki.ca_cert()
    assert (pki.cert_dir / "ca.crt").read_bytes() == (pki.ca_dir / "ca.crt").read_bytes()
    assert mode(pki.cert_dir / "ca.crt") == 0o644
    assert sorted(path.name for path in pki.cert_dir.iterdir()) == [
        "ca.crt", "client.crt", "client.key", "server.crt", "server.key"]
    for index, (name, common_name, usage) in enumerate((
            ("server", "grt-cloud", ExtendedKeyUsageOID.SERVER_AUTH),
            ("client", "grt-venue", ExtendedKeyUsageOID.CLIENT_AUTH))):
        cert = pki.cert(name)
        cert.verify_directly_issued_by(ca)
        assert cert.subject.rfc4514_string() == f"CN={common_name}"
        assert cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage([usage])
        key_usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
        assert key_usage.critical and key_usage.value.digital_signature and not key_usage.value.key_cert_sign
        assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        assert 89 < days_left(cert) <= 90
        assert mode(pki.cert_dir / f"{name}.crt") == 0o644
        # The key made on the host: 0600, P-256, unencrypted for nginx, the certificate's.
        assert mode(pki.cert_dir / f"{name}.key") == 0o600
        key = serialization.load_pem_private_key((pki.cert_dir / f"{name}.key").read_bytes(), password=None)
        assert key.curve.name == "secp256r1" and key.public_key() == cert.public_key()
        # The fact link_pki_certificate_serial names the certificate on the host.
        assert pki.first.serials[index] == pki.second.serials[index] == cert.serial_number

    sans = pki.cert("server").extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [f"DNS:{name}" for name in sans.get_values_for_type(x509.DNSName)] == SANS[:2]
    assert [f"IP:{ip}" for ip in sans.get_values_for_type(x509.IPAddress)] == SANS[2:]
    with pytest.raises(x509.ExtensionNotFound):
        pki.cert("client").extensions.get_extension_for_class(x509.SubjectAlternativeName)


def test_a_second_run_changes_nothing(pki):
    assert pki.second.changed == 0, pki.second.stdout
    assert "RUNNING HANDLER" not in pki.second.stdout  # nothing notified, no reload


def test_renewal_forced_or_near_the_end_issues_new_certificates_and_keeps_keys_and_ca(pki):
    kept = snapshot(pki.cert_dir / "server.key", pki.cert_dir / "client.key", pki.ca_dir / "ca.key",
                    pki.ca_dir / "ca.crt", pki.cert_dir / "ca.crt", pki.cert_dir / "client.crt")
    before = pki.cert("server").serial_number
    result = pki.apply(playbook(
        # Forced, as playbooks/rotate-certs.yml does it; short-lived, to be near its end at once.
        {**SERVER, "link_pki_force_renew": True, "link_pki_cert_days": 10, "link_pki_renew_days": 5},
        SERVER,  # 10 days left < link_pki_renew_days (30): renewed
        ca=False))
    forced, renewed = result.serials
    assert before != forced != renewed == pki.cert("server").serial_number
    assert days_left(pki.cert("server")) > 89
    pki.cert("server").verify_directly_issued_by(pki.ca_cert())
    assert "RUNNING HANDLER [link_pki : Report the new link certificate]" in result.stdout  # notified
    assert snapshot(*kept) == kept


def test_a_wrong_passphrase_fails_with_a_clear_message_and_is_never_printed(pki):
    wrong = "wrong-passphrase-must-not-show-42"
    kept = snapshot(pki.ca_dir / "ca.key", pki.ca_dir / "ca.crt", pki.cert_dir / "server.crt")
    # Signing a certificate (its task's output is hidden), then the CA's own check.
    plays = playbook({**SERVER, "link_pki_force_renew": True}, ca=False)
    plays[0]["tasks"][1]["ansible.builtin.include_role"]["apply"] = {"ignore_errors": True}
    plays[0]["tasks"].append({"name": "CA", "ansible.builtin.include_role": {"name": "link_pki"}})
    result = pki.run(plays, extra_vars={"link_pki_ca_passphrase": wrong})
    assert result.returncode != 0
    assert result.output.count("cannot be opened with the configured passphrase") >= 2, result.output
    assert wrong not in result.output
    assert snapshot(*kept) == kept


def test_a_short_passphrase_is_refused_before_anything_is_made(tmp_path):
    fresh = Pki(tmp_path)
    result = fresh.run(playbook(SERVER), extra_vars={"link_pki_ca_passphrase": "short"})
    assert result.returncode != 0
    assert "must have at least 16 characters" in result.output
    assert not fresh.ca_dir.exists()


def test_the_certificate_read_decides_what_is_signed(tmp_path):
    """A re-run signs nothing (the request and the signing are skipped); a mode put wrong is put right without
    signing; other names are signed anew; an IPv6 name written long-hand is not signed again at every run."""
    pki = Pki(tmp_path)
    v6 = {**SERVER, "link_pki_cert_sans": SANS + ["IP:2001:db8:0:0::7"]}
    first = pki.apply(playbook(v6, CLIENT))
    again = pki.apply(playbook(v6, CLIENT))
    assert again.changed == 0 and again.serials == first.serials, again.stdout
    for task in ("certificate request, made on the host", "signed anew"):
        runs = re.findall(r"TASK \[link_pki : Certificate \| " + task + r"[^\]]*\][^\n]*\n([^\n]*)", again.stdout)
        assert len(runs) == 2 and all(line.startswith("skipping") for line in runs), (task, runs)
    assert "IP:2001:db8::7" in [f"IP:{ip}" for ip in pki.cert("server").extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value.get_values_for_type(x509.IPAddress)]

    (pki.cert_dir / "server.crt").chmod(0o600)
    mended = pki.apply(playbook(v6, CLIENT, ca=False))
    assert mended.changed == 1 and mended.serials == first.serials and mode(pki.cert_dir / "server.crt") == 0o644

    renamed = pki.apply(playbook({**v6, "link_pki_cert_sans": SANS + ["DNS:other.example.org"]}, CLIENT, ca=False))
    assert renamed.serials[0] != first.serials[0] and renamed.serials[1] == first.serials[1], renamed.stdout
    assert "other.example.org" in pki.cert("server").extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
