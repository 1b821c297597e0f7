#!/usr/bin/env bash
# shellcheck disable=SC2119 # servers_* helpers take optional arguments
#
# scalingo/simulate-build.sh
#     The Scalingo deployment, as close to the platform as this machine
#     allows (run-tests.sh runs it in CI):
#     1. a clean checkout (the files git tracks) is copied into a temporary
#        BUILD_DIR; the Aptfile's packages are installed with apt-get (the
#        APT buildpack's part);
#     2. the kit's build runs exactly as the buildpack API does (through
#        the inline buildpack): bin/detect BUILD_DIR, bin/compile BUILD_DIR
#        CACHE_DIR ENV_DIR, bin/release BUILD_DIR, in a bare environment;
#        release declares no process type (no web container);
#     3. BUILD_DIR is copied to a new place (the container's /app) and the
#        build folders are deleted: from that copy, with nothing but its
#        .profile.d scripts, import_ecoloweb_data is on the PATH, runs
#        --version and imports a generated département into throwaway
#        servers;
#     4. ldd finds every library of the program, each in a package that the
#        Aptfile (or what its packages depend on, which the stack image
#        provides) names, none in the checkout or the build folders.
#     Exit 0 when all hold, 1 otherwise.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
# shellcheck source=tests/lib/common.sh
. "$repo/tests/lib/common.sh"
# shellcheck source=tests/lib/servers.sh
. "$repo/tests/lib/servers.sh"

tmp=$(mktemp -d /tmp/scalingo-build.XXXXXX)
cleanup_tmp() { rm -rf "$tmp"; }
servers_at_exit cleanup_tmp
trap cleanup_tmp EXIT
build=$tmp/build cache=$tmp/cache env_dir=$tmp/env app=$tmp/app

# --- 1. a clean checkout and the Aptfile's packages ----------------------------------
mkdir -p "$build" "$cache" "$env_dir"
git -C "$repo" ls-files -z | (cd "$repo" && xargs -0 cp --parents -t "$build")
mapfile -t aptfile < <(grep -v -e '^#' -e '^[[:space:]]*$' "$build/Aptfile")
echo "scalingo: Aptfile: ${aptfile[*]}"
ensure_packages "${aptfile[@]}" || fail "cannot install the Aptfile's packages"

# --- 2. the buildpack API --------------------------------------------------------------
bare() { env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$tmp" STACK=scalingo-22 "$@"; }
name=$(bare "$build/bin/detect" "$build") || fail "bin/detect refused the app"
echo "scalingo: bin/detect: $name"
bare "$build/bin/compile" "$build" "$cache" "$env_dir" || fail "bin/compile failed"
release=$(bare "$build/bin/release" "$build") || fail "bin/release failed"
assert_contains "bin/release declares no process type" "$release" "default_process_types: {}"
[ -z "$(find "$build" -name '*.o' -print -quit)" ] || fail "objects left in BUILD_DIR"

# --- 3. from a copy of BUILD_DIR, without the build folders ----------------------------
cp -a "$build" "$app"
rm -rf "$build" "$cache"
# container: a bare environment, HOME=/app, the .profile.d scripts sourced
in_app() {
	env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$app" \
		ECOLO_DATABASE_URL="${ECOLO_DATABASE_URL:-}" DATABASE_URL="${DATABASE_URL:-}" \
		REDIS_URL="${REDIS_URL:-}" ECOLO_PG_ROOT_CERT="${ECOLO_PG_ROOT_CERT:-}" bash -c 'for f in "$HOME"/.profile.d/*.sh; do . "$f"; done; cd /; "$@"' \
		in_app "$@"
}
version=$(in_app import_ecoloweb_data --version) || fail "import_ecoloweb_data --version failed"
assert_contains "import_ecoloweb_data is on the PATH and runs" "$version" "import_ecoloweb_data "
prog_path=$(in_app sh -c 'command -v import_ecoloweb_data')
assert_eq "the program is the one the build installed" "$app/.ecolo/bin/import_ecoloweb_data" "$prog_path"
man_page=$(in_app sh -c 'ls "$HOME"/.ecolo/share/man/man1/')
root_crt=$(ECOLO_PG_ROOT_CERT=$'-----BEGIN CERTIFICATE-----\nTEST\n-----END CERTIFICATE-----' \
	in_app sh -c 'cat "$HOME/.postgresql/root.crt"')
assert_contains "ECOLO_PG_ROOT_CERT becomes libpq's root.crt" "$root_crt" "TEST"
rm -rf "$app/.postgresql"
assert_contains "the man page is installed" "$man_page" "import_ecoloweb_data.1"

# --- 4. the libraries ------------------------------------------------------------------
libs=$(in_app ldd "$prog_path")
printf '%s\n' "$libs" | sed 's/^/scalingo: ldd: /'
assert_not_contains "ldd finds every library" "$libs" "not found"
# the packages the Aptfile brings, with everything they depend on
mapfile -t allowed < <(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
	--no-breaks --no-replaces --no-enhances "${aptfile[@]}" 2>/dev/null |
	sed -n 's/^\([a-z0-9][^ <>]*\)$/\1/p; s/^ *Depends: \([^<> ]*\)$/\1/p' | sort -u)
while read -r lib; do
	case $lib in
	"$app"/.apt/*) continue ;; # installed by the APT buildpack: the Aptfile's
	"$repo"/* | "$tmp"/*) fail "library $lib comes from the checkout or the build folders" ;;
	esac
	pkg=$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null | head -1 | cut -d: -f1) ||
		pkg=$(dpkg -S "$lib" 2>/dev/null | head -1 | cut -d: -f1) || true
	[ -n "$pkg" ] || fail "library $lib belongs to no package"
	printf '%s\n' "${allowed[@]}" | grep -qx "$pkg" ||
		fail "library $lib ($pkg) is neither in the Aptfile nor what its packages depend on"
	echo "ok: $lib: package $pkg"
done < <(printf '%s\n' "$libs" | sed -n 's/.*=> \(\/[^ ]*\) (.*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (.*/\1/p')

# --- 3 (end). a small import with the deployed program ---------------------------------
servers_start || fail "cannot start the test servers"
ECOLO_DATABASE_URL=$(servers_url ecoloweb)
DATABASE_URL=$(servers_url apilos)
REDIS_URL=$(servers_redis_url)
load_generated ecoloweb --departements 22 --conventions 10
load_apilos_schema apilos
log=$tmp/import.log
rc=0
in_app import_ecoloweb_data --departement 22 --no-progress >"$log" 2>&1 || rc=$?
[ "$rc" = 0 ] || sed 's/^/  | /' "$log" >&2
assert_eq "the deployed program imports département 22" 0 "$rc"
conventions=$(psql_q apilos "SELECT count(*) FROM conventions_convention")
[ "$conventions" -gt 0 ] || fail "nothing imported"
echo "scalingo: simulated build: all checks passed ($conventions conventions imported)"
