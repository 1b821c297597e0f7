#!/bin/bash
#
# tests/t_manpage.sh
#     The man page matches --help, renders cleanly and is installed:
#       1. the long and short options of --help's "Options:" part and of the
#          man page's OPTIONS section are the same, and every option of the
#          program's getopt table (src/options.c) is in both;
#       2. groff (-ww: every warning) and man -l, in the C locale (an ASCII
#          terminal) and in C.UTF-8, render the page without a warning;
#       3. make install-data puts the page into man1 and the summary's
#          schema and its description beside the documentation.
#     Skipped (exit 77) only when neither man nor groff is installed.

set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/common.sh
. "$here/lib/common.sh"

prog=$top_builddir/import_ecoloweb_data
page=$top_srcdir/doc/import_ecoloweb_data.1
[ -x "$prog" ] || fail "program not built: $prog"
[ -f "$page" ] || fail "man page missing: $page"
command -v groff >/dev/null 2>&1 || command -v man >/dev/null 2>&1 ||
	skip "neither groff nor man is installed (Debian: groff-base, man-db)"
command -v groff >/dev/null 2>&1 || fail "man is installed without groff (Debian: groff-base)"
TMPDIR_T=$(mktemp -d) || fail "mktemp failed"
trap 'rm -rf "$TMPDIR_T"' EXIT

# options_of: the options (--long and -x) named in the text on stdin, sorted, one a line
options_of() {
	grep -oE -- '(^|[^[:alnum:]-])(--[a-z][a-z_-]*[a-z]|-[a-zA-Z])\b' |
		sed -E 's/^[^-]+//' | sort -u
}

# --- 1. the same options ------------------------------------------------------
help_opts=$("$prog" --help | sed -n '/^Options:/,/^Environment:/p' | options_of)
# the OPTIONS section as text, hyphens as '-' (-Tascii), no overstriking
man_opts=$(groff -man -Tascii -P-cbou "$page" 2>/dev/null |
	sed -n '/^OPTIONS/,/^ENVIRONMENT/p' | options_of)
table_opts=$(sed -n '/long_options\[\] = {/,/^};/p' "$top_srcdir/src/options.c" |
	grep -oE '\{"[a-z][a-z_-]*"' | sed -E 's/^\{"/--/; s/"$//' | sort -u)

[ -n "$help_opts" ] || fail "no option found in --help"
[ -n "$man_opts" ] || fail "no option found in the man page's OPTIONS section"
if [ "$help_opts" != "$man_opts" ]; then
	diff <(printf '%s\n' "$help_opts") <(printf '%s\n' "$man_opts") |
		sed 's/^</  only in --help:/; s/^>/  only in the man page:/' | grep only >&2
	fail "--help and the man page do not list the same options"
fi
printf 'ok: --help and the man page list the same %s options\n' "$(printf '%s\n' "$help_opts" | wc -l)"
undocumented=$(comm -23 <(printf '%s\n' "$table_opts") <(printf '%s\n' "$help_opts"))
[ -z "$undocumented" ] ||
	fail "options of src/options.c in neither --help nor the man page: $undocumented"
printf 'ok: every option of the getopt table is documented\n'

# --- 2. rendered without a warning ---------------------------------------------
warnings=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
assert_eq "groff -man -Tutf8 -ww: no warning" "" "$warnings"
warnings=$(groff -man -Tascii -ww -z "$page" 2>&1)
assert_eq "groff -man -Tascii -ww: no warning" "" "$warnings"
if command -v man >/dev/null 2>&1; then
	for loc in C C.UTF-8; do
		rc=0
		text=$(LC_ALL=$loc MANWIDTH=80 MANPAGER=cat man --warnings -l "$page" 2>"$TMPDIR_T/man.err") || rc=$?
		assert_eq "man -l ($loc): exit status" 0 "$rc"
		assert_eq "man -l ($loc): no warning" "" "$(cat "$TMPDIR_T/man.err")"
		assert_contains "man -l ($loc): the page is rendered" "$text" "log-format"
		long=$(printf '%s\n' "$text" | awk 'length > 80' | head -3)
		assert_eq "man -l ($loc): no line wider than 80 columns" "" "$long"
	done
else
	printf 'note: man is not installed, only groff checked (Debian: man-db)\n'
fi

# --- 3. installed ----------------------------------------------------------------
if [ -f "$top_builddir/Makefile" ]; then
	dest=$TMPDIR_T/install
	make -s -C "$top_builddir" install-data DESTDIR="$dest" prefix=/usr >"$TMPDIR_T/install.log" 2>&1 ||
		{ sed 's/^/  | /' "$TMPDIR_T/install.log" >&2; fail "make install-data failed"; }
	for f in share/man/man1/import_ecoloweb_data.1 \
		share/doc/import_ecoloweb_data/summary.schema.json \
		share/doc/import_ecoloweb_data/summary-json.md; do
		[ -f "$dest/usr/$f" ] || fail "make install does not install /usr/$f"
		printf 'ok: make install installs /usr/%s\n' "$f"
	done
fi

printf 'PASS: %s\n' "$(basename "$0")"
