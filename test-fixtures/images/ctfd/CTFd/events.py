"""GET /events of the CTFd stand-in: server-sent events, login required.

Wire format as CTFd's ServerSentEvent: a ping at once, then one every 5 s:
    event:ping\\ndata:ping\\n\\n
(Notifications are not published by the stand-in.)
"""
import time

from flask import Blueprint, Response, current_app, stream_with_context

from CTFd.models import db
from CTFd.utils.decorators import authed_only, ratelimit

events = Blueprint("events", __name__)

PING = "event:ping\ndata:ping\n\n"


@events.route("/events")
@authed_only
@ratelimit(method="GET", limit=150, interval=60)
def subscribe():
    if current_app.config.get("SERVER_SENT_EVENTS") is False:
        return ("", 204)

    @stream_with_context
    def gen():
        yield PING
        while True:
            time.sleep(5)
            yield PING

    db.close()  # like CTFd: no database connection held by the stream
    return Response(gen(), mimetype="text/event-stream")
