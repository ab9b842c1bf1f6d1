CREATE TABLE IF NOT EXISTS products (
  sku         VARCHAR(32) PRIMARY KEY,
  name        VARCHAR(100) NOT NULL,
  price_cents INT NOT NULL
);
INSERT INTO products VALUES ('apple', 'Apple', 120), ('pear', 'Pear', 95)
  ON DUPLICATE KEY UPDATE name = VALUES(name);
