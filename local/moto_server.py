"""moto's server, handling one request at a time.

moto applies a DynamoDB TransactWriteItems without a lock: it copies the
table, applies the writes, and when a condition fails puts the copy back,
undoing whatever another request wrote meanwhile (a winning concurrent
publish vanished from the registry's history this way). DynamoDB serializes
transactions; serializing moto's requests gives the same here. Connections
are still served on threads, so an idle keep-alive connection blocks nobody.

Run with the venv's Python and moto_server's arguments: `-H 127.0.0.1 -p PORT`.
"""

import sys
import threading

from moto import server
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

_lock = threading.Lock()
_dispatch = DomainDispatcherApplication.__call__


def _one_at_a_time(self, environ, start_response):
    with _lock:
        return _dispatch(self, environ, start_response)


DomainDispatcherApplication.__call__ = _one_at_a_time
server.main(sys.argv[1:])
