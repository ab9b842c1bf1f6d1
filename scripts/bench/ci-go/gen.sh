#!/usr/bin/env bash
# gen.sh DIR PACKAGES TESTS: a Go module (stdlib only, Go 1.19) with
# PACKAGES packages of TESTS tests each; the first test of every package
# talks to MariaDB at $DB_ADDR (reads the server's handshake over TCP:
# protocol version 10; no driver, so the module builds offline).
set -euo pipefail
dir="$1" pkgs="$2" tests="$3"
mkdir -p "$dir/cmd/app"
printf 'module benchgo\n\ngo 1.19\n' >"$dir/go.mod"
printf 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("bench app") }\n' >"$dir/cmd/app/main.go"
for p in $(seq -w 0 $((pkgs - 1))); do
  d="$dir/pkg/p$p"
  mkdir -p "$d"
  cat >"$d/p$p.go" <<GO
package p$p

import "strings"

// Work is something to test.
func Work(n int) int {
	s := 0
	for i := 0; i < n; i++ {
		s += len(strings.Repeat("x", i%7)) * i
	}
	return s
}
GO
  {
    printf 'package p%s\n\nimport (\n\t"io"\n\t"net"\n\t"os"\n\t"testing"\n)\n\n' "$p"
    printf 'func TestDB(t *testing.T) {\n\tc, err := net.Dial("tcp", os.Getenv("DB_ADDR"))\n\tif err != nil {\n\t\tt.Fatal(err)\n\t}\n\tdefer c.Close()\n\thello := make([]byte, 5)\n\tif _, err := io.ReadFull(c, hello); err != nil || hello[4] != 10 {\n\t\tt.Fatalf("handshake %%v %%v", hello, err)\n\t}\n}\n\n'
    for i in $(seq 2 "$tests"); do
      printf 'func TestWork%d(t *testing.T) {\n\tif Work(%d) < 0 {\n\t\tt.Fatal("negative")\n\t}\n}\n\n' "$i" "$((i * 100))"
    done
  } >"$d/p${p}_test.go"
done
