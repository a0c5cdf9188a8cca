/* Storage for the named counters. Single-threaded: the event loop owns them. */
#include "counters.h"

#include <string.h>

static uint64_t values[CNT__COUNT];
static const char *const names[CNT__COUNT] = {
#define PC_COUNTER_NAME(id, name) name,
	PC_COUNTERS(PC_COUNTER_NAME)
#undef PC_COUNTER_NAME
};

void counter_inc(enum pc_counter c) { values[c]++; }
void counter_add(enum pc_counter c, uint64_t n) { values[c] += n; }
uint64_t counter_get(enum pc_counter c) { return values[c]; }
const char *counter_name(enum pc_counter c) { return names[c]; }
void counters_reset(void) { memset(values, 0, sizeof(values)); }
