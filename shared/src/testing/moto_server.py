# Runs moto's server on a free loopback port for a whole test run: prints the port, then serves
# every test process of the run until no request has come for IDLE_SECONDS.
#
# Requests are served one at a time. DynamoDB checks a condition and writes atomically; moto's
# handlers do not lock, so two concurrent conditional writes could both pass their check on a
# threaded server and lose an update that DynamoDB itself never would.
#
# Two routes of its own, for the tests:
#   POST /winback/accounts   a new AWS account with an access key: each test works in its own
#                            account, so nothing one test makes is seen by another
#   GET  /winback/sent       what was sent from the account of the request's access key
#                            (x-winback-access-key): raw emails and SMS, in order
#   POST /winback/keys       another access key in the account of x-winback-access-key's
#   GET  /winback/calls      the DynamoDB actions (and indexes) called with the access key
#                            x-winback-access-key, so a test can hold them to an IAM policy
import io
import json
import re
import os
import sys
import threading
import time

from moto.iam.models import get_account_id_from, iam_backends
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends
from werkzeug.serving import make_server

IDLE_SECONDS = int(os.environ.get("WINBACK_MOTO_IDLE_SECONDS", "600"))
REGION = "us-east-1"

app = DomainDispatcherApplication(create_backend_app)
lock = threading.Lock()
last_request = time.monotonic()
accounts = 0
keys = 0
calls = {}
CREDENTIAL = re.compile(r"Credential=([A-Z0-9]+)/")


def reply(start_response, body):
    data = json.dumps(body).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def key_in(account):
    """A new IAM user with an access key in `account`, which moto maps the key to."""
    global keys
    keys += 1
    iam = iam_backends[account]["global"]
    user = f"winback-tests-{keys}"
    iam.create_user(region_name=REGION, user_name=user)
    key = iam.create_access_key(user)
    return {
        "account": account,
        "access_key_id": key.access_key_id,
        "secret_access_key": key.secret_access_key,
    }


def new_account():
    global accounts
    accounts += 1
    return key_in(str(100000000000 + accounts))


def another_key(access_key):
    return key_in(get_account_id_from(access_key))


def record_call(environ):
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if not target.startswith("DynamoDB_"):
        return
    found = CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    if not found:
        return
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        request = {}
    # A transaction is authorised item by item: say which kinds of item it holds.
    parts = sorted({kind for item in request.get("TransactItems", []) for kind in item})
    calls.setdefault(found.group(1), []).append(
        {"action": target.split(".")[-1], "index": request.get("IndexName"), "parts": parts}
    )


def sent(access_key):
    account = get_account_id_from(access_key)
    emails = []
    for message in ses_backends[account][REGION].sent_messages:
        raw = getattr(message, "raw_data", None)
        emails.append(raw if raw is not None else f"Subject: {message.subject}\r\n\r\n{message.body}")
    sms = [{"to": to, "text": text} for (to, text) in sns_backends[account][REGION].sms_messages.values()]
    return {"account": account, "email": emails, "sms": sms}


def serialised(environ, start_response):
    global last_request
    with lock:
        last_request = time.monotonic()
        path = environ.get("PATH_INFO", "")
        if path == "/winback/ping":
            return reply(start_response, "winback-moto " + os.environ.get("WINBACK_MOTO_VERSION", ""))
        if path == "/winback/accounts" and environ.get("REQUEST_METHOD") == "POST":
            return reply(start_response, new_account())
        if path == "/winback/sent":
            return reply(start_response, sent(environ.get("HTTP_X_WINBACK_ACCESS_KEY", "")))
        if path == "/winback/keys" and environ.get("REQUEST_METHOD") == "POST":
            return reply(start_response, another_key(environ.get("HTTP_X_WINBACK_ACCESS_KEY", "")))
        if path == "/winback/calls":
            return reply(start_response, calls.get(environ.get("HTTP_X_WINBACK_ACCESS_KEY", ""), []))
        record_call(environ)
        # Consume the whole response inside the lock: moto builds it lazily at times.
        return list(app(environ, start_response))


server = make_server("127.0.0.1", 0, serialised, threaded=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
print(server.server_address[1], flush=True)
sys.stdout.close()
while time.monotonic() - last_request < IDLE_SECONDS:
    time.sleep(1)
server.shutdown()
sys.exit(0)
