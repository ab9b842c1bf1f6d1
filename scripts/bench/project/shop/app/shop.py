"""The shop service: products from MariaDB, view counts in Redis."""
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pymysql
import redis

VERSION = os.environ.get("APP_VERSION", "dev")
TAX_RATE = 0.2


def price_with_tax(cents, rate=TAX_RATE):
    """Gross price in cents, rounded half up."""
    return int(cents * (1 + rate) + 0.5)


def connect_db():
    return pymysql.connect(host=os.environ.get("DB_HOST", "db"), user="root",
                           database="shop", autocommit=True)


def connect_cache():
    return redis.Redis(host=os.environ.get("REDIS_HOST", "cache"), socket_timeout=2)


def product(db, cache, sku):
    """The product with this SKU, its gross price and how often it was seen."""
    with db.cursor() as cur:
        cur.execute("SELECT sku, name, price_cents FROM products WHERE sku = %s", (sku,))
        row = cur.fetchone()
    if row is None:
        return None
    views = cache.incr("views:" + sku)
    return {"sku": row[0], "name": row[1], "price": price_with_tax(row[2]), "views": views}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/health":
            return self.reply(200, {"status": "ok", "version": VERSION})
        if self.path.startswith("/products/"):
            found = product(connect_db(), connect_cache(), self.path.rsplit("/", 1)[1])
            return self.reply(200 if found else 404, found or {"error": "not found"})
        return self.reply(404, {"error": "not found"})

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


if __name__ == "__main__":
    ThreadingHTTPServer(("", int(os.environ.get("PORT", "8000"))), Handler).serve_forever()
