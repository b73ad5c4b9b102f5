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
CREATE DATABASE bank OWNER dba;
SQL

"${psql[@]}" -U dba -d bank <<'SQL'
CREATE SCHEMA core;
CREATE TABLE core.customers (id int PRIMARY KEY, name text, id_number text, phone text,
                             branch text);
CREATE TABLE core.branches (id int PRIMARY KEY, city text);
INSERT INTO core.customers
  SELECT i, 'customer ' || i, '11010519491231002X', '1380013' || lpad(i::text, 4, '0'), 'b1'
  FROM generate_series(1, 2000) AS i;
INSERT INTO core.branches VALUES (1, 'Beijing'), (2, 'Shanghai');
GRANT USAGE ON SCHEMA core TO teller, analyst, intern;
GRANT SELECT ON core.customers TO teller, analyst;
GRANT SELECT ON core.branches TO intern;
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

# A bulk export and a SELECT * on the C3 table by an analyst.
PGPASSWORD=analyst-pw "${psql[@]}" -U analyst -d bank -o /dev/null <<'SQL'
COPY core.customers TO STDOUT;
SELECT * FROM core.customers WHERE branch = 'b1' LIMIT 5;
SQL

# A permission-denied read by an intern, and a harmless one.
PGPASSWORD=intern-pw "${psql[@]}" -U intern -d bank -o /dev/null <<'SQL' || true
SELECT city FROM core.branches;
SELECT id_number FROM core.customers WHERE id = 1;
SQL

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
ALTER SYSTEM SET pgaudit.log = 'none';
SELECT pg_reload_conf();
SQL
