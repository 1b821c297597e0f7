/*
 * src/protocol.c
 *     Encoder and decoder of the worker <-> coordinator frames.
 *
 * Frame: type (u8), flags (u8, always 0), payload length (u16 LE), payload.
 * Payloads, all integers little-endian:
 *   HELLO              pid (u32), département (4 bytes, NUL-padded)
 *   PLAN, PROGRESS,    for each entity in enum order, the six counters of
 *   DONE               entity_counts (read, created, matched, skipped,
 *                      updated, errors) as u32 -- 264 bytes, then:
 *                      PROGRESS: waiting (u8, 0 or 1), phase length
 *                      (u8, < 32), phase bytes;
 *                      DONE: status (u8)
 *   LOG                level (u8), event (u8, < LOGEV_COUNT), text length
 *                      (u16), text bytes
 *   STATS              peak RSS in kB (u32), then the worker's totals, then
 *                      each entity in enum order, each as source queries
 *                      (u32), target queries (u32), read and write
 *                      microseconds (u64 each) -- 4 + 12 x 24 = 292 bytes
 *   ERROR              SQLSTATE (5 bytes, NUL-padded), text length (u16), text
 *   READY, COMMIT,     nothing
 *   ABORT
 * Texts carry no NUL; the decoder adds one. The decoder trusts nothing: a
 * header whose type, flags or length cannot be right marks the stream
 * broken, since nothing after it can be framed again.
 */
#include "protocol.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "departement.h"
#include "log.h"

#define COUNTS_FIELDS 6
#define COUNTS_SIZE (ENT_COUNT * COUNTS_FIELDS * 4)
#define HELLO_SIZE 8
#define SQLSTATE_LEN 5
#define PHASE_MAX (sizeof(((message *)0)->phase) - 1)
#define TEXT_MAX (PROTO_MAX_TEXT - 1)
#define PERF_SIZE 24
#define STATS_SIZE (4 + (ENT_COUNT + 1) * PERF_SIZE)

_Static_assert(PROTO_MAX_FRAME <= PIPE_BUF, "a frame must be written untorn by one write()");
_Static_assert(PROTO_HEADER_SIZE + 2 + 2 + TEXT_MAX <= PROTO_MAX_FRAME,
               "the longest LOG frame must fit in one frame");
_Static_assert(PROTO_HEADER_SIZE + STATS_SIZE <= PROTO_MAX_FRAME,
               "a STATS frame must fit in one frame");
_Static_assert(PROTO_HEADER_SIZE + SQLSTATE_LEN + 2 + TEXT_MAX <= PROTO_MAX_FRAME,
               "the longest ERROR frame must fit in one frame");
_Static_assert(PROTO_HEADER_SIZE + COUNTS_SIZE + 2 + PHASE_MAX <= PROTO_MAX_FRAME,
               "the longest PROGRESS frame must fit in one frame");

/* put_u16 stores v little-endian at p. */
static void put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/* put_u32 stores v little-endian at p. */
static void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* put_u64 stores v little-endian at p. */
static void put_u64(uint8_t *p, uint64_t v)
{
	put_u32(p, (uint32_t)v);
	put_u32(p + 4, (uint32_t)(v >> 32));
}

/* get_u16 reads a little-endian u16 at p. */
static uint16_t get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* get_u32 reads a little-endian u32 at p. */
static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* get_u64 reads a little-endian u64 at p. */
static uint64_t get_u64(const uint8_t *p)
{
	return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

/*
 * utf8_cut returns how many bytes of the n-byte string s to keep so that
 * at most max remain and no multi-byte character is split (a cut character
 * would make the coordinator's terminal or JSON output invalid).
 */
static size_t utf8_cut(const char *s, size_t n, size_t max)
{
	if (n <= max)
		return n;
	/* s[max] is the first byte dropped: back off while it continues a character */
	while (max > 0 && ((uint8_t)s[max] & 0xC0) == 0x80)
		max--;
	return max;
}

/* put_text stores a u16 length and the text (cut to TEXT_MAX); returns bytes used. */
static size_t put_text(uint8_t *p, const char *text)
{
	size_t n = strnlen(text, PROTO_MAX_TEXT);

	n = utf8_cut(text, n, TEXT_MAX);
	put_u16(p, (uint16_t)n);
	memcpy(p + 2, text, n);
	return 2 + n;
}

/* put_counts stores the counters of every entity; returns COUNTS_SIZE. */
static size_t put_counts(uint8_t *p, const entity_counts *c)
{
	for (int e = 0; e < ENT_COUNT; e++, c++) {
		put_u32(p, c->read);
		put_u32(p + 4, c->created);
		put_u32(p + 8, c->matched);
		put_u32(p + 12, c->skipped);
		put_u32(p + 16, c->updated);
		put_u32(p + 20, c->errors);
		p += COUNTS_FIELDS * 4;
	}
	return COUNTS_SIZE;
}

/* put_perf stores one entity_perf; returns PERF_SIZE. */
static size_t put_perf(uint8_t *p, const entity_perf *f)
{
	put_u32(p, f->source_queries);
	put_u32(p + 4, f->target_queries);
	put_u64(p + 8, f->read_us);
	put_u64(p + 16, f->write_us);
	return PERF_SIZE;
}

/* put_stats stores a worker's figures; returns STATS_SIZE. */
static size_t put_stats(uint8_t *p, const import_stats *st)
{
	uint8_t *q = p;

	put_u32(q, st->peak_rss_kb);
	q += 4;
	q += put_perf(q, &st->total);
	for (int e = 0; e < ENT_COUNT; e++)
		q += put_perf(q, &st->entities[e]);
	return (size_t)(q - p);
}

/* sqlstate_ok tells whether s is empty or five characters of [0-9A-Z]. */
static bool sqlstate_ok(const char *s, size_t n)
{
	if (n != 0 && n != SQLSTATE_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'Z')))
			return false;
	return true;
}

/* encode_payload writes the payload of msg at p; returns its size or -1 if invalid. */
static long encode_payload(const message *msg, uint8_t *p)
{
	size_t n;

	switch (msg->type) {
	case MSG_HELLO:
		if (msg->pid <= 0 || !departement_is_valid(msg->departement))
			return -1;
		put_u32(p, (uint32_t)msg->pid);
		memset(p + 4, 0, 4);
		memcpy(p + 4, msg->departement, strlen(msg->departement));
		return HELLO_SIZE;
	case MSG_PLAN:
		return (long)put_counts(p, msg->counts);
	case MSG_PROGRESS:
		n = strnlen(msg->phase, sizeof(msg->phase));
		n = utf8_cut(msg->phase, n, PHASE_MAX);
		put_counts(p, msg->counts);
		p[COUNTS_SIZE] = msg->waiting;
		p[COUNTS_SIZE + 1] = (uint8_t)n;
		memcpy(p + COUNTS_SIZE + 2, msg->phase, n);
		return (long)(COUNTS_SIZE + 2 + n);
	case MSG_DONE:
		if (msg->status < DONE_COMMITTED || msg->status > DONE_PREPARED)
			return -1;
		put_counts(p, msg->counts);
		p[COUNTS_SIZE] = (uint8_t)msg->status;
		return COUNTS_SIZE + 1;
	case MSG_LOG:
		if (msg->level < LOG_DEBUG || msg->level > LOG_ERROR || msg->event < LOGEV_NONE ||
		    msg->event >= LOGEV_COUNT)
			return -1;
		p[0] = (uint8_t)msg->level;
		p[1] = (uint8_t)msg->event;
		return (long)(2 + put_text(p + 2, msg->text));
	case MSG_STATS:
		return (long)put_stats(p, &msg->stats);
	case MSG_ERROR:
		n = strnlen(msg->sqlstate, sizeof(msg->sqlstate));
		if (!sqlstate_ok(msg->sqlstate, n))
			return -1;
		memset(p, 0, SQLSTATE_LEN);
		memcpy(p, msg->sqlstate, n);
		return (long)(SQLSTATE_LEN + put_text(p + SQLSTATE_LEN, msg->text));
	case MSG_READY:
	case MSG_COMMIT:
	case MSG_ABORT:
		return 0;
	default:
		return -1;
	}
}

/*
 * proto_encode writes msg as one frame into buf (at least PROTO_MAX_FRAME
 * bytes) and returns its length, or 0 if msg is invalid (unknown type, bad
 * département, level, status or SQLSTATE).
 */
size_t proto_encode(const message *msg, uint8_t *buf)
{
	long n = encode_payload(msg, buf + PROTO_HEADER_SIZE);

	if (n < 0)
		return 0;
	buf[0] = (uint8_t)msg->type;
	buf[1] = 0;
	put_u16(buf + 2, (uint16_t)n);
	return PROTO_HEADER_SIZE + (size_t)n;
}

/*
 * proto_send encodes msg and writes it with one write(), retried on EINTR:
 * frames are at most PIPE_BUF bytes, so a pipe never tears one. Returns
 * false (errno set: EINVAL, EPIPE, EIO for a short write) without logging:
 * a worker's log sink sends through here and must not recurse. The caller
 * ignores SIGPIPE to get EPIPE instead of dying.
 */
bool proto_send(int fd, const message *msg)
{
	uint8_t buf[PROTO_MAX_FRAME];
	size_t len = proto_encode(msg, buf);
	ssize_t w;

	if (len == 0) {
		errno = EINVAL;
		return false;
	}
	do
		w = write(fd, buf, len);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return false;
	if ((size_t)w != len) {
		errno = EIO;
		return false;
	}
	return true;
}

/* proto_decoder_init empties d. */
void proto_decoder_init(proto_decoder *d)
{
	d->len = 0;
	d->broken = false;
}

/*
 * proto_feed appends n bytes; false when the stream is broken or they do
 * not fit. The buffer holds two frames: read at most PROTO_MAX_FRAME bytes
 * at a time and drain with proto_next before feeding again.
 */
bool proto_feed(proto_decoder *d, const uint8_t *data, size_t n)
{
	if (d->broken)
		return false;
	if (n > sizeof(d->buf) - d->len) {
		d->broken = true;
		return false;
	}
	memcpy(d->buf + d->len, data, n);
	d->len += n;
	return true;
}

/*
 * length_ok tells whether a payload of n bytes can belong to type t, so
 * that a bad header is refused as soon as it arrives, before its payload.
 */
static bool length_ok(msg_type t, size_t n)
{
	switch (t) {
	case MSG_HELLO:
		return n == HELLO_SIZE;
	case MSG_PLAN:
		return n == COUNTS_SIZE;
	case MSG_PROGRESS:
		return n >= COUNTS_SIZE + 2 && n <= COUNTS_SIZE + 2 + PHASE_MAX;
	case MSG_DONE:
		return n == COUNTS_SIZE + 1;
	case MSG_LOG:
		return n >= 2 + 2 && n <= 2 + 2 + TEXT_MAX;
	case MSG_STATS:
		return n == STATS_SIZE;
	case MSG_ERROR:
		return n >= SQLSTATE_LEN + 2 && n <= SQLSTATE_LEN + 2 + TEXT_MAX;
	case MSG_READY:
	case MSG_COMMIT:
	case MSG_ABORT:
		return n == 0;
	default:
		return false;
	}
}

/* get_counts reads the counters of every entity. */
static void get_counts(const uint8_t *p, entity_counts *c)
{
	for (int e = 0; e < ENT_COUNT; e++, c++) {
		c->read = get_u32(p);
		c->created = get_u32(p + 4);
		c->matched = get_u32(p + 8);
		c->skipped = get_u32(p + 12);
		c->updated = get_u32(p + 16);
		c->errors = get_u32(p + 20);
		p += COUNTS_FIELDS * 4;
	}
}

/* get_perf reads one entity_perf; returns PERF_SIZE. */
static size_t get_perf(const uint8_t *p, entity_perf *f)
{
	f->source_queries = get_u32(p);
	f->target_queries = get_u32(p + 4);
	f->read_us = get_u64(p + 8);
	f->write_us = get_u64(p + 16);
	return PERF_SIZE;
}

/* get_stats reads a worker's figures (every value is acceptable). */
static void get_stats(const uint8_t *p, import_stats *st)
{
	st->peak_rss_kb = get_u32(p);
	p += 4;
	p += get_perf(p, &st->total);
	for (int e = 0; e < ENT_COUNT; e++)
		p += get_perf(p, &st->entities[e]);
}

/*
 * get_string copies a length-prefixed string whose length field says len
 * and whose bytes end the payload exactly at p + avail; false when the
 * lengths disagree or a NUL hides inside.
 */
static bool get_string(const uint8_t *p, size_t len, size_t avail, char *out, size_t outsize)
{
	if (len != avail || len >= outsize || memchr(p, '\0', len))
		return false;
	memcpy(out, p, len);
	out[len] = '\0';
	return true;
}

/* decode_hello reads a pid and a NUL-padded département (padding all NULs). */
static bool decode_hello(const uint8_t *p, message *msg)
{
	size_t len = strnlen((const char *)p + 4, 4);

	msg->pid = (int32_t)get_u32(p);
	if (msg->pid <= 0 || len > 3)
		return false;
	for (size_t i = len; i < 4; i++)
		if (p[4 + i] != '\0')
			return false;
	memcpy(msg->departement, p + 4, len);
	msg->departement[len] = '\0';
	return departement_is_valid(msg->departement);
}

/*
 * decode_sqlstate reads a SQLSTATE: five characters, or none (all NULs,
 * as the encoder pads it: no byte may follow a NUL).
 */
static bool decode_sqlstate(const uint8_t *p, message *msg)
{
	size_t len = strnlen((const char *)p, SQLSTATE_LEN);

	for (size_t i = len; i < SQLSTATE_LEN; i++)
		if (p[i] != '\0')
			return false;
	memcpy(msg->sqlstate, p, len);
	msg->sqlstate[len] = '\0';
	return sqlstate_ok(msg->sqlstate, len);
}

/* decode_payload fills msg from the n payload bytes at p; false if malformed. */
static bool decode_payload(msg_type t, const uint8_t *p, size_t n, message *msg)
{
	switch (t) {
	case MSG_HELLO:
		return decode_hello(p, msg);
	case MSG_PLAN:
		get_counts(p, msg->counts);
		return true;
	case MSG_PROGRESS:
		get_counts(p, msg->counts);
		msg->waiting = p[COUNTS_SIZE] == 1;
		return p[COUNTS_SIZE] <= 1 &&
		       get_string(p + COUNTS_SIZE + 2, p[COUNTS_SIZE + 1], n - COUNTS_SIZE - 2,
		                  msg->phase, sizeof(msg->phase));
	case MSG_DONE:
		get_counts(p, msg->counts);
		msg->status = p[COUNTS_SIZE];
		return msg->status <= DONE_PREPARED;
	case MSG_LOG:
		msg->level = p[0];
		msg->event = p[1];
		return msg->level <= LOG_ERROR && msg->event < LOGEV_COUNT &&
		       get_string(p + 4, get_u16(p + 2), n - 4, msg->text, sizeof(msg->text));
	case MSG_STATS:
		get_stats(p, &msg->stats);
		return true;
	case MSG_ERROR:
		return decode_sqlstate(p, msg) &&
		       get_string(p + SQLSTATE_LEN + 2, get_u16(p + SQLSTATE_LEN),
		                  n - SQLSTATE_LEN - 2, msg->text, sizeof(msg->text));
	default:
		return n == 0;
	}
}

/*
 * proto_next decodes the next whole frame into msg: 1 = a message,
 * 0 = need more bytes, -1 = malformed frame (unknown type, non-zero flags,
 * impossible length or content); after -1 the decoder stays broken.
 */
int proto_next(proto_decoder *d, message *msg)
{
	msg_type t;
	size_t n;

	if (d->broken)
		return -1;
	if (d->len < PROTO_HEADER_SIZE)
		return 0;
	t = (msg_type)d->buf[0];
	n = get_u16(d->buf + 2);
	if (d->buf[0] < MSG_HELLO || d->buf[0] >= MSG_TYPE_MAX || d->buf[1] != 0 ||
	    !length_ok(t, n)) {
		d->broken = true;
		return -1;
	}
	if (d->len < PROTO_HEADER_SIZE + n)
		return 0;
	memset(msg, 0, sizeof(*msg));
	msg->type = t;
	if (!decode_payload(t, d->buf + PROTO_HEADER_SIZE, n, msg)) {
		d->broken = true;
		return -1;
	}
	d->len -= PROTO_HEADER_SIZE + n;
	memmove(d->buf, d->buf + PROTO_HEADER_SIZE + n, d->len);
	return 1;
}

/*
 * read_some reads into the free end of d's buffer, never more: with part
 * of a frame kept and a backlog in the pipe, a bigger read would not fit
 * and a healthy worker would be taken for a broken one.
 */
static ssize_t read_some(proto_decoder *d, int fd)
{
	size_t room = sizeof(d->buf) - d->len;
	ssize_t n;

	/* after a drain less than one frame is kept: room is always > PROTO_MAX_FRAME */
	if (room == 0) {
		errno = ENOBUFS;
		return -1;
	}
	do
		n = read(fd, d->buf + d->len, room);
	while (n < 0 && errno == EINTR);
	if (n > 0)
		d->len += (size_t)n;
	return n;
}

/* proto_read: see protocol.h. */
proto_read_status proto_read(proto_decoder *d, int fd, int max_reads, proto_msg_cb cb, void *ctx)
{
	message msg;

	for (int i = 0; i < max_reads; i++) {
		int got;

		if (d->broken)
			return PROTO_READ_MALFORMED;
		ssize_t n = read_some(d, fd);
		if (n < 0)
			return errno == EAGAIN ? PROTO_READ_AGAIN : PROTO_READ_ERROR;
		if (n == 0)
			return PROTO_READ_EOF;
		while ((got = proto_next(d, &msg)) == 1)
			cb(ctx, &msg);
		if (got < 0)
			return PROTO_READ_MALFORMED;
	}
	return PROTO_READ_AGAIN;
}

/* msg_type_name returns the name of t for logs ("HELLO", ...). */
const char *msg_type_name(msg_type t)
{
	static const char *const names[MSG_TYPE_MAX] = {
	        [MSG_HELLO] = "HELLO", [MSG_PLAN] = "PLAN",     [MSG_PROGRESS] = "PROGRESS",
	        [MSG_LOG] = "LOG",     [MSG_ERROR] = "ERROR",   [MSG_READY] = "READY",
	        [MSG_DONE] = "DONE",   [MSG_COMMIT] = "COMMIT", [MSG_ABORT] = "ABORT",
	        [MSG_STATS] = "STATS",
	};

	if (t <= 0 || t >= MSG_TYPE_MAX)
		return "?";
	return names[t];
}
