import unittest

from app import shop


class PriceTest(unittest.TestCase):
    def test_tax(self):
        self.assertEqual(shop.price_with_tax(1000), 1200)

    def test_rounding(self):
        self.assertEqual(shop.price_with_tax(3), 4)


class ProductTest(unittest.TestCase):
    def setUp(self):
        self.db = shop.connect_db()
        self.cache = shop.connect_cache()
        self.cache.delete("views:mug")

    def tearDown(self):
        self.db.close()

    def test_known_product(self):
        found = shop.product(self.db, self.cache, "mug")
        self.assertEqual(found["name"], "Coffee mug")
        self.assertEqual(found["price"], 1080)

    def test_views_are_counted(self):
        shop.product(self.db, self.cache, "mug")
        self.assertEqual(shop.product(self.db, self.cache, "mug")["views"], 2)

    def test_unknown_product(self):
        self.assertIsNone(shop.product(self.db, self.cache, "nope"))
