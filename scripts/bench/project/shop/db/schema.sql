CREATE TABLE products (
  sku         VARCHAR(32) PRIMARY KEY,
  name        VARCHAR(200) NOT NULL,
  price_cents INT NOT NULL
);
INSERT INTO products VALUES ('mug', 'Coffee mug', 900), ('tee', 'T-shirt', 1500);
