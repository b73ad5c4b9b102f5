#!/bin/bash
# The scripted PostgreSQL workload: several roles doing what the rule pack must see, and what
# it must not flag. Usage: pg_workload.sh PSQL_ARGS... (host and port of a server started with
# pgaudit). Passwords are throwaway, for a loopback test instance.
set -euo pipefail
psql=(psql -X -q -v ON_ERROR_STOP=1 "$@")

"${psql[@]}" -U postgres -d postgres <<'SQL'
CREATE ROLE dba LOGIN SUPERUSER PASSWORD 'dba-pw';
CREATE ROLE teller LOGIN PASSWORD 'teller-pw';
CREATE ROLE analyst LOGIN PASSWORD 'analyst-pw';
CREATE ROLE intern LOGIN PASSWORD 'intern-pw';
CREATE ROLE auditor NOLOGIN; -- pgaudit.role: what it may read is object-audited
CREATE DATABASE bank OWNER dba;
SQL

"${psql[@]}" -U dba -d bank <<'SQL'
CREATE SCHEMA core;
CREATE TABLE core.customers (id int PRIMARY KEY, name text, id_number text, phone text,
                             branch text);
CREATE TABLE core.branches (id int PRIMARY KEY, city text);
CREATE TABLE core.accounts (id int PRIMARY KEY, customer_id int REFERENCES core.customers (id),
                            card_no text, balance int);
CREATE VIEW core.customers_masked AS
  SELECT id, name, left(id_number, 4) || '**************' AS id_number FROM core.customers;
INSERT INTO core.customers
  SELECT i, 'customer ' || i, '11010519491231002X', '1380013' || lpad(i::text, 4, '0'), 'b1'
  FROM generate_series(1, 2000) AS i;
INSERT INTO core.branches VALUES (1, 'Beijing'), (2, 'Shanghai');
GRANT USAGE ON SCHEMA core TO teller, analyst, intern;
GRANT SELECT ON core.customers TO teller, analyst;
GRANT SELECT ON core.branches TO intern;
GRANT SELECT ON core.customers_masked TO teller;
GRANT SELECT ON core.accounts TO analyst;
GRANT SELECT ON core.customers TO auditor;
SQL

# Single-row reads by a teller, one with a parameter.
PGPASSWORD=teller-pw "${psql[@]}" -U teller -d bank <<'SQL'
SELECT name, phone FROM core.customers WHERE id = 7;
SELECT name FROM core.customers WHERE id = 8;
PREPARE one(int) AS SELECT name, phone FROM core.customers WHERE id = $1;
EXECUTE one(9);
SQL

# Reads that say why, so they are no finding: a sqlcommenter comment, and an application the
# site maps to a purpose and consent (db.conf).
PGPASSWORD=teller-pw "${psql[@]}" -U teller -d bank -o /dev/null <<'SQL'
SELECT name, phone FROM core.customers WHERE id = 10 /*purpose='kyc',consent_id='CNS-10',ticket='CHG%2D1234'*/;
SET application_name = 'kyc-portal';
SELECT name FROM core.customers WHERE id = 11;
SQL

# A bulk export and a SELECT * on the C3 table by an analyst; a copy of a C2 table with a C3
# column (every column: C3), and of its C2 columns only.
PGPASSWORD=analyst-pw "${psql[@]}" -U analyst -d bank -o /dev/null <<'SQL'
COPY core.customers TO STDOUT;
SELECT * FROM core.customers WHERE branch = 'b1' LIMIT 5;
COPY core.accounts TO STDOUT;
COPY core.accounts (id, balance) TO STDOUT;
SQL

# A teller reads the masking view, which the catalogue classes C1: no finding, and nothing
# about the table under it.
PGPASSWORD=teller-pw "${psql[@]}" -U teller -d bank -o /dev/null <<'SQL'
SELECT * FROM core.customers_masked WHERE id = 20;
SQL

# A permission-denied read by an intern, and a harmless one.
PGPASSWORD=intern-pw "${psql[@]}" -U intern -d bank -o /dev/null <<'SQL' || true
SELECT city FROM core.branches;
SELECT id_number FROM core.customers WHERE id = 1;
SQL

# An intern tries one table after another: five refusals.
for t in customers accounts customers_masked customers accounts; do
	PGPASSWORD=intern-pw "${psql[@]}" -U intern -d bank -o /dev/null \
		-c "SELECT * FROM core.$t LIMIT 1" 2>/dev/null && exit 1
done

# A connection to a database that does not exist is a failed login, though the server says
# "connection authorized" first; a scanner tries names that are no accounts.
"${psql[@]}" -U dba -d nosuchdb -c 'SELECT 1' 2>/dev/null && exit 1
for name in scan_admin scan_oracle scan_test; do
	PGPASSWORD=guess "${psql[@]}" -U "$name" -d bank -c 'SELECT 1' 2>/dev/null && exit 1
done

# Five failed logins, then a success.
for i in 1 2 3 4 5; do
	PGPASSWORD=wrong "${psql[@]}" -U teller -d bank -c 'SELECT 1' 2>/dev/null && exit 1
done
PGPASSWORD=teller-pw "${psql[@]}" -U teller -d bank -c 'SELECT 1' >/dev/null

# A grant on the C3 table, a statement spanning lines with quotes, a join, and turning the audit
# log off.
"${psql[@]}" -U dba -d bank -o /dev/null <<'SQL'
GRANT SELECT ON core.customers TO intern;
SELECT c.name, b.city
  FROM core.customers c JOIN core.branches b ON b.id = 1
 WHERE c.name = 'O''Brien, "Jr"'
   AND c.id = 3;
SELECT * FROM core.branches b JOIN core.customers c ON c.branch = 'b' || b.id;
UPDATE core.customers SET phone = '13900000000' WHERE id = 3;
DELETE FROM core.branches WHERE id = 2;
SQL

# What the statement's verb hides: the sources of a copy are read; a foreign-key check is the
# server's; acting as another role; a schema created with its grant; names as the session sees
# them (the site's search_path for bank is core, public); grants over a whole schema; audit
# settings raised (information), then switched off (tampering).
"${psql[@]}" -U dba -d bank -o /dev/null <<'SQL'
CREATE TABLE core.copy1 AS SELECT * FROM core.customers WHERE id <= 3;
WITH c AS (SELECT id, name FROM core.customers WHERE id = 4)
  INSERT INTO core.copy1 (id, name) SELECT id, name FROM c;
INSERT INTO core.accounts VALUES (1, 7, '6222020200112233445', 100);
SET ROLE teller;
SELECT name FROM core.customers WHERE id = 12;
RESET ROLE;
CREATE SCHEMA reports CREATE TABLE daily (d date) GRANT SELECT ON daily TO analyst;
SET search_path = core, public;
GRANT SELECT ON customers TO intern;
GRANT SELECT ON ALL TABLES IN SCHEMA core TO analyst;
CREATE EXTENSION pgaudit;
ALTER SYSTEM SET pgaudit.log_rows = on;
SQL

# Dumps are exports of what they read: COPY, and with --inserts a cursor.
pg_dump "$@" -U dba -t core.customers bank >/dev/null
pg_dump "$@" -U dba --inserts -t core.branches bank >/dev/null

"${psql[@]}" -U dba -d bank -o /dev/null <<'SQL'
ALTER SYSTEM SET pgaudit.log = 'none';
SELECT pg_reload_conf();
SQL
