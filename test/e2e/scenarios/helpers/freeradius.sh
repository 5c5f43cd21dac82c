# FreeRADIUS 3.2 and PostgreSQL 15 helpers for the RADIUS lab scenarios (sourced after lib.sh).
# Both are Debian's packages, run from configuration and data written under $LAB_TMP.

# lab_raddb DIR : Debian's /etc/freeradius/3.0 copied to DIR, run as root, logs (radius.log,
# radacct/ detail files) in $LAB_TMP/radlog, pid file in $LAB_TMP/radrun.
lab_raddb() {
  cp -a /etc/freeradius/3.0 "$1"
  mkdir -p "$LAB_TMP/radlog" "$LAB_TMP/radrun"
  sed -i -e 's/^\s*user = freerad/#&/' -e 's/^\s*group = freerad/#&/' \
    -e "s|^logdir = .*|logdir = $LAB_TMP/radlog|" -e "s|^run_dir = .*|run_dir = $LAB_TMP/radrun|" \
    "$1/radiusd.conf"
}

PG_BIN=/usr/lib/postgresql/15/bin
# PostgreSQL's data directory and Unix socket directory (psql -h, libpq host=).
PG_DIR=$LAB_TMP/pg

# lab_psql ARGS... : psql as the superuser on the lab's database `radius`, unaligned, no
# headers. Each psql costs seconds under TCG at high load: one query per check.
lab_psql() {
  psql -h "$PG_DIR" -U postgres -d radius -v ON_ERROR_STOP=1 -qAt "$@"
}

# lab_postgres NS : PostgreSQL in NS as the `postgres` user, data and its Unix socket in
# $LAB_TMP/pg (no TCP), durability off (a throwaway cluster): the cluster the host runner
# made (lab/postgres.mjs, $LAB_PG_CLUSTER, a .tar.gz: database `radius` with FreeRADIUS's main
# schema, radacct and the rest, and sqlippool's radippool), since initdb takes minutes here.
# Returns once it is started: lab_postgres_ready waits for it.
lab_postgres() {
  mkdir -p "$PG_DIR"
  tar -C "$PG_DIR" -xzf "$LAB_PG_CLUSTER"
  chown postgres:postgres "$PG_DIR"
  lab_bg postgres ip netns exec "$1" setpriv --reuid=postgres --regid=postgres --clear-groups \
    "$PG_BIN/postgres" -D "$PG_DIR/data" -k "$PG_DIR" -c listen_addresses= -c fsync=off \
    -c synchronous_commit=off -c full_page_writes=off
}

# lab_postgres_ready : waits until the PostgreSQL of lab_postgres accepts connections.
lab_postgres_ready() {
  lab_wait 180 "PostgreSQL accepting connections" "$PG_BIN/pg_isready" -q -h "$PG_DIR" -U postgres -d radius
}

# lab_raddb_sqlippool DIR : the raddb in DIR (lab_raddb) gets the sql module on the lab's
# PostgreSQL (accounting into radacct) and sqlippool (Framed-IP-Address from radippool for
# requests whose control list has Pool-Name; the lease refreshed by Start and Interim, ended
# by Stop). A full pool rejects the request: without an address the call could not come up.
# The same edits as docs/RADIUS.md tells an operator to make.
lab_raddb_sqlippool() {
  sed -i -e 's/^\s*dialect = "sqlite"/\tdialect = "postgresql"/' \
    -e 's/^\s*driver = "rlm_sql_null"/\tdriver = "rlm_sql_${dialect}"/' \
    -e "s|^\s*radius_db = \"radius\"|\tradius_db = \"dbname=radius host=$PG_DIR user=postgres\"|" \
    -e 's/= ${thread\[pool\]\.start_servers}/= 1/' -e 's/= ${thread\[pool\]\.min_spare_servers}/= 1/' \
    -e 's/= ${thread\[pool\]\.max_spare_servers}/= 2/' \
    "$1/mods-available/sql"
  sed -i -e 's/^\s*dialect = "mysql"/\tdialect = "postgresql"/' "$1/mods-available/sqlippool"
  ln -s ../mods-available/sql "$1/mods-enabled/sql"
  ln -s ../mods-available/sqlippool "$1/mods-enabled/sqlippool"
  # sites-enabled/default: sqlippool uncommented in accounting and post-auth.
  awk '
    /^accounting \{/ { section = "accounting" }
    /^post-auth \{/ { section = "post-auth" }
    /^#\tsqlippool$/ && section == "accounting" { print "\tsqlippool"; next }
    /^#\tsqlippool$/ && section == "post-auth" {
      print "\tsqlippool"
      print "\tif (notfound) {"
      print "\t\treject"
      print "\t}"
      next
    }
    { print }' "$1/sites-available/default" >"$1/sites-available/default.new"
  mv "$1/sites-available/default.new" "$1/sites-available/default"
  [ "$(grep -c '^	sqlippool$' "$1/sites-available/default")" -eq 2 ] ||
    lab_fail "sqlippool not placed in the default site"
}
