/*
 * coordinator/progress.c
 *     How far a launch is, as the dashboard and the plain log show it:
 *     sums over départements, progress, numbers and durations in a few
 *     columns, the bar and the counts line. Pure functions, unit-tested.
 */
#include <stdio.h>
#include <string.h>

#include "progress.h"

/* progress_fmt_count writes a row count: exact below a million, then 1.2M. */
void progress_fmt_count(uint64_t v, char *buf, size_t len)
{
	if (v < 1000000)
		snprintf(buf, len, "%llu", (unsigned long long)v);
	else
		snprintf(buf, len, "%.1fM", (double)v / 1e6);
}

/* progress_fmt_rate writes rows per second in at most 7 columns: 850/s, 9.8k/s, 120k/s, 1.2M/s. */
void progress_fmt_rate(double r, char *buf, size_t len)
{
	if (r < 999.5)
		snprintf(buf, len, "%.0f/s", r);
	else if (r < 9950)
		snprintf(buf, len, "%.1fk/s", r / 1e3);
	else if (r < 999500)
		snprintf(buf, len, "%.0fk/s", r / 1e3);
	else
		snprintf(buf, len, "%.1fM/s", r / 1e6);
}

/* progress_fmt_eta writes a duration in at most 6 columns: 45s, 12m05s, 3h07m, >99h. */
void progress_fmt_eta(double s, char *buf, size_t len)
{
	long t = (long)(s + 0.5);

	if (t < 60)
		snprintf(buf, len, "%lds", t);
	else if (t < 3600)
		snprintf(buf, len, "%ldm%02lds", t / 60, t % 60);
	else if (t < 100 * 3600)
		snprintf(buf, len, "%ldh%02ldm", t / 3600, t % 3600 / 60);
	else
		snprintf(buf, len, ">99h");
}

/*
 * progress_is_main tells whether entity class e counts in the progress bar: what a
 * département owns. Bailleurs and administrations are shared (looked up
 * far more than written) and avenant types are links.
 */
bool progress_is_main(entity e)
{
	return e != ENT_ADMINISTRATION && e != ENT_BAILLEUR && e != ENT_AVENANT_TYPE;
}

/* Counts column: most telling classes first, as they are cut on a narrow screen. */
static const struct {
	entity e;
	const char *abbrev;
} count_order[] = {
        {ENT_CONVENTION, "conv"},    {ENT_LOT, "lot"},          {ENT_LOGEMENT, "lgt"},
        {ENT_PIECEJOINTE, "pj"},     {ENT_PROGRAMME, "prog"},   {ENT_EVENEMENT, "evt"},
        {ENT_CADASTRE, "cad"},       {ENT_REPARTITION, "rep"},  {ENT_BAILLEUR, "bail"},
        {ENT_ADMINISTRATION, "adm"}, {ENT_AVENANT_TYPE, "avt"},
};

/*
 * progress_of_dep: a worker writes the entity classes one after another, in
 * enum order, each in one stream: the class being written (its phase) and
 * how far it is within it, against the conventions planned, tell how far
 * the département is.
 */
double progress_of_dep(const dep_run *r)
{
	if (r->state == DEP_PENDING)
		return 0;
	if (r->state != DEP_RUNNING)
		return 1;
	for (int e = 0; e < ENT_COUNT; e++) {
		if (strcmp(r->phase, entity_name((entity)e)) != 0)
			continue;
		/* a class whose query has not returned a row has not begun */
		double within = r->wait_since > 0 ? 0 : 0.5;
		uint32_t planned = r->planned[ENT_CONVENTION].read;
		if ((e == ENT_CONVENTION || e == ENT_LOT) && planned > 0)
			within = (double)r->counts[e].read / planned;
		return (e + (within > 1 ? 1 : within)) / ENT_COUNT;
	}
	return 0;
}

/* progress_sums_add adds the counters of one département to s. */
void progress_sums_add(row_sums *s, const dep_run *r)
{
	s->progress += progress_of_dep(r);
	s->departements++;
	for (int e = 0; e < ENT_COUNT; e++) {
		const entity_counts *c = &r->counts[e];
		uint64_t written = (uint64_t)c->created + c->matched + c->updated;

		s->read[e] += c->read;
		s->written[e] += written;
		s->all_written += written;
		if (progress_is_main((entity)e)) {
			s->main_read += c->read;
			s->main_done += written + c->skipped + c->errors;
		}
	}
}

/* progress_sums_fraction returns the fraction handled of the rows read so far, or -1 when none was
 * read. */
double progress_sums_fraction(const row_sums *s)
{
	if (s->departements > 0 && s->progress > 0)
		return s->progress / s->departements;
	if (s->main_read == 0)
		return -1;
	return s->main_done >= s->main_read ? 1.0 : (double)s->main_done / (double)s->main_read;
}

/*
 * progress_counts_text writes "conv 120 lot 120 lgt 840 pj 300" for the classes
 * that saw rows, whole items only, within width columns; " +" ends it when
 * some did not fit. A cut number would be a wrong number.
 */
void progress_counts_text(const row_sums *s, int width, char *buf, size_t len)
{
	size_t off = 0;
	bool cut = false;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(count_order) / sizeof(count_order[0]); i++) {
		entity e = count_order[i].e;
		char num[24], item[48];
		int n;

		if (s->read[e] == 0 && s->written[e] == 0)
			continue;
		progress_fmt_count(s->written[e], num, sizeof(num));
		n = snprintf(item, sizeof(item), "%s%s %s", off ? " " : "", count_order[i].abbrev,
		             num);
		if (n < 0 || off + (size_t)n + 2 > (size_t)width || off + (size_t)n >= len) {
			cut = true;
			break;
		}
		memcpy(buf + off, item, (size_t)n + 1);
		off += (size_t)n;
	}
	if (cut && off + 2 <= (size_t)width && off + 2 < len)
		snprintf(buf + off, len - off, " +");
}

/* progress_bar_text writes "[#####.....]  45%", or a bouncing segment and a spinner when fraction <
 * 0. */
void progress_bar_text(double fraction, bool spin, double now, int width, char *buf, size_t len)
{
	int inner = width - 7; /* "[", "]", " 100%" */
	size_t off = 0;

	if (inner < 1 || (size_t)width + 1 > len) {
		buf[0] = '\0';
		return;
	}
	buf[off++] = '[';
	if (fraction >= 0) {
		int full = (int)(fraction * inner + 0.5);
		for (int i = 0; i < inner; i++)
			buf[off++] = i < full ? '#' : '.';
		snprintf(buf + off, len - off, "] %3d%%", (int)(fraction * 100 + 0.5));
	} else if (spin) {
		unsigned tick = (unsigned)(now * 4); /* the redraw pace */
		int seg = inner < 3 ? inner : 3, span = inner - seg;
		int pos = span > 0 ? (int)(tick % (unsigned)(2 * span)) : 0;
		if (pos > span)
			pos = 2 * span - pos;
		for (int i = 0; i < inner; i++)
			buf[off++] = i >= pos && i < pos + seg ? '=' : ' ';
		snprintf(buf + off, len - off, "]    %c", "|/-\\"[tick % 4]);
	} else {
		for (int i = 0; i < inner; i++)
			buf[off++] = ' ';
		snprintf(buf + off, len - off, "]");
	}
}

void progress_phase_text(const dep_run *d, double now_mono, char *buf, size_t len)
{
	if (d->wait_since > 0)
		snprintf(buf, len, "waiting on Ecoloweb for %s since %.0f s", d->phase,
		         now_mono - d->wait_since);
	else
		snprintf(buf, len, "%s", d->phase[0] ? d->phase : "starting");
}

void progress_line(const dep_run *d, double now_mono, char *buf, size_t len)
{
	char phase[96];

	progress_phase_text(d, now_mono, phase, sizeof(phase));
	size_t off = (size_t)snprintf(buf, len, "%s, %s:", dep_state_name(d->state), phase);

	for (int e = 0; e < ENT_COUNT && off < len; e++) {
		const entity_counts *c = &d->counts[e];
		if (c->read || c->created || c->skipped)
			off += (size_t)snprintf(buf + off, len - off, " %s %u/%u", entity_name(e),
			                        c->created + c->matched + c->updated, c->read);
	}
}
