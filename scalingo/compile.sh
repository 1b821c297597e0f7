#!/usr/bin/env bash
# scalingo/compile.sh BUILD_DIR CACHE_DIR [ENV_DIR]
#     The Scalingo build of import_ecoloweb_data (bin/compile runs it, as the
#     buildpack API's compile step, after the APT buildpack installed the
#     Aptfile's packages and exported their paths). It builds out of tree in
#     CACHE_DIR, installs the program and its man page into BUILD_DIR/.ecolo,
#     and puts them on the PATH and MANPATH of every container through
#     BUILD_DIR/.profile.d. Nothing of the build folder stays in the image.
set -euo pipefail

build=$(cd "$1" && pwd)
cache=$2
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
prefix=$build/.ecolo
work=$cache/import_ecoloweb_data-build

step() { echo "-----> $*"; }
indent() { sed -u 's/^/       /'; }

# the APT buildpack's packages are under BUILD_DIR/.apt: their autoconf macros too
if [ -d "$build/.apt/usr/share/aclocal" ]; then
	export ACLOCAL_PATH=$build/.apt/usr/share/aclocal${ACLOCAL_PATH:+:$ACLOCAL_PATH}
fi

step "Building import_ecoloweb_data"
(cd "$build" && autoreconf -fi) 2>&1 | indent
rm -rf "$work"
mkdir -p "$work"
# a newer compiler's new warning must not stop a deployment: warnings stay warnings
(cd "$work" && "$build/configure" --quiet --prefix="$prefix" --disable-werror) 2>&1 | indent
make -C "$work" -j"$(nproc)" 2>&1 | indent
rm -rf "$prefix"
make -C "$work" install 2>&1 | indent
rm -rf "$work"

step "Putting import_ecoloweb_data on the containers' PATH"
mkdir -p "$build/.profile.d"
cp "$build/scalingo/profile.sh" "$build/.profile.d/import_ecoloweb_data.sh"
"$prefix/bin/import_ecoloweb_data" --version | indent
