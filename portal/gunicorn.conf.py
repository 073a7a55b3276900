"""gunicorn settings for production serving (`make serve`, or `gunicorn -c portal/gunicorn.conf.py portal.wsgi`).

Threaded workers: a slow upload or download holds a thread, not a whole process. Uploads are streamed to disk
(FILE_UPLOAD_TEMP_DIR) and downloads streamed from storage, so a worker's memory stays flat whatever the file size.
Anything here can be overridden on the command line or in GUNICORN_CMD_ARGS.
"""

import os

bind = os.environ.get("WEB_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "8"))
# Long enough for a multi-gigabyte upload over a slow line; gthread workers keep beating while a thread streams.
timeout = int(os.environ.get("WEB_TIMEOUT_SECONDS", "300"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then, so memory stays what it was at start.
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
