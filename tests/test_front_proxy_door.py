"""The front proxy's door (roles/front_proxy/templates/grt-door.js.j2) in the offline nginx image.

CTFd is played by a second nginx server: /login there refuses a client with 429 when it asks again within
a second (limit_req, as CTFd's per-address limit does), /busy always refuses. The door must hold a refused
POST and ask again until it is taken, pass the answer through (status, both cookies, the form as sent),
and give up after its bound with 503 and Retry-After.
"""

import os
import pathlib
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import jinja2
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "test-fixtures" / "tests"))
from dockercli import docker, wait_until  # noqa: E402

NGINX_IMAGE = os.environ.get("GRT_OFFLINE_NGINX_IMAGE", "grt-test/offline/nginx")
WAIT, RETRY_MS = 3, 300

CONF = """
js_import grt_door from /etc/nginx/conf.d/grt-door.js;
limit_req_zone $binary_remote_addr zone=ctfd_login:1m rate=1r/s;
limit_req_status 429;
server {
    listen 8080;
    location = /login {
        client_body_buffer_size 64k;
        client_body_in_single_buffer on;
        js_content grt_door.pass;
    }
    location = /busy {
        client_body_buffer_size 64k;
        client_body_in_single_buffer on;
        js_content grt_door.pass;
    }
    location = /_grt_door {
        internal;
        subrequest_output_buffer_size 1m;
        proxy_pass http://127.0.0.1:9000$request_uri;
    }
}
server {
    listen 9000;
    # limit_req acts before a content handler, not before `return`: CTFd's answer comes from 9001.
    location = /login {
        limit_req zone=ctfd_login;
        proxy_pass http://127.0.0.1:9001;
    }
    location = /busy {
        return 429 '{"code": 429}';
    }
}
server {
    listen 9001;
    location = /login {
        add_header Set-Cookie "session=s1; HttpOnly" always;
        add_header Set-Cookie "other=o1" always;
        add_header X-Seen "$request_method $content_type $content_length" always;
        return 302 /challenges;
    }
}
"""


@pytest.fixture(scope="module")
def door(tmp_path_factory):
    if docker("image", "inspect", NGINX_IMAGE, check=False).returncode != 0:
        pytest.fail(f"image {NGINX_IMAGE} not found; build the harness first: test-fixtures/harness/up.sh")
    conf = tmp_path_factory.mktemp("door")
    template = (ROOT / "roles/front_proxy/templates/grt-door.js.j2").read_text()
    (conf / "grt-door.js").write_text(jinja2.Template(template).render(
        ansible_managed="test", front_proxy_door_wait=WAIT, front_proxy_door_retry_ms=RETRY_MS,
        _front_proxy_door_location="/_grt_door"))
    (conf / "door.conf").write_text(CONF)
    for path in conf.iterdir():
        path.chmod(0o644)
    name = f"grt-door-test-{uuid.uuid4().hex[:8]}"
    docker("run", "-d", "--name", name, "-p", "127.0.0.1::8080", "-v", f"{conf}:/etc/nginx/conf.d:ro",
           NGINX_IMAGE, "nginx", "-g", "load_module /etc/nginx/modules/ngx_http_js_module.so; daemon off;")
    try:
        port = docker("port", name, "8080/tcp").stdout.split(":")[-1].strip()
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: post(base, "/busy")[0] in (429, 503), "nginx with the door", container=name)
        yield base
    finally:
        docker("rm", "-f", name, check=False)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def post(base, path, fields=None):
    data = urllib.parse.urlencode(fields or {"name": "n", "password": "p"}).encode()
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirect)
    request = urllib.request.Request(base + path, data=data, method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()
    except OSError:
        return 0, {}, ""


def test_a_refused_post_is_held_and_asked_again_until_taken(door):
    fields = {"name": "crowd", "password": "x" * 40}
    sent = len(urllib.parse.urlencode(fields))
    answers = []
    for _ in range(3):  # one a second is all "CTFd" takes: the 2nd and 3rd are refused at first
        started = time.monotonic()
        status, headers, body = post(door, "/login", fields)
        answers.append((status, round(time.monotonic() - started, 2)))
        assert status == 302, (status, body)
        assert headers["Location"].endswith("/challenges")
        assert sorted(headers.get_all("Set-Cookie")) == ["other=o1", "session=s1; HttpOnly"]
        assert headers["X-Seen"] == f"POST application/x-www-form-urlencoded {sent}"
    assert max(seconds for _, seconds in answers[1:]) >= RETRY_MS / 1000, answers


def test_a_request_refused_beyond_the_bound_gets_503_with_retry_after(door):
    started = time.monotonic()
    status, headers, body = post(door, "/busy")
    took = time.monotonic() - started
    assert status == 503 and headers["Retry-After"].isdigit(), (status, body)
    assert "try again" in body
    assert WAIT - 1 <= took <= WAIT + 2, took


def test_the_door_passes_a_get_straight_through(door):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirect)
    try:
        opener.open(door + "/busy", timeout=10)
    except urllib.error.HTTPError as error:
        assert error.code == 429  # a GET is never held: CTFd limits only POSTs
    else:
        pytest.fail("GET /busy did not answer 429")
