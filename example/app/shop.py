"""A tiny shop: products in MariaDB, a view counter in Redis."""
import os

import pymysql
import redis


def db():
    return pymysql.connect(host=os.environ.get("DB_HOST", "127.0.0.1"),
                           user="root", password="", database="shop", autocommit=True)


def cache():
    return redis.Redis(host=os.environ.get("REDIS_HOST", "127.0.0.1"), port=6379)


def product(conn, r, sku):
    """Returns (name, price_cents, views) and counts the view."""
    with conn.cursor() as cur:
        cur.execute("SELECT name, price_cents FROM products WHERE sku = %s", (sku,))
        row = cur.fetchone()
    if row is None:
        return None
    views = r.incr("views:" + sku)
    return row[0], row[1], views


def total(conn, skus):
    """Sum of the prices of the given SKUs, in cents."""
    if not skus:
        return 0
    marks = ",".join(["%s"] * len(skus))
    with conn.cursor() as cur:
        cur.execute("SELECT COALESCE(SUM(price_cents), 0) FROM products WHERE sku IN (" + marks + ")", skus)
        return int(cur.fetchone()[0])


if __name__ == "__main__":
    print("shop", os.environ.get("APP_ENV"))
