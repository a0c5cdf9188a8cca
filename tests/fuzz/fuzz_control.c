/* libFuzzer target: a request line of the control socket as
 * gateway/control/control.c answers it (control_answer: split, look up,
 * check the argument count, run), with commands that take 0, 1 and 2
 * arguments and read the call number as `call kill` does. Every answer
 * must be a JSON object: an answer or an error, never nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/control.h"
#include "control/line.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *number(void *ctx, int argc, char **argv, char *err, size_t errlen)
{
	uint32_t id;
	if (control_call_number(argv[argc - 1], &id) < 0)
		return NULL;
	char uri[64];
	control_uri_without_password(argv[0], uri, sizeof(uri));
	return json_pack("{s:I,s:s}", "id", (json_int_t)id, "uri", uri);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct control *c;
	if (!c) {
		struct control_config cc = { .socket = "" };
		char err[128];
		c = control_new(NULL, &cc, 0, 0, err, sizeof(err));
		if (!c || control_add(c, "none", 0, 0, "none", number, NULL) < 0 ||
		    control_add(c, "one", 1, 1, "one N", number, NULL) < 0 ||
		    control_add(c, "call", 2, 2, "call kill N", number, NULL) < 0)
			abort();
	}
	if (size > CONTROL_LINE_MAX)
		size = CONTROL_LINE_MAX; /* the socket never hands over more */
	char line[CONTROL_LINE_MAX + 1];
	memcpy(line, data, size);
	json_t *doc = control_answer(c, line, size, 0);
	if (!json_is_object(doc))
		abort();
	json_decref(doc);
	return 0;
}
