"""Stand-in-only endpoints (CTFd has none of these; do not rely on them
outside the grt-deploy tests).

GET /_standin/request -> JSON of the request as the app sees it after
ProxyFix (REVERSE_PROXY): remote_addr, scheme, host, url_root, headers
(Cookie dropped), and ip = CTFd's get_ip(). Exempt from the setup redirect.
"""
from flask import Blueprint, jsonify, request

from CTFd.utils.user import get_ip

standin = Blueprint("standin", __name__)


@standin.route("/_standin/request")
def request_echo():
    headers = {k: v for k, v in request.headers.items() if k.lower() != "cookie"}
    return jsonify({
        "remote_addr": request.remote_addr,
        "scheme": request.scheme,
        "host": request.host,
        "url_root": request.url_root,
        "path": request.path,
        "ip": get_ip(),
        "headers": headers,
    })
