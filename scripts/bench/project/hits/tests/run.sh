#!/bin/sh
# hits' tests, against Redis ($REDIS_HOST) and MariaDB ($DB_HOST): the CGI
# scripts run directly and through busybox's httpd, and the archive loaded
# into MariaDB.
set -eu
cd /opt/hits
passed=0 failed=0
check() { # NAME WANT GOT
  if [ "$2" = "$3" ]; then passed=$((passed + 1)); echo "ok   $1"
  else failed=$((failed + 1)); echo "FAIL $1: want '$2', got '$3'"; fi
}
cgi() { # SCRIPT QUERY: the body of the script's response
  QUERY_STRING="$2" sh "www/cgi-bin/$1" | sed '1,/^\r$/d'
}
sql() { mariadb -h "${DB_HOST:-db}" -uroot -N -B hits -e "$1"; }

printf 'FLUSHDB\r\nQUIT\r\n' | nc "${REDIS_HOST:-cache}" 6379 >/dev/null
check "first hit counts 1" 1 "$(cgi hit page=home)"
check "second hit counts 2" 2 "$(cgi hit 'page=home&x=1')"
check "a page name is cleaned" 1 "$(cgi hit 'page=a/b;c')"
check "a second page" 1 "$(cgi hit page=about)"
check "count of the cleaned name" 1 "$(cgi count page=abc)"
check "count of home" 2 "$(cgi count page=home)"
check "count of a page never hit" 0 "$(cgi count page=none)"
check "no page is a 400" "Status: 400 Bad Request" "$(QUERY_STRING= sh www/cgi-bin/hit | head -n 1 | tr -d '\r')"

busybox httpd -p 127.0.0.1:8000 -h www
check "hit over HTTP" 3 "$(wget -qO- 'http://127.0.0.1:8000/cgi-bin/hit?page=home')"
check "health over HTTP" "ok ${APP_VERSION:-dev}" "$(wget -qO- http://127.0.0.1:8000/cgi-bin/health)"

sh bin/archive | mariadb -h "${DB_HOST:-db}" -uroot hits
check "archive: home" 3 "$(sql "SELECT n FROM visits WHERE page = 'home'")"
check "archive: pages" 3 "$(sql "SELECT COUNT(*) FROM visits")"

echo "$passed tests passed, $failed failed"
[ "$failed" -eq 0 ]
