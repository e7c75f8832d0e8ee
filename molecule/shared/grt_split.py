"""Controller-side helpers for the split scenario's tests and tools/bench_split.py.

The controller (where pytest or the bench runs) is the "third vantage point":
outside both test hosts, on the harness network grt-test, it reaches the
remote proxy's published port and the fake vendor directly, and the nested
containers through `docker exec` into the test hosts.
"""

import contextlib
import datetime
import http.client
import json
import os
import pathlib
import select
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.request

import yaml

PROJECT_DIR = pathlib.Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", pathlib.Path(__file__).parents[2]))
SCENARIO_DIR = PROJECT_DIR / "molecule" / "split"
LOCAL = "grt-molecule-local"
REMOTE = "grt-molecule-remote"
VENDOR = "grt-molecule-fake-vendor"
HARNESS_NETWORK = "grt-test"
VAULT_PASSWORD_FILE = "/var/tmp/grt-test/vault-pass"
CLIENT_SOURCE = (pathlib.Path(__file__).parent / "grt_link_client.py").read_text()
# Linux's clock is shared by every container of the machine: wall-clock times
# taken inside nested containers and on the controller are comparable.


# --- settings and secrets -------------------------------------------------------------------------

def vault_view(relative, scenario_dir=SCENARIO_DIR):
    """A vaulted group_vars file of the scenario, decrypted (never through ANSIBLE_LOG_PATH)."""
    env = {k: v for k, v in os.environ.items() if k != "ANSIBLE_LOG_PATH"}
    env["ANSIBLE_VAULT_PASSWORD_FILE"] = VAULT_PASSWORD_FILE
    out = subprocess.run(["ansible-vault", "view", str(scenario_dir / "group_vars" / relative)],
                         check=True, capture_output=True, text=True, env=env).stdout
    return yaml.safe_load(out)


def fixtures(scenario_dir=SCENARIO_DIR):
    """group_vars/all/fixtures.yml as prepare.yml wrote it for this run."""
    return yaml.safe_load((scenario_dir / "group_vars" / "all" / "fixtures.yml").read_text()) or {}


# --- docker on the controller ---------------------------------------------------------------------

def docker(*args, input=None, timeout=120, check=True):
    result = subprocess.run(["docker", *args], input=input, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args[:6])} ... exited {result.returncode}: "
                             f"{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return result


def harness_ip(container, network=HARNESS_NETWORK):
    """A test host's (or the vendor's) address on the harness network."""
    fmt = '{{(index .NetworkSettings.Networks "%s").IPAddress}}' % network
    ip = docker("inspect", "-f", fmt, container).stdout.strip()
    assert ip, f"{container} has no address on {network}"
    return ip


def on_host(host, *argv, input=None, timeout=120, check=True):
    """Run a command as root on a test host, from the controller (no Ansible, no file left behind)."""
    return docker("exec", "-i", host, *argv, input=input, timeout=timeout, check=check)


def client_argv(host, container=None, image=None, network="grt-router", python="python3"):
    """argv that runs grt_link_client.py in `container` (docker exec) or a throwaway `image` on `network`."""
    if container:
        inner = ["docker", "exec", "-i", container, python, "-c", CLIENT_SOURCE]
    else:
        inner = ["docker", "run", "--rm", "-i", "--network", network, "--entrypoint", python,
                 image, "-c", CLIENT_SOURCE]
    return ["docker", "exec", "-i", host, *inner]


def run_client(host, settings, container=None, image=None, network="grt-router", python="python3", timeout=300):
    """Run the client to completion and return its JSON answer."""
    argv = client_argv(host, container, image, network, python)
    result = subprocess.run(argv, input=json.dumps(settings) + "\n", capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, f"client exited {result.returncode}: {result.stdout[-2000:]}{result.stderr[-2000:]}"
    return json.loads(result.stdout.strip().splitlines()[-1])


class BackgroundClient:
    """The client started now, answer collected later (loop mode stops when .finish() closes stdin).

    With settings {"announce": true} (request mode) the client prints "started" just before it
    sends the request; wait_started() waits for that line.
    """

    def __init__(self, host, settings, container=None, image=None, network="grt-router", python="python3"):
        # Unbuffered bytes: wait_started() must not read ahead of the line it waits for.
        self.proc = subprocess.Popen(client_argv(host, container, image, network, python), bufsize=0,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.proc.stdin.write((json.dumps(settings) + "\n").encode())
        self.keep_stdin = settings.get("mode") == "loop"
        if not self.keep_stdin:
            self.proc.stdin.close()

    def wait_started(self, timeout=60):
        deadline = time.monotonic() + timeout
        line = b""
        while not line.endswith(b"\n"):
            assert time.monotonic() < deadline, f"the client did not start within {timeout} s"
            ready, _, _ = select.select([self.proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
            if ready:
                byte = os.read(self.proc.stdout.fileno(), 1)
                assert byte, f"the client ended before it started: {self.proc.stderr.read()[-2000:]!r}"
                line += byte
        assert line.strip() == b"started", line
        return time.time()

    def finish(self, timeout=300):
        if self.keep_stdin and not self.proc.stdin.closed:
            self.proc.stdin.close()
        # Closed already: communicate() would try to flush it.
        self.proc.stdin = None
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
            raise AssertionError(f"client still running after {timeout} s: {err[-2000:]!r}") from None
        out, err = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
        assert self.proc.returncode == 0, f"client exited {self.proc.returncode}: {out[-2000:]}{err[-2000:]}"
        return json.loads(out.strip().splitlines()[-1])


def container_image(host, container):
    return on_host(host, "docker", "inspect", "-f", "{{.Config.Image}}", container).stdout.strip()


def containers(host):
    """docker inspect of every container on a test host."""
    ids = on_host(host, "docker", "ps", "-aq").stdout.split()
    return json.loads(on_host(host, "docker", "inspect", *ids).stdout) if ids else []


def router_container(host):
    """The llm_router container (compose project grt-router, service router) on a host."""
    names = on_host(host, "docker", "ps", "-a", "--filter", "label=com.docker.compose.project=grt-router",
                    "--filter", "label=com.docker.compose.service=router", "--format", "{{.Names}}").stdout.split()
    assert len(names) == 1, f"router containers on {host}: {names}"
    return names[0]


# --- cutting the link -----------------------------------------------------------------------------

@contextlib.contextmanager
def link_cut(remote_ip, host=LOCAL):
    """Drop every forwarded packet between the nested containers of `host` and remote_ip.

    Two rules at the top of FORWARD, removed again (exactly these two) on exit.
    Yields the wall-clock times as a dict {"start", "end"} (end set on exit).
    """
    rules = [["-d", remote_ip, "-j", "DROP"], ["-s", remote_ip, "-j", "DROP"]]
    inserted = []
    times = {"start": None, "end": None}
    try:
        for rule in rules:
            on_host(host, "iptables", "-w", "-I", "FORWARD", "1", *rule)
            inserted.append(rule)
        times["start"] = time.time()
        yield times
    finally:
        problems = []
        for rule in inserted:
            result = on_host(host, "iptables", "-w", "-D", "FORWARD", *rule, check=False)
            if result.returncode != 0:
                problems.append(result.stderr)
        times["end"] = time.time()
        assert not problems, f"could not remove the cut's iptables rules: {problems}"


# --- the fake vendor --------------------------------------------------------------------------------

class Vendor:
    def __init__(self, url):
        self.url = url.rstrip("/")

    def _call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as response:
            return json.loads(response.read())

    def configure(self, delay=None, status=None):
        update = {}
        if delay is not None:
            update["delay"] = delay
        if status is not None:
            update["status"] = status
        return self._call("PUT", "/_config", update)

    def calls(self):
        return self._call("GET", "/_calls")

    def calls_with(self, marker):
        return [c for c in self.calls() if marker in json.dumps(c.get("body"))]


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

def access_log(host=REMOTE, container="grt-link-remote", since=None):
    """The remote proxy's JSON access log lines (other lines ignored) and the raw text."""
    args = ["docker", "logs"]
    if since:
        args += ["--since", since]
    result = on_host(host, *args, container)
    text = result.stdout + result.stderr
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


# --- statistics --------------------------------------------------------------------------------------

def percentile(values, fraction):
    """Nearest-rank percentile (fraction in 0..1); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, int(-(-fraction * len(ordered) // 1)))
    return ordered[min(rank, len(ordered)) - 1]
