/*
 * src/uuid.c
 *     Version 4 UUIDs for the uuid columns Django fills itself, drawn from
 *     xoshiro256** seeded by getrandom(): a worker may need millions, and
 *     a system call per UUID would cost more than the row it goes into.
 *
 * After fork() a child would repeat its parent's sequence, and two workers
 * would then give the same uuids to different rows: the generator notices
 * a new pid and reseeds, even when the caller forgets uuid_init().
 */
#include "uuid.h"

#include <errno.h>
#include <stdint.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static uint64_t state[4];
static pid_t seeded_pid = -1;

/* rotl rotates x left by k bits. */
static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* next64 is xoshiro256** (Blackman & Vigna, public domain reference code). */
static uint64_t next64(void)
{
	uint64_t result = rotl(state[1] * 5, 7) * 9;
	uint64_t t = state[1] << 17;

	state[2] ^= state[0];
	state[3] ^= state[1];
	state[1] ^= state[2];
	state[0] ^= state[3];
	state[2] ^= t;
	state[3] = rotl(state[3], 45);
	return result;
}

/* splitmix64 expands a weak seed into well-mixed state words. */
static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* read_random fills buf with n bytes from the kernel; false if it cannot. */
static bool read_random(void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = getrandom((char *)buf + got, n - got, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		got += (size_t)r;
	}
	return true;
}

/*
 * uuid_init seeds the generator from getrandom(). Returns false when the
 * kernel gave nothing: the generator is then seeded from the clock and the
 * pid, still distinct per process, and the caller may warn.
 */
bool uuid_init(void)
{
	bool ok = read_random(state, sizeof(state));

	if (!ok) {
		struct timespec ts;
		uint64_t x;

		clock_gettime(CLOCK_REALTIME, &ts);
		x = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
		x ^= (uint64_t)getpid() << 32;
		for (int i = 0; i < 4; i++)
			state[i] = splitmix64(&x);
	}
	/* xoshiro must not start from the all-zero state */
	if ((state[0] | state[1] | state[2] | state[3]) == 0)
		state[0] = 1;
	seeded_pid = getpid();
	return ok;
}

/* put_hex writes the n bytes of b as lowercase hex at out. */
static char *put_hex(char *out, const uint8_t *b, int n)
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < n; i++) {
		*out++ = digits[b[i] >> 4];
		*out++ = digits[b[i] & 0x0f];
	}
	return out;
}

/* uuid_v4 writes a canonical lowercase UUID v4 (8-4-4-4-12) and a NUL into out. */
void uuid_v4(char out[37])
{
	uint8_t b[16];
	uint64_t hi, lo;
	char *p = out;

	if (seeded_pid != getpid())
		uuid_init();
	hi = next64();
	lo = next64();
	for (int i = 0; i < 8; i++) {
		b[i] = (uint8_t)(hi >> (56 - 8 * i));
		b[8 + i] = (uint8_t)(lo >> (56 - 8 * i));
	}
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* variant 10xx (RFC 4122) */
	p = put_hex(p, b, 4);
	*p++ = '-';
	p = put_hex(p, b + 4, 2);
	*p++ = '-';
	p = put_hex(p, b + 6, 2);
	*p++ = '-';
	p = put_hex(p, b + 8, 2);
	*p++ = '-';
	p = put_hex(p, b + 10, 6);
	*p = '\0';
}
