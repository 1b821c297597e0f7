/*
 * src/protocol.h
 *     The worker <-> coordinator messages: one enum, one encoder, one
 *     decoder. A frame is a 4-byte header (type, flags, payload length,
 *     little-endian u16) then the payload; a whole frame never exceeds
 *     PIPE_BUF so that one write() delivers it untorn.
 */
#ifndef ECOLO_PROTOCOL_H
#define ECOLO_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "entity.h"

#define PROTO_HEADER_SIZE 4
#define PROTO_MAX_FRAME 4096 /* <= PIPE_BUF on Linux */
#define PROTO_MAX_PAYLOAD (PROTO_MAX_FRAME - PROTO_HEADER_SIZE)
#define PROTO_MAX_TEXT 2048

typedef enum msg_type {
	MSG_HELLO = 1, /* worker -> coord: pid, département */
	MSG_PLAN,      /* totals per entity when known */
	MSG_PROGRESS,  /* counts per entity so far, current phase, waiting on its query */
	MSG_LOG,       /* level, event, text */
	MSG_ERROR,     /* what, where, SQLSTATE */
	MSG_READY,     /* all rows written, waiting for the verdict */
	MSG_DONE,      /* committed or rolled back, final counts */
	MSG_COMMIT,    /* coord -> worker */
	MSG_ABORT,     /* coord -> worker */
	MSG_STATS,     /* worker -> coord, before DONE: queries, times, peak RSS */
	MSG_TYPE_MAX
} msg_type;

typedef enum done_status {
	DONE_COMMITTED = 0,
	DONE_ROLLED_BACK, /* dry run, or ABORT received */
	DONE_FAILED,      /* import error, rolled back */
	DONE_PREPARED     /* PREPARE TRANSACTION done: the coordinator commits or rolls back */
} done_status;

typedef struct message {
	msg_type type;
	/* HELLO */
	int32_t pid;
	char departement[4];
	/* PLAN, PROGRESS, DONE */
	entity_counts counts[ENT_COUNT];
	char phase[32]; /* PROGRESS: entity being read, e.g. "logement" */
	bool waiting;   /* PROGRESS: phase's source query was sent, no row came back yet */
	/* LOG, ERROR */
	int32_t level;
	int32_t event; /* LOG: log_event */
	char sqlstate[6];
	char text[PROTO_MAX_TEXT]; /* LOG line, ERROR message */
	/* DONE */
	int32_t status; /* done_status */
	/* STATS */
	import_stats stats;
} message;

/*
 * proto_encode writes msg as one frame into buf (at least PROTO_MAX_FRAME
 * bytes) and returns its length, or 0 if msg is invalid. Text longer than
 * fits is cut on a UTF-8 boundary.
 */
size_t proto_encode(const message *msg, uint8_t *buf);

/*
 * proto_send encodes msg and writes it with one write() (retried on EINTR).
 * Returns false if the pipe is closed or the write was short.
 */
bool proto_send(int fd, const message *msg);

/*
 * A decoder buffers what read() returns (part of a frame, or several) and
 * hands out whole frames.
 */
typedef struct proto_decoder {
	uint8_t buf[2 * PROTO_MAX_FRAME];
	size_t len;
	bool broken; /* a bad header was seen: the peer is not trusted anymore */
} proto_decoder;

void proto_decoder_init(proto_decoder *d);

/* proto_feed appends n bytes; false when they do not fit (broken stream). */
bool proto_feed(proto_decoder *d, const uint8_t *data, size_t n);

/*
 * proto_next decodes the next whole frame into msg: 1 = a message,
 * 0 = need more bytes, -1 = malformed frame (unknown type, bad length).
 */
int proto_next(proto_decoder *d, message *msg);

/* proto_msg_cb is handed each whole message that proto_read decodes. */
typedef void (*proto_msg_cb)(void *ctx, const message *msg);

typedef enum proto_read_status {
	PROTO_READ_AGAIN = 0, /* the pipe is empty for now (or a turn was used up): call again */
	PROTO_READ_EOF,       /* the writer closed the pipe */
	PROTO_READ_ERROR,     /* read() failed (errno) */
	PROTO_READ_MALFORMED  /* a frame that cannot be right: the peer is not trusted */
} proto_read_status;

/*
 * proto_read reads the non-blocking fd into d, never more than d has room
 * for, and hands each whole frame to cb, until the pipe is empty or
 * max_reads reads were made (so that one chatty writer cannot starve the
 * others of an event loop). A backlog of any size is taken in turns.
 */
proto_read_status proto_read(proto_decoder *d, int fd, int max_reads, proto_msg_cb cb, void *ctx);

const char *msg_type_name(msg_type t);

#endif
