# .profile.d/import_ecoloweb_data.sh (from scalingo/profile.sh): sourced when
# a container starts, after the APT buildpack's script (000_apt.sh) that
# makes the libraries it installed findable.
export PATH="$HOME/.ecolo/bin:$PATH"
export MANPATH="$HOME/.ecolo/share/man:${MANPATH:-}"
# ECOLO_PG_ROOT_CERT: the PEM of the authority that signs the database
# servers' certificates, for URLs with sslmode=verify-full; libpq reads it
# from its default place.
if [ -n "${ECOLO_PG_ROOT_CERT:-}" ]; then
	mkdir -p "$HOME/.postgresql"
	printf '%s\n' "$ECOLO_PG_ROOT_CERT" >"$HOME/.postgresql/root.crt"
	chmod 600 "$HOME/.postgresql/root.crt"
fi
