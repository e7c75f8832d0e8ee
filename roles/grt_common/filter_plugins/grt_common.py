"""Filters the roles share (grt_common is a dependency of each).

grt_subject_alt_names: certificate names as community.crypto takes them. Names already prefixed DNS: or IP: come first, as they are; then bare IPv4/IPv6
addresses as IP:<address>; then every other name as DNS:<name>. Repeats go.
Used by front_proxy (its self-signed certificate) and remote_proxy (the link's
server certificate); the roles' preflight has checked the names.
grt_sans_as_read: the same names as a certificate read back lists them (community.crypto's x509_certificate_info:
an IP address in its normal form), sorted - so that "the certificate holds these names" compares lists.
"""

import ipaddress
import re

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


def grt_compose_ports(ports, bind_address=""):
    """Published ports in compose's short syntax, [address:]port:port/tcp (an IPv6 address in brackets)."""
    address = str(bind_address or "")
    prefix = f"[{address}]:" if ":" in address else (f"{address}:" if address else "")
    return [f"{prefix}{int(port)}:{int(port)}/tcp" for port in ports]


class FilterModule:
    def filters(self):
        return {"grt_subject_alt_names": grt_subject_alt_names, "grt_sans_as_read": grt_sans_as_read,
                "grt_compose_ports": grt_compose_ports}
