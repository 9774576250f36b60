# Runs moto's server on a free loopback port for one test process: prints the port, then serves
# until the process that started it is gone (tests cannot run clean-up code when they exit).
#
# Requests are served one at a time. DynamoDB checks a condition and writes atomically; moto's
# handlers do not lock, so two concurrent conditional writes could both pass their check on a
# threaded server and lose an update that DynamoDB itself never would.
import os
import sys
import threading
import time

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

app = DomainDispatcherApplication(create_backend_app)
lock = threading.Lock()


def serialised(environ, start_response):
    with lock:
        # Consume the whole response inside the lock: moto builds it lazily at times.
        return list(app(environ, start_response))


parent = os.getppid()
server = make_server("127.0.0.1", 0, serialised, threaded=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
print(server.server_address[1], flush=True)
while os.getppid() == parent:
    time.sleep(0.5)
server.shutdown()
sys.exit(0)
