#!/bin/bash
# The scripted MariaDB workload, the counterpart of pg_workload.sh. Usage: my_workload.sh
# CLIENT_ARGS... (socket or host and port of a server with server_audit loaded).
set -euo pipefail
my=(mariadb --batch --skip-column-names --comments "$@") # --comments: sent to the server

"${my[@]}" -u root <<'SQL'
DELETE FROM mysql.global_priv WHERE User = '';  -- anonymous users shadow user@'%'
FLUSH PRIVILEGES;
CREATE USER dba@'%' IDENTIFIED BY 'dba-pw';
GRANT ALL ON *.* TO dba@'%' WITH GRANT OPTION;
CREATE USER teller@'%' IDENTIFIED BY 'teller-pw';
CREATE USER analyst@'%' IDENTIFIED BY 'analyst-pw';
CREATE USER intern@'%' IDENTIFIED BY 'intern-pw';
SQL

"${my[@]}" -u dba -pdba-pw <<'SQL'
CREATE DATABASE core;
USE core;
CREATE TABLE core.customers (id int PRIMARY KEY, name text, id_number text, phone text,
                             branch text);
CREATE TABLE core.branches (id int PRIMARY KEY, city text);
INSERT INTO core.customers
  SELECT seq, concat('customer ', seq), '11010519491231002X', concat('1380013', lpad(seq, 4, '0')), 'b1'
  FROM seq_1_to_2000;
INSERT INTO core.branches VALUES (1, 'Beijing'), (2, 'Shanghai');
CREATE VIEW core.customers_masked AS
  SELECT id, name, concat(left(id_number, 4), '**************') AS id_number FROM core.customers;
GRANT SELECT ON core.customers TO teller@'%', analyst@'%';
GRANT SELECT ON core.customers_masked TO teller@'%';
GRANT SELECT ON core.branches TO intern@'%';
GRANT FILE ON *.* TO analyst@'%';
CREATE ROLE auditor_ro;
GRANT SELECT ON core.customers TO auditor_ro;
GRANT auditor_ro TO intern@'%';
SQL

"${my[@]}" -u teller -pteller-pw core <<'SQL'
SELECT * FROM customers_masked WHERE id = 20;
SELECT name, phone FROM core.customers WHERE id = 7;
SELECT name FROM customers WHERE id = 8;
SELECT name FROM customers WHERE id = 12 /*purpose='kyc',consent_id='CNS-12'*/;
SQL

"${my[@]}" -u analyst -panalyst-pw core >/dev/null <<SQL
SELECT * FROM core.customers INTO OUTFILE '$OUTFILE';
SELECT * FROM core.customers WHERE branch = 'b1' LIMIT 5;
SQL

"${my[@]}" -u intern -pintern-pw core >/dev/null 2>&1 <<'SQL' || true
SELECT city FROM core.branches;
SELECT id_number FROM core.customers WHERE id = 1;
SQL

# The intern reads the customers only with the role's privileges.
"${my[@]}" -u intern -pintern-pw core >/dev/null <<'SQL'
SET ROLE auditor_ro;
SELECT name FROM core.customers WHERE id = 41;
SET ROLE NONE;
SQL

for t in customers accounts customers customers_masked customers; do
	"${my[@]}" -u intern -pintern-pw core -e "SELECT * FROM core.$t LIMIT 1" >/dev/null 2>&1 &&
		exit 1
done

for i in 1 2 3 4 5; do
	"${my[@]}" -u teller -pwrong -e 'SELECT 1' 2>/dev/null && exit 1
done
"${my[@]}" -u teller -pteller-pw -e 'SELECT 1' >/dev/null

"${my[@]}" -u dba -pdba-pw core >/dev/null <<'SQL'
GRANT SELECT ON core.customers TO intern@'%';
SELECT c.name, b.city
  FROM core.customers c JOIN core.branches b ON b.id = 1
 WHERE c.name = 'O\'Brien, "Jr"'
   AND c.id = 3;
UPDATE core.customers SET phone = '13900000000' WHERE id = 3;
DELETE FROM core.branches WHERE id = 2;
CREATE TABLE core.copy1 AS SELECT * FROM core.customers WHERE id <= 3;
GRANT SELECT ON core.* TO analyst@'%';
SET GLOBAL server_audit_logging = OFF;
SELECT name FROM core.customers WHERE id = 10;
SET GLOBAL server_audit_logging = ON;
SQL

# The teller excluded from the audit log for three statements: a hole in the trail.
"${my[@]}" -u dba -pdba-pw -e "SET GLOBAL server_audit_excl_users = 'teller'"
"${my[@]}" -u teller -pteller-pw core >/dev/null <<'SQL'
SELECT name FROM customers WHERE id = 30;
SELECT name FROM customers WHERE id = 31;
SELECT name FROM customers WHERE id = 32;
SQL
"${my[@]}" -u dba -pdba-pw -e "SET GLOBAL server_audit_excl_users = ''"

# A dump is an export of what it reads.
mariadb-dump "$@" -u dba -pdba-pw core customers >/dev/null
