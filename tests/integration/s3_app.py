"""An S3 endpoint for the tests: moto's S3 backend alone, served by werkzeug on 127.0.0.1 with
its request log off. (``moto_server`` works out for every request which of moto's services it
is for, and logs each one: several times the cost of serving it.)

    python tests/integration/s3_app.py PORT
"""

from __future__ import annotations

import logging
import sys

from moto.moto_server.werkzeug_app import create_backend_app
from werkzeug.serving import run_simple


def main() -> None:
    port = int(sys.argv[1])
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    run_simple("127.0.0.1", port, create_backend_app("s3"), threaded=True)


if __name__ == "__main__":
    main()
