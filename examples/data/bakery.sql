-- The bakery's customers and their orders, for examples/files_and_sqlite.py.
CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    city TEXT NOT NULL
);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    placed TEXT NOT NULL,  -- ISO date
    total REAL NOT NULL     -- euros
);
INSERT INTO customers (id, name, city) VALUES
    (1, 'Ada Lovelace', 'London'),
    (2, 'Grace Hopper', 'Arlington'),
    (3, 'Alan Turing', 'Manchester');
INSERT INTO orders (customer_id, placed, total) VALUES
    (1, '2026-01-12', 120.50),
    (2, '2026-01-17', 18.75),
    (1, '2026-02-02', 96.25),
    (3, '2026-02-09', 42.00),
    (1, '2026-02-23', 84.75),
    (2, '2026-02-28', 22.50),
    (1, '2026-03-01', 60.00);
