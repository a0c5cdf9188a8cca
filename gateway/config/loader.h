/* What the configuration loader (config.c) and the table of keys (keys.c)
 * share: the shape of a key's entry and of a group, and the loop's helpers
 * that a group's rules call. Only gateway/config/ includes this. */
#ifndef PC_CONFIG_LOADER_H
#define PC_CONFIG_LOADER_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct cfg_loader {
	const char *source;
	const char *base_dir;
	char *err;
	size_t errlen;
	config_t *cf;
	struct gateway_config *cfg;
};

/* What a key holds, and so how the loop reads it. */
enum cfg_kind {
	K_STRING,    /* char[size]; one of `words` when they are given */
	K_UINT,      /* unsigned (or size_t, by size) in min..max */
	K_BOOL,
	K_ENUM,      /* one of `words`, stored as an int (a bool when size is 1) */
	K_TRANSPORT, /* udp, tcp or tls */
	K_STRINGS,   /* [ "...", ... ]: up to max entries of size bytes, count at count_off */
	K_NAMES,     /* K_STRINGS that are certificate names (RFC 5922: no wildcards) */
	K_NETS,      /* [ "10.0.0.0/8", ... ] kept as text with its line, for policy */
	K_READ,      /* its own reader, called whether the key is there or not */
	K_LATER,     /* known here; the group's check reads it when it applies */
	K_GROUP,     /* { ... } described by `sub` (top level) */
	K_LIST,      /* ( { ... }, ... ): up to max entries of size bytes (top level) */
};

#define F_REQUIRED 1u        /* absent is an error */
#define F_SERVER_REQUIRED 2u /* absent is an error in a listener's TLS group */
#define F_PATH 4u            /* a file name, relative to the configuration's directory */
#define F_LATER 8u           /* read by the group's check, only where it applies */

struct cfg_word {
	const char *text;
	int value;
};

struct cfg_loader;
struct cfg_key;
struct cfg_section;
/* Reads a K_READ key of group g (NULL-safe) into the group's struct. */
typedef int cfg_key_reader(struct cfg_loader *ld, const config_setting_t *g, const struct cfg_key *k, void *obj);
/* Checks (and may amend) a string key's value; s is the key's setting. */
typedef int cfg_key_check(struct cfg_loader *ld, const config_setting_t *s, char *value, size_t size);
/* The rules tying a group's keys together, run once its keys are read; g is
 * NULL for an absent top-level group, index is the entry's in a list. */
typedef int cfg_group_check(struct cfg_loader *ld, const config_setting_t *g, void *obj, unsigned index);

struct cfg_key {
	const char *name;
	enum cfg_kind kind;
	unsigned flags;
	size_t off, size;          /* the field: offset in its group's struct, bytes (lists: per entry) */
	unsigned min, max;         /* K_UINT bounds; lists: most entries */
	long long def;             /* default of K_UINT, K_BOOL, K_ENUM */
	const char *def_text;      /* default of K_STRING */
	const struct cfg_word *words;  /* K_ENUM, K_STRING, K_READ */
	size_t count_off;          /* lists: where their number of entries goes */
	cfg_key_reader *read;          /* K_READ */
	cfg_key_check *check;          /* K_STRING */
	const struct cfg_section *sub; /* K_GROUP, K_LIST */
};

/* A group's keys and its rules. */
struct cfg_section {
	const struct cfg_key *keys;
	size_t n_keys;
	cfg_group_check *check;
	const char *empty_why;     /* K_LIST that must have entries: why when it has none */
};

/* The tables' entries (keys.c, keys_stir.c): each macro takes the group's
 * struct from T, defined per table. */
#define FIELD(T, f) .off = offsetof(T, f), .size = sizeof(((T *)0)->f)
#define ENTRIES(T, f, n) .off = offsetof(T, f), .size = sizeof(((T *)0)->f[0]), \
	.max = sizeof(((T *)0)->f) / sizeof(((T *)0)->f[0]), .count_off = offsetof(T, n)
#define STR(k, f, fl, d) { .name = k, .kind = K_STRING, .flags = fl, FIELD(T, f), .def_text = d }
#define UINT(k, f, fl, lo, hi, d) \
	{ .name = k, .kind = K_UINT, .flags = fl, FIELD(T, f), .min = lo, .max = hi, .def = d }
#define BOOL(k, f, d) { .name = k, .kind = K_BOOL, FIELD(T, f), .def = d }
#define ENUM(k, f, w, d) { .name = k, .kind = K_ENUM, FIELD(T, f), .words = w, .def = d }
#define TRANSPORT(k, f, fl) { .name = k, .kind = K_TRANSPORT, .flags = fl, FIELD(T, f) }
#define LIST_OF(k, kind_, f, n) { .name = k, .kind = kind_, ENTRIES(T, f, n) }
#define READ(k, fn) { .name = k, .kind = K_READ, .read = fn }
#define LATER(k) { .name = k, .kind = K_LATER }
#define SECTION(keys_, check_, ...) \
	{ .keys = keys_, .n_keys = sizeof(keys_) / sizeof(keys_[0]), .check = check_, __VA_ARGS__ }

/* "file:line: key: why" for setting s (the source and line 0 when NULL). */
int cfg_fail(struct cfg_loader *ld, const config_setting_t *s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* g's member `name`; NULL when g is NULL. */
const config_setting_t *cfg_member(const config_setting_t *g, const char *name);
/* A string setting that must be one of `words`: its value in *out. */
int cfg_read_word(struct cfg_loader *ld, const config_setting_t *s, const struct cfg_word *words, int *out);
/* Every key of g must be in sec's table: a typo is an error, not a default. */
int cfg_check_keys(struct cfg_loader *ld, const config_setting_t *g, const struct cfg_section *sec);
/* g's keys in table order: those flagged F_LATER when `later`, the others
 * when not. `server`: g is a listener's TLS settings. */
int cfg_read_keys(struct cfg_loader *ld, const config_setting_t *g, const struct cfg_section *sec, void *obj,
		  bool server, bool later);
void cfg_apply_defaults(const struct cfg_section *sec, void *obj);

/* The top level (keys.c). */
extern const struct cfg_section cfg_root_section;
/* A "tls" group under owner, read and checked as a listener's (server) or
 * peer's: the HTTP listener's (http.tls) reuses it. 0 or -1. */
int cfg_read_tls(struct cfg_loader *ld, const config_setting_t *owner, struct tls_config *tls, bool server);
/* The stir and http groups (keys_stir.c), and the check of a leg's origid. */
extern const struct cfg_section cfg_stir_section, cfg_http_section;
cfg_key_check cfg_check_uuid;
/* The control group (keys_control.c). */
extern const struct cfg_section cfg_control_section;
/* The cluster group (keys_cluster.c). */
extern const struct cfg_section cfg_cluster_section;

#endif
