/* Monotonic milliseconds for the whole gateway, with the test hook that lets
 * unit tests drive time by hand (clock.h), and the wall clock for records. */
#include "clock.h"

#include <stddef.h>
#include <time.h>

static const uint64_t *fake_ms;

uint64_t pc_clock_us(void)
{
	if (fake_ms)
		return *fake_ms * 1000;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t pc_clock_ms(void)
{
	if (fake_ms)
		return *fake_ms;
	return pc_clock_us() / 1000;
}

uint64_t pc_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void pc_clock_set_fake(const uint64_t *fake) { fake_ms = fake; }
