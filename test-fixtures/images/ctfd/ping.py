"""Wait until the database server named by DATABASE_URL accepts connections.

CTFd stand-in (test fixture): retries once a second, for ever, like the
image's ping.py; the database itself need not exist yet.
"""
import time

import pymysql

from CTFd.config import Config, database_params

params = database_params(Config.DATABASE_URL)
params.pop("database", None)
print(f"Waiting for {params['host']} to be ready", flush=True)
while True:
    try:
        pymysql.connect(connect_timeout=5, **params).close()
        break
    except Exception as err:  # noqa: BLE001 - any failure means "not yet"
        print(err, flush=True)
        print("Waiting 1s for database connection", flush=True)
        time.sleep(1)
print(f"{params['host']} is ready", flush=True)
time.sleep(1)
