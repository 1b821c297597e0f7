/*
 * src/uuid.h
 *     Random (version 4) UUIDs for the uuid columns Django fills itself.
 */
#ifndef ECOLO_UUID_H
#define ECOLO_UUID_H

#include <stdbool.h>

/* uuid_init seeds the generator from getrandom(); call again after fork(). */
bool uuid_init(void);

/* uuid_v4 writes a canonical 36-character lowercase UUID v4 and a NUL into out. */
void uuid_v4(char out[37]);

#endif
