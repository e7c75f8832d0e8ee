"""Filters the roles share (grt_common is a dependency of each).

grt_subject_alt_names: certificate names as community.crypto takes them. Names already prefixed DNS: or IP: come first, as they are; then bare IPv4/IPv6
addresses as IP:<address>; then every other name as DNS:<name>. Repeats go.
Used by front_proxy (its self-signed certificate) and remote_proxy (the link's
server certificate); the roles' preflight has checked the names.
grt_sans_as_read: the same names as a certificate read back lists them (community.crypto's x509_certificate_info:
an IP address in its normal form), sorted - so that "the certificate holds these names" compares lists.
grt_certificate_read, grt_certificate_days_left, grt_certificate_as_made: a certificate read back and judged
on the controller (front_proxy's self-signed one, link_pki's link certificates and CA): its content as
community.crypto's x509_certificate_info reads it ({} for none, or for a damaged one, which is then made anew),
the days it has left, and whether it is the one the roles' request and signing would leave.
"""

import datetime
import ipaddress
import re

from ansible.errors import AnsibleFilterError

# The same pattern as grt_common_ip_regex in vars/main.yml.
IP = re.compile(r"^(([0-9]{1,3}\.){3}[0-9]{1,3}|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)$")


def grt_subject_alt_names(names):
    names = [str(name) for name in names]
    prefixed = [name for name in names if name.startswith(("DNS:", "IP:"))]
    bare = [name for name in names if name not in prefixed]
    sans = prefixed + ["IP:" + n for n in bare if IP.match(n)] + ["DNS:" + n for n in bare if not IP.match(n)]
    return list(dict.fromkeys(sans))


def _san_as_read(san):
    if san.startswith("IP:"):
        try:
            return "IP:" + str(ipaddress.ip_address(san[3:]))
        except ValueError:
            return san
    return san


def grt_sans_as_read(sans):
    return sorted(_san_as_read(str(san)) for san in sans or [])


def grt_certificate_read(pem):
    if not pem:
        return {}
    # Imported here: loading the filters (in every task's worker) need not load Python cryptography.
    from ansible_collections.community.crypto.plugins.filter.x509_certificate_info import (
        x509_certificate_info_filter,
    )
    try:
        return x509_certificate_info_filter(pem)
    except AnsibleFilterError:
        return {}


def grt_certificate_days_left(info):
    """Days until the certificate's not_after (x509_certificate_info's ASN.1 time); 0 for no certificate."""
    if not info.get("not_after"):
        return 0.0
    not_after = datetime.datetime.strptime(info["not_after"], "%Y%m%d%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    return (not_after - datetime.datetime.now(datetime.timezone.utc)).total_seconds() / 86400


# The extended key usages the roles' requests ask for (openssl_csr's names), as a certificate read back names them.
_USAGE_AS_READ = {"serverAuth": "TLS Web Server Authentication", "clientAuth": "TLS Web Client Authentication"}


def grt_certificate_as_made(info, key, common_name, sans, usage, renew_days, ca=None):
    """Whether the certificate read (info) is the one the roles' request and signing would leave: for this key
    (openssl_privatekey's result, its sha256 fingerprint), subject CN=common_name, these names, CA:FALSE and
    digitalSignature (both critical), this extended key usage (serverAuth or clientAuth), more than renew_days
    left and, given the CA's info, issued by it (issuer and authority key id). Otherwise it is made anew."""
    fingerprint = (key or {}).get("fingerprint", {}).get("sha256")
    return bool(
        info and fingerprint
        and info.get("public_key_fingerprints", {}).get("sha256") == fingerprint
        and grt_certificate_days_left(info) > renew_days
        and info.get("subject") == {"commonName": common_name}
        and grt_sans_as_read(info.get("subject_alt_name")) == grt_sans_as_read(sans)
        and info.get("basic_constraints") == ["CA:FALSE"] and info.get("basic_constraints_critical")
        and info.get("key_usage") == ["Digital Signature"] and info.get("key_usage_critical")
        and info.get("extended_key_usage") == [_USAGE_AS_READ[usage]]
        and (ca is None or (info.get("issuer") == ca.get("subject")
                            and info.get("authority_key_identifier") == ca.get("subject_key_identifier"))))


def grt_compose_ports(ports, bind_address=""):
    """Published ports in compose's short syntax, [address:]port:port/tcp (an IPv6 address in brackets)."""
    address = str(bind_address or "")
    prefix = f"[{address}]:" if ":" in address else (f"{address}:" if address else "")
    return [f"{prefix}{int(port)}:{int(port)}/tcp" for port in ports]


def _network(source, version):
    network = ipaddress.ip_network(str(source), strict=False)
    if version and network.version != int(version):
        raise ValueError(f"not IPv{version}")
    return network


def grt_networks(sources, version=None):
    """Each source (an address, or a network in CIDR notation; of IP version `version` when given) as its
    network, such as 192.0.2.0/24; an entry that is neither is kept as it was (grt_networks_invalid names it)."""
    networks = []
    for source in sources or []:
        try:
            networks.append(str(_network(source, version)))
        except ValueError:
            networks.append(source)
    return networks


def grt_networks_invalid(sources, version=None):
    """The entries of sources that are not an address or network (CIDR), of IP version `version` when given."""
    invalid = []
    for source in sources or []:
        try:
            _network(source, version)
        except ValueError:
            invalid.append(source)
    return invalid


class FilterModule:
    def filters(self):
        return {"grt_subject_alt_names": grt_subject_alt_names, "grt_sans_as_read": grt_sans_as_read,
                "grt_compose_ports": grt_compose_ports, "grt_networks": grt_networks,
                "grt_networks_invalid": grt_networks_invalid, "grt_certificate_read": grt_certificate_read,
                "grt_certificate_days_left": grt_certificate_days_left,
                "grt_certificate_as_made": grt_certificate_as_made}
