#!/bin/bash
#
# tests/t_configure.sh
#     configure's version checks (README, "Supported versions"): libpq 14,
#     hiredis 0.14 and jansson 2.13 are the oldest the code needs. Fake .pc
#     files, first on PKG_CONFIG_PATH, stand for other versions of the
#     installed libraries (same headers and libraries, another version
#     number): libpq 13, hiredis 0.13 and jansson 2.12 are refused with a
#     message naming the package to install; libpq 14 (Scalingo's
#     scalingo-22 stack) is taken.

set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/common.sh
. "$here/lib/common.sh"

configure=$top_srcdir/configure
[ -x "$configure" ] || skip "no configure script in $top_srcdir (run autoreconf -fi)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# fake_pc DIR NAME VERSION: NAME.pc of the installed library, with VERSION
fake_pc() {
	local dir=$1 name=$2 version=$3
	mkdir -p "$dir"
	{
		echo "Name: $name"
		echo "Description: $name as installed, another version (tests/t_configure.sh)"
		echo "Version: $version"
		echo "Cflags: $(pkg-config --cflags "$name")"
		echo "Libs: $(pkg-config --libs "$name")"
	} >"$dir/$name.pc"
}

# try NAME WANT_STATUS PCDIR: runs configure in its own folder; output in $out
try() {
	local name=$1 want=$2 pcdir=$3 rc=0
	mkdir -p "$tmp/$name"
	out=$(cd "$tmp/$name" && PKG_CONFIG_PATH=$pcdir "$configure" --quiet 2>&1) || rc=$?
	if [ "$want" = 0 ] && [ "$rc" != 0 ]; then
		printf '%s\n' "$out" | tail -n 20 | sed 's/^/  | /' >&2
	fi
	if [ "$want" = 0 ]; then
		assert_eq "$name: configure succeeds" 0 "$rc"
	else
		[ "$rc" != 0 ] || fail "$name: configure succeeded"
		echo "ok: $name: configure fails"
	fi
}

fake_pc "$tmp/pq13" libpq 13.9
try "libpq 13" 1 "$tmp/pq13"
assert_contains "libpq 13: the message names the need and the package" "$out" \
	"libpq 14 or newer is needed"
assert_contains "libpq 13: ... and the package" "$out" "apt-get install libpq-dev"

fake_pc "$tmp/hiredis013" hiredis 0.13.3
try "hiredis 0.13" 1 "$tmp/hiredis013"
assert_contains "hiredis 0.13: the message names the need" "$out" "hiredis 0.14 or newer is needed"

fake_pc "$tmp/jansson212" jansson 2.12
try "jansson 2.12" 1 "$tmp/jansson212"
assert_contains "jansson 2.12: the message names the need" "$out" "jansson 2.13 or newer is needed"
assert_contains "jansson 2.12: ... and the package" "$out" "apt-get install libjansson-dev"

fake_pc "$tmp/pq14" libpq 14.0
try "libpq 14" 0 "$tmp/pq14"
assert_contains "libpq 14: configure checked for it" "$(cat "$tmp/libpq 14/config.log")" \
	"checking for libpq >= 14"
assert_eq "libpq 14: ... and pkg-config gave it version 14.0" "14.0" \
	"$(PKG_CONFIG_PATH=$tmp/pq14 pkg-config --modversion libpq)"
echo "t_configure: all checks passed"
