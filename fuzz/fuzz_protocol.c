/*
 * fuzz/fuzz_protocol.c
 *     Fuzz target of the worker <-> coordinator messages (src/protocol.c):
 *     the decoder the coordinator runs on what a worker writes, and the
 *     encoder.
 *
 * Input: a mode byte, then
 *   even mode: two bytes of chunk size (u16 LE), then a byte stream, fed
 *     to a decoder in chunks of that size (1-4096 bytes, drained in
 *     between), and read by proto_read from a pipe;
 *   odd mode: the fields of one message, encoded and decoded again.
 * Properties checked, besides no crash and no leak:
 *   - the decoder only hands out messages that encode back to the very
 *     bytes it read (it accepts no frame the encoder cannot write);
 *   - fed in chunks no bigger than a frame and drained, it never overflows;
 *     once it says malformed, it stays broken;
 *   - proto_read hands out the same messages, and says malformed exactly
 *     when the decoder did;
 *   - proto_encode refuses exactly the invalid messages, writes at most
 *     PROTO_MAX_FRAME bytes, and its frame decodes back to the message
 *     (texts cut on a UTF-8 boundary).
 */
#include <fcntl.h>
#include <stdbool.h>
#include <unistd.h>

#include "departement.h"
#include "fuzz.h"
#include "log.h"
#include "protocol.h"

#define MAX_STREAM (4 * PROTO_MAX_FRAME)
#define MAX_FRAMES (MAX_STREAM / PROTO_HEADER_SIZE)

/* the frames the decoder found in a stream, for proto_read to find again */
typedef struct frames {
	const uint8_t *stream;
	size_t offset[MAX_FRAMES];
	size_t length[MAX_FRAMES];
	size_t count;
	size_t seen; /* by proto_read */
} frames;

/* check_canonical checks that msg encodes to the len bytes at frame. */
static void check_canonical(const message *msg, const uint8_t *frame, size_t len)
{
	uint8_t buf[PROTO_MAX_FRAME];
	size_t n = proto_encode(msg, buf);

	FUZZ_CHECK(n == len && memcmp(buf, frame, len) == 0,
	           "a %s frame of %zu bytes decoded, encoding it again gives %zu bytes%s",
	           msg_type_name(msg->type), len, n, n == len ? ", not the same" : "");
}

/* on_message is proto_read's callback: the next frame of the decoder's list. */
static void on_message(void *ctx, const message *msg)
{
	frames *f = ctx;

	FUZZ_CHECK(f->seen < f->count, "proto_read found more messages than the decoder (%zu)",
	           f->count);
	check_canonical(msg, f->stream + f->offset[f->seen], f->length[f->seen]);
	f->seen++;
}

/* read_pipe hands the stream to proto_read through a pipe. */
static void read_pipe(const uint8_t *stream, size_t n, frames *f, bool malformed)
{
	proto_decoder d;
	proto_read_status st = PROTO_READ_AGAIN;
	int fds[2];

	if (pipe2(fds, O_NONBLOCK) != 0)
		abort();
	/* a pipe holds 64 KiB: the whole stream goes in at once */
	if (n > 0 && write(fds[1], stream, n) != (ssize_t)n)
		abort();
	close(fds[1]);
	proto_decoder_init(&d);
	for (int turns = 0; st == PROTO_READ_AGAIN && turns < 1000; turns++)
		st = proto_read(&d, fds[0], 2, on_message, f);
	close(fds[0]);
	FUZZ_CHECK(st == (malformed ? PROTO_READ_MALFORMED : PROTO_READ_EOF),
	           "proto_read ends with %d, the decoder %s", (int)st,
	           malformed ? "found a malformed frame" : "did not");
	FUZZ_CHECK(f->seen == f->count, "proto_read found %zu messages, the decoder %zu", f->seen,
	           f->count);
}

/* fuzz_stream decodes the stream fed in chunks of chunk bytes. */
static void fuzz_stream(const uint8_t *stream, size_t n, size_t chunk)
{
	static proto_decoder d;
	static frames f;
	message msg;
	size_t fed = 0, consumed = 0;
	bool malformed = false;

	proto_decoder_init(&d);
	f.stream = stream;
	f.count = f.seen = 0;
	while (fed < n && !malformed) {
		size_t k = n - fed < chunk ? n - fed : chunk;
		int got;

		FUZZ_CHECK(proto_feed(&d, stream + fed, k), "%zu bytes do not fit after a drain",
		           k);
		fed += k;
		for (;;) {
			size_t before = d.len;

			got = proto_next(&d, &msg);
			if (got != 1)
				break;
			check_canonical(&msg, stream + consumed, before - d.len);
			f.offset[f.count] = consumed;
			f.length[f.count++] = before - d.len;
			consumed += before - d.len;
		}
		if (got < 0) {
			malformed = true;
			FUZZ_CHECK(proto_next(&d, &msg) == -1 && !proto_feed(&d, stream, 1),
			           "a broken decoder recovers");
		}
	}
	read_pipe(stream, n, &f, malformed);
}

/* a cursor over the input, reading zeros once it is used up */
typedef struct cursor {
	const uint8_t *p;
	size_t left;
} cursor;

/* take copies n bytes of the input (zeros past its end) into out. */
static void take(cursor *c, void *out, size_t n)
{
	size_t k = n < c->left ? n : c->left;

	memcpy(out, c->p, k);
	memset((uint8_t *)out + k, 0, n - k);
	c->p += k;
	c->left -= k;
}

/* take_u8 reads one byte of the input. */
static uint8_t take_u8(cursor *c)
{
	uint8_t v;

	take(c, &v, 1);
	return v;
}

/* encode_valid tells whether proto_encode must accept msg (protocol.h). */
static bool encode_valid(const message *m)
{
	size_t n;

	switch (m->type) {
	case MSG_HELLO:
		return m->pid > 0 && departement_is_valid(m->departement);
	case MSG_DONE:
		return m->status >= DONE_COMMITTED && m->status <= DONE_PREPARED;
	case MSG_LOG:
		return m->level >= LOG_DEBUG && m->level <= LOG_ERROR && m->event >= LOGEV_NONE &&
		       m->event < LOGEV_COUNT;
	case MSG_ERROR:
		n = strnlen(m->sqlstate, sizeof(m->sqlstate));
		if (n != 0 && n != 5)
			return false;
		for (size_t i = 0; i < n; i++)
			if (!((m->sqlstate[i] >= '0' && m->sqlstate[i] <= '9') ||
			      (m->sqlstate[i] >= 'A' && m->sqlstate[i] <= 'Z')))
				return false;
		return true;
	case MSG_PLAN:
	case MSG_PROGRESS:
	case MSG_READY:
	case MSG_COMMIT:
	case MSG_ABORT:
	case MSG_STATS:
		return true;
	default:
		return false;
	}
}

/*
 * check_cut checks that the decoded text got (NUL-terminated) is the text
 * sent (up to size bytes, perhaps without a NUL), cut to at most max bytes
 * just before a character that does not fit.
 */
static void check_cut(const char *sent, size_t size, const char *got, size_t max)
{
	size_t n = strnlen(sent, size), len = strlen(got);

	FUZZ_CHECK(len <= n && memcmp(sent, got, len) == 0, "text not a prefix of what was sent");
	if (n <= max) {
		FUZZ_CHECK(len == n, "a text of %zu bytes cut to %zu", n, len);
		return;
	}
	FUZZ_CHECK(len <= max, "%zu bytes, more than %zu", len, max);
	/* only the continuation bytes of the character at len (or of invalid UTF-8) dropped */
	for (size_t i = len + 1; i <= max; i++)
		FUZZ_CHECK(((uint8_t)sent[i] & 0xC0) == 0x80,
		           "cut at %zu, byte %zu starts a character", len, i);
	FUZZ_CHECK(len == 0 || ((uint8_t)sent[len] & 0xC0) != 0x80, "cut inside a character at %zu",
	           len);
}

/* perf_equal compares two entity_perf field by field. */
static bool perf_equal(const entity_perf *a, const entity_perf *b)
{
	return a->source_queries == b->source_queries && a->target_queries == b->target_queries &&
	       a->read_us == b->read_us && a->write_us == b->write_us;
}

/* stats_equal compares two import_stats field by field (their padding is not sent). */
static bool stats_equal(const import_stats *a, const import_stats *b)
{
	if (a->peak_rss_kb != b->peak_rss_kb || !perf_equal(&a->total, &b->total))
		return false;
	for (int e = 0; e < ENT_COUNT; e++)
		if (!perf_equal(&a->entities[e], &b->entities[e]))
			return false;
	return true;
}

/* check_same checks that got, decoded from the frame of sent, is sent. */
static void check_same(const message *sent, const message *got)
{
	FUZZ_CHECK(got->type == sent->type, "type %d decoded as %d", sent->type, got->type);
	switch (sent->type) {
	case MSG_HELLO:
		FUZZ_CHECK(got->pid == sent->pid &&
		                   strcmp(got->departement, sent->departement) == 0,
		           "HELLO %d %s decoded as %d %s", sent->pid, sent->departement, got->pid,
		           got->departement);
		break;
	case MSG_PROGRESS:
		FUZZ_CHECK(got->waiting == sent->waiting, "waiting changed");
		check_cut(sent->phase, sizeof(sent->phase), got->phase, sizeof(sent->phase) - 1);
		/* fall through */
	case MSG_PLAN:
	case MSG_DONE:
		FUZZ_CHECK(memcmp(got->counts, sent->counts, sizeof(sent->counts)) == 0,
		           "counters changed");
		FUZZ_CHECK(sent->type != MSG_DONE || got->status == sent->status, "status changed");
		break;
	case MSG_LOG:
		FUZZ_CHECK(got->level == sent->level, "level changed");
		FUZZ_CHECK(got->event == sent->event, "event changed");
		check_cut(sent->text, sizeof(sent->text), got->text, PROTO_MAX_TEXT - 1);
		break;
	case MSG_STATS:
		FUZZ_CHECK(stats_equal(&got->stats, &sent->stats), "figures changed");
		break;
	case MSG_ERROR:
		FUZZ_CHECK(strcmp(got->sqlstate, sent->sqlstate) == 0, "SQLSTATE changed");
		check_cut(sent->text, sizeof(sent->text), got->text, PROTO_MAX_TEXT - 1);
		break;
	default:
		break;
	}
}

/* fuzz_message builds a message from the input, encodes it and decodes it. */
static void fuzz_message(cursor *c)
{
	static message sent, got;
	static proto_decoder d;
	uint8_t buf[PROTO_MAX_FRAME], split;
	size_t len, n_codes;
	const char *const *codes = departement_all(&n_codes);
	uint32_t pid;

	memset(&sent, 0, sizeof(sent));
	sent.type = (msg_type)(take_u8(c) % (MSG_TYPE_MAX + 1));
	take(c, &pid, sizeof(pid));
	sent.pid = (int32_t)pid;
	/* a valid code half of the time, else any 4 bytes */
	if (take_u8(c) & 1)
		take(c, sent.departement, sizeof(sent.departement));
	else
		strcpy(sent.departement, codes[take_u8(c) % n_codes]);
	take(c, sent.counts, sizeof(sent.counts));
	sent.waiting = take_u8(c) & 1;
	take(c, &sent.level, sizeof(sent.level));
	take(c, &sent.event, sizeof(sent.event));
	take(c, &sent.status, sizeof(sent.status));
	take(c, &sent.stats, sizeof(sent.stats));
	take(c, sent.sqlstate, sizeof(sent.sqlstate));
	split = take_u8(c);
	take(c, sent.phase, take_u8(c) % (sizeof(sent.phase) + 1));
	/* the text takes the rest: all of text[] without a NUL if long enough */
	take(c, sent.text, c->left < sizeof(sent.text) ? c->left : sizeof(sent.text));

	len = proto_encode(&sent, buf);
	FUZZ_CHECK((len != 0) == encode_valid(&sent), "a %s message %s", msg_type_name(sent.type),
	           len ? "accepted" : "refused");
	if (len == 0)
		return;
	FUZZ_CHECK(len >= PROTO_HEADER_SIZE && len <= PROTO_MAX_FRAME, "a frame of %zu bytes", len);
	/* decoded from two pieces */
	proto_decoder_init(&d);
	split = (uint8_t)(split % (len + 1));
	FUZZ_CHECK(proto_feed(&d, buf, split), "feed");
	FUZZ_CHECK(split == len || proto_next(&d, &got) == 0, "a part of a frame decoded");
	FUZZ_CHECK(proto_feed(&d, buf + split, len - split), "feed");
	FUZZ_CHECK(proto_next(&d, &got) == 1, "a %s frame of %zu bytes not decoded",
	           msg_type_name(sent.type), len);
	FUZZ_CHECK(proto_next(&d, &got) == 0 && d.len == 0, "bytes left after the frame");
	check_same(&sent, &got);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cursor c = {data, size};
	uint8_t mode = take_u8(&c);

	if (size > 3 + MAX_STREAM)
		return 0;
	if (mode & 1) {
		fuzz_message(&c);
	} else {
		uint8_t chunk[2];

		take(&c, chunk, 2);
		fuzz_stream(c.p, c.left, 1 + (size_t)(chunk[0] | chunk[1] << 8) % PROTO_MAX_FRAME);
	}
	return 0;
}
