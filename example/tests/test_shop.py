import os
import unittest

from app import shop


class ShopTest(unittest.TestCase):
    def setUp(self):
        self.conn = shop.db()
        self.r = shop.cache()
        self.r.delete("views:apple")

    def tearDown(self):
        self.conn.close()

    def test_built_for_testing(self):
        self.assertEqual(os.environ["APP_ENV"], "testing")

    def test_product_counts_views(self):
        self.assertEqual(shop.product(self.conn, self.r, "apple"), ("Apple", 120, 1))
        self.assertEqual(shop.product(self.conn, self.r, "apple")[2], 2)

    def test_missing_product(self):
        self.assertIsNone(shop.product(self.conn, self.r, "durian"))

    def test_total(self):
        self.assertEqual(shop.total(self.conn, ["apple", "pear"]), 120 + 95)
        self.assertEqual(shop.total(self.conn, []), 0)


if __name__ == "__main__":
    unittest.main()
