# Throwaway PostgreSQL (with pgaudit) and MariaDB (with server_audit) servers for the database
# tests: each under the test's temporary directory, on a loopback port, stopped on exit. As
# root (CI), the servers run as their packages' users, which must be able to reach the
# directory. A machine without the servers skips the test (exit 77).
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

# run_as USER CMD...: runs CMD as the server's user when we are root.
run_as() {
	local user=$1
	shift
	if [ "$(id -u)" -eq 0 ]; then runuser -u "$user" -- "$@"; else "$@"; fi
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

share_workdir() {
	[ "$(id -u)" -eq 0 ] || return 0
	chmod 755 "$WORK"
}

# start_postgres [postgresql.conf lines...]: initdb, pgaudit and the logging collector writing
# stderr, csvlog and jsonlog at once; sets PGPORT, PGDATA and PGLOGDIR.
start_postgres() {
	[ -x "$PGBIN/initdb" ] && [ -e "$PGBIN/../lib/pgaudit.so" ] || {
		echo "skip: postgresql-15 and postgresql-15-pgaudit are not installed"
		exit 77
	}
	share_workdir
	PGDATA=$WORK/pg
	PGPORT=$(free_port)
	PGLOGDIR=$PGDATA/log
	mkdir -p "$PGDATA"
	[ "$(id -u)" -eq 0 ] && chown postgres "$PGDATA"
	run_as postgres "$PGBIN/initdb" -D "$PGDATA" -A trust -U postgres >"$WORK/initdb.log" ||
		fail "initdb failed"
	cat >>"$PGDATA/postgresql.conf" <<-CONF
		listen_addresses = '127.0.0.1'
		port = $PGPORT
		unix_socket_directories = '$PGDATA'
		shared_preload_libraries = 'pgaudit'
		logging_collector = on
		log_directory = 'log'
		log_file_mode = 0640
		log_destination = 'stderr,csvlog,jsonlog'
		log_filename = 'postgresql-%Y%m%d-%H%M%S.log'
		log_line_prefix = '%m [%p] %q%u@%d %r %a '
		log_connections = on
		pgaudit.log = 'read,write,ddl,role,misc_set'
		pgaudit.log_relation = on
		pgaudit.log_rows = on
		pgaudit.log_parameter = on
	CONF
	for line in "$@"; do echo "$line" >>"$PGDATA/postgresql.conf"; done
	# Passwords over TCP for the workload's roles; the superusers set up without one.
	cat >"$PGDATA/pg_hba.conf" <<-HBA
		local all all trust
		host all postgres 127.0.0.1/32 trust
		host all dba 127.0.0.1/32 trust
		host all all 127.0.0.1/32 scram-sha-256
	HBA
	run_as postgres "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/pg_ctl.log" -w start >/dev/null
	PG_STARTED=1
}

stop_postgres() {
	[ -n "${PG_STARTED:-}" ] || return 0
	run_as postgres "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
	PG_STARTED=
	# dgaudit reads the logs as the test's user
	[ "$(id -u)" -eq 0 ] && chmod -R a+rX "$PGLOGDIR"
	return 0
}

# start_mariadb [server options...]: a fresh data directory and server_audit logging
# CONNECT, QUERY and TABLE events; sets MYPORT, MYSOCK and MYLOG.
start_mariadb() {
	command -v mariadbd >/dev/null && command -v mariadb-install-db >/dev/null || {
		echo "skip: mariadb-server is not installed"
		exit 77
	}
	share_workdir
	local dir=$WORK/my user=mysql
	[ "$(id -u)" -eq 0 ] || user=$(id -un)
	mkdir -p "$dir/data" "$dir/log" "$dir/tmp"
	[ "$(id -u)" -eq 0 ] && chown -R mysql "$dir"
	MYPORT=$(free_port)
	MYSOCK=$dir/sock
	MYLOG=$dir/log/server_audit.log
	# A private TMPDIR: bootstraps running at once otherwise clash on temporary tables.
	run_as "$user" env TMPDIR="$dir/tmp" mariadb-install-db --no-defaults \
		--datadir="$dir/data" --user="$user" --auth-root-authentication-method=normal \
		>"$WORK/install-db.log" 2>&1 || {
		grep -i -m5 error "$WORK/install-db.log" >&2
		fail "mariadb-install-db failed"
	}
	run_as "$user" mariadbd --no-defaults --datadir="$dir/data" --user="$user" \
		--tmpdir="$dir/tmp" \
		--port="$MYPORT" --bind-address=127.0.0.1 --socket="$MYSOCK" --pid-file="$dir/pid" \
		--log-error="$dir/error.log" --plugin-load-add=server_audit \
		--server_audit_logging=ON --server_audit_events=CONNECT,QUERY,TABLE \
		--server_audit_file_path="$MYLOG" "$@" &
	MY_PID=$!
	for _ in $(seq 100); do
		mariadb -S "$MYSOCK" -u root -e 'SELECT 1' >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	cat "$dir/error.log" >&2
	fail "mariadb did not start"
}

stop_mariadb() {
	[ -n "${MY_PID:-}" ] || return 0
	mariadb -S "$MYSOCK" -u root -e 'SHUTDOWN' >/dev/null 2>&1 || kill "$MY_PID"
	wait "$MY_PID" 2>/dev/null || true
	MY_PID=
	[ "$(id -u)" -eq 0 ] && chmod -R a+rX "$(dirname "$MYLOG")"
	return 0
}

# expect_findings FILE LABEL: the findings in FILE, as sorted "rule user object" lines, are
# exactly $expected.
expect_findings() {
	local got
	got=$(jq -r '"\(.rule) \(.fields["user.name"] // "-") \(.fields["dg.object"] // "-")"' \
		"$1" | sort)
	[ "$got" = "$expected" ] || fail "$2 findings differ:$(diff <(echo "$expected") <(echo "$got"))"
}

stop_servers() {
	stop_postgres || true
	stop_mariadb || true
}
