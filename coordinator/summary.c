/*
 * coordinator/summary.c
 *     The summary printed at the end of a launch, and its JSON twin.
 */
#include <errno.h>
#include <string.h>

#include "log.h"
#include "summary.h"

/* json_string writes s as a JSON string (codes and names need little escaping). */
static void json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', out);
		if ((unsigned char)*s < 0x20)
			fprintf(out, "\\u%04x", *s);
		else
			fputc(*s, out);
	}
	fputc('"', out);
}

void summary_print(const launch *l, FILE *out)
{
	fprintf(out, "\nSummary (run date %s)\n", l->run_date);
	fprintf(out, "%-4s %-15s %-14s %9s %9s %9s %9s %9s %7s\n", "dep", "state", "entity", "read",
	        "created", "matched", "skipped", "updated", "errors");
	for (size_t i = 0; i < l->n; i++) {
		const dep_run *d = &l->deps[i];
		double secs = d->ended > d->started ? d->ended - d->started : 0;

		fprintf(out, "%-4s %-15s %-14s (%.1f s)%s%s\n", d->code, dep_state_name(d->state),
		        "", secs, d->last_error[0] ? " " : "", d->last_error);
		for (int e = 0; e < ENT_COUNT; e++) {
			const entity_counts *c = &d->counts[e];
			fprintf(out, "%-4s %-15s %-14s %9u %9u %9u %9u %9u %7u\n", d->code, "",
			        entity_name(e), c->read, c->created, c->matched, c->skipped,
			        c->updated, c->errors);
		}
	}
	fflush(out);
}

/* json_dep writes one département's object. */
static void json_dep(FILE *out, const dep_run *d)
{
	fputs("{\"departement\": ", out);
	json_string(out, d->code);
	fputs(", \"state\": ", out);
	json_string(out, dep_state_name(d->state));
	fprintf(out, ", \"seconds\": %.3f, \"error\": ",
	        d->ended > d->started ? d->ended - d->started : 0.0);
	json_string(out, d->last_error);
	fputs(", \"entities\": {", out);
	for (int e = 0; e < ENT_COUNT; e++) {
		const entity_counts *c = &d->counts[e];
		fprintf(out,
		        "%s\"%s\": {\"read\": %u, \"created\": %u, \"matched\": %u, \"skipped\": "
		        "%u, "
		        "\"updated\": %u, \"errors\": %u}",
		        e ? ", " : "", entity_name(e), c->read, c->created, c->matched, c->skipped,
		        c->updated, c->errors);
	}
	fputs("}}", out);
}

bool summary_write_json(const launch *l, const char *path)
{
	FILE *out = fopen(path, "w");

	if (!out) {
		log_error("cannot write the summary to %s: %s", path, strerror(errno));
		return false;
	}
	fprintf(out,
	        "{\"run_date\": \"%s\", \"interrupted\": %s, \"dry_run\": %s, \"departements\": [",
	        l->run_date, l->interrupted ? "true" : "false",
	        l->opts->dry_run ? "true" : "false");
	for (size_t i = 0; i < l->n; i++) {
		if (i)
			fputs(", ", out);
		json_dep(out, &l->deps[i]);
	}
	fputs("]}\n", out);
	if (fclose(out) != 0) {
		log_error("cannot write the summary to %s: %s", path, strerror(errno));
		return false;
	}
	return true;
}
