/* The network process's side of a user store reload: asks the key holder to
 * re-read the store (the network process cannot read it: the HA1s are the
 * holder's), then rebuilds its own view of the users, without HA1s, from
 * the holder's pages in the store's format (zeros where the HA1s were),
 * with the same parser as at start; then, once the whole reload is
 * decided, commits or drops the holder's pending copy. The holder answers
 * only the network process's requests, one at a time, so between the
 * commit and the network process's swap (one step of its event loop) no
 * digest question is answered against the other store. A store of
 * 100 000 users takes about 10 000 round trips of tens of microseconds. */
#include "keyholder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "proto.h"

/* The view's text: at most a page per user, and no more users than the
 * holder loaded (its own auth.max_users). */
#define VIEW_MAX (64u << 20)

static struct kh_request req;
static struct kh_reply rep;

/* One user store request; its status, or -1 (logged) with no answer. */
static int32_t ask(enum kh_op op, uint32_t index)
{
	struct kh_users_request ur = { .index = index, .zero = 0 };
	req = (struct kh_request){ .op = (uint16_t)op, .len = sizeof(ur) };
	memcpy(req.data, &ur, sizeof(ur));
	rep.status = -1;
	rep.len = 0;
	return kh_exchange(&req, &rep) == 0 ? rep.status : -1;
}

/* The pages from the holder into one text: 0, or -1 with err. */
static int fetch_view(uint32_t n, char **text, size_t *len, char *err, size_t errlen)
{
	size_t cap = 0, used = 0;
	char *buf = NULL;
	for (uint32_t i = 0; i < n;) {
		int32_t got = ask(KH_OP_USERS_VIEW, i);
		if (got <= 0 || (uint32_t)got > n - i || used + rep.len > VIEW_MAX) {
			snprintf(err, errlen, "the key holder did not list the reloaded users");
			free(buf);
			return -1;
		}
		if (used + rep.len > cap) {
			size_t ncap = cap ? cap * 2 : 65536;
			while (ncap < used + rep.len)
				ncap *= 2;
			char *nb = realloc(buf, ncap);
			if (nb == NULL) {
				snprintf(err, errlen, "out of memory for the reloaded users");
				free(buf);
				return -1;
			}
			buf = nb;
			cap = ncap;
		}
		memcpy(buf + used, rep.data, rep.len);
		used += rep.len;
		i += (uint32_t)got;
	}
	*text = buf;
	*len = used;
	return 0;
}

int keyholder_users_prepare(struct users *view, char *err, size_t errlen)
{
	memset(view, 0, sizeof(*view));
	if (!keyholder_users_active()) {
		snprintf(err, errlen, "the key holder holds no user store");
		return -1;
	}
	int32_t st = ask(KH_OP_USERS_LOAD, 0);
	if (st == KH_USERS_REFUSED) {
		/* The holder's parse error: "file:line: why", never a field. */
		snprintf(err, errlen, "%.*s", (int)(rep.len < 511 ? rep.len : 511), (const char *)rep.data);
		return -1;
	}
	uint32_t n;
	if (st != 0 || rep.len != sizeof(n)) {
		snprintf(err, errlen, "the key holder did not re-read the user store");
		return -1;
	}
	memcpy(&n, rep.data, sizeof(n));
	char *text = NULL;
	size_t len = 0;
	/* Its own parse of what the holder parsed: only a bug makes it fail. */
	if (fetch_view(n, &text, &len, err, errlen) < 0 ||
	    users_parse(text, len, "the key holder's user list", n ? n : 1, view, err, errlen) < 0 ||
	    view->n != n) {
		if (view->n != n && err[0] == '\0')
			snprintf(err, errlen, "the key holder's user list is not the store it read");
		users_free(view);
		free(text);
		keyholder_users_drop();
		return -1;
	}
	free(text);
	users_forget_ha1(view); /* zeros, but the view is held to the rule */
	return 0;
}

int keyholder_users_commit(void)
{
	if (ask(KH_OP_USERS_COMMIT, 0) != 0) {
		log_warnx("keyholder: the reloaded user store was not committed");
		return -1;
	}
	return 0;
}

void keyholder_users_drop(void)
{
	if (ask(KH_OP_USERS_DROP, 0) != 0)
		log_warnx("keyholder: the reloaded user store was not dropped");
}
