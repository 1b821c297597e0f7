/*
 * src/fault_point.c
 *     TEST ONLY: see fault_point.h.
 */
#include "fault_point.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The one fault of the process, parsed once; armed stays false without one. */
static struct {
	bool parsed, armed;
	char point[32], who[8], action[16];
	long nth, passed;
	char label[8];
} fault = {.label = "-"};

static void parse_fault(void)
{
	const char *spec = getenv("ECOLO_TEST_FAULT");

	fault.parsed = true;
	if (!spec || !*spec)
		return;
	if (sscanf(spec, "%31[^:]:%7[^:]:%ld:%15s", fault.point, fault.who, &fault.nth,
	           fault.action) != 4 ||
	    fault.nth < 1) {
		fprintf(stderr, "ECOLO_TEST_FAULT=%s: expected POINT:WHO:NTH:ACTION\n", spec);
		return;
	}
	fault.armed = true;
}

void fault_point_label(const char *label)
{
	snprintf(fault.label, sizeof(fault.label), "%s", label);
	fault.passed = 0; /* a forked worker counts its own passes */
}

void fault_point(const char *point)
{
	if (!fault.parsed)
		parse_fault();
	if (!fault.armed || strcmp(point, fault.point) != 0)
		return;
	if (strcmp(fault.who, "*") != 0 && strcmp(fault.who, fault.label) != 0)
		return;
	if (++fault.passed != fault.nth)
		return;
	fprintf(stderr, "test fault: %s #%ld in %s: %s\n", point, fault.nth, fault.label,
	        fault.action);
	if (strcmp(fault.action, "kill") == 0)
		kill(getpid(), SIGKILL);
	else if (strcmp(fault.action, "kill-parent") == 0)
		kill(getppid(), SIGKILL);
}
