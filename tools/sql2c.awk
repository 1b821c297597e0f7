# tools/sql2c.awk: turn sql/NAME.sql files into C strings sql_NAME, so that
# every query lives in a file of its own. Writes the .c on stdout and
# declarations to `header`.
#
# A line "-- \include FILE" (FILE relative to the including file) is
# replaced by the lines of FILE, so that a fragment two queries share
# (sql/fragments/) has one source. With -v raw=1 it prints the SQL itself,
# fragments included, to run by hand in psql (its $n parameters given):
#     awk -v raw=1 -f tools/sql2c.awk sql/lots.sql
function emit(text) {
	if (raw) {
		print text
		return
	}
	gsub(/\\/, "&&", text)
	gsub(/"/, "\\\"", text)
	gsub(/\t/, "\\t", text)
	printf "%s\\n\"\n\t\"", text
}
function include(path, dir,    line, n) {
	n = 0
	while ((getline line < (dir "/" path)) > 0) {
		emit(line)
		n++
	}
	close(dir "/" path)
	if (n == 0) {
		printf "sql2c.awk: %s:%d: cannot include %s (missing or empty)\n", FILENAME, FNR,
			dir "/" path > "/dev/stderr"
		failed = 1
		exit 1
	}
}
FNR == 1 && !raw {
	if (name != "")
		print "\";\n"
	name = FILENAME
	sub(/.*\//, "", name)
	sub(/\.sql$/, "", name)
	print "const char sql_" name "[] ="
	printf "\""
	print "extern const char sql_" name "[];" > header
}
FNR == 1 {
	dir = FILENAME
	if (!sub(/\/[^\/]*$/, "", dir))
		dir = "."
}
/^-- \\include [^ ]+$/ {
	include($3, dir)
	next
}
{
	emit($0)
}
END {
	if (!failed && !raw)
		print "\";"
}
