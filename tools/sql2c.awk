# tools/sql2c.awk: turn sql/NAME.sql files into C strings sql_NAME, so that
# every query lives in a file that also runs as is in psql (with its $n
# parameters given). Writes the .c on stdout and declarations to `header`.
FNR == 1 {
	if (name != "")
		print "\";\n"
	name = FILENAME
	sub(/.*\//, "", name)
	sub(/\.sql$/, "", name)
	print "const char sql_" name "[] =" 
	printf "\""
	print "extern const char sql_" name "[];" > header
}
{
	line = $0
	gsub(/\\/, "&&", line)
	gsub(/"/, "\\\"", line)
	gsub(/\t/, "\\t", line)
	printf "%s\\n\"\n\t\"", line
}
END {
	print "\";"
}
