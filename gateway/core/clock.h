/* The gateway's one clock: monotonic milliseconds (immune to wall-clock
 * steps) for timers, rates, latch windows and lifetimes. Unit tests replace
 * it with a clock they move by hand, so logic that waits can be tested
 * without sleeping. */
#ifndef PC_CORE_CLOCK_H
#define PC_CORE_CLOCK_H

#include <stdint.h>

/* Monotonic milliseconds since an arbitrary start (or the test clock). */
uint64_t pc_clock_ms(void);

/* The same clock in microseconds, for measuring short waits (the test clock
 * times 1000). */
uint64_t pc_clock_us(void);

/* Wall-clock (unix) milliseconds, for what is shown to people (call
 * records); never for measuring time. Not faked. */
uint64_t pc_wall_ms(void);

/* Tests only: from now on pc_clock_ms() returns *fake (read at each call),
 * or the real clock again when fake is NULL. */
void pc_clock_set_fake(const uint64_t *fake);

#endif
