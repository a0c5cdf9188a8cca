/* Reading the configuration with libconfig, driven by the table of keys in
 * keys.c, as nginx's ngx_command_t and Redis's standardConfig drive theirs:
 * each key is written once there, and one loop here checks every group
 * against its table (a typo is an error naming file and line rather than a
 * silently ignored setting), applies the defaults, reads and validates each
 * value and runs the group's rules, reporting the first error as
 * "file:line: key: why". Values are validated here, once; the rest of the
 * gateway trusts struct gateway_config. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "build_config.h"
#include "loader.h"

extern const char portcullis_default_conf[];

const char *config_embedded_default(void) { return portcullis_default_conf; }

int cfg_fail(struct cfg_loader *ld, const config_setting_t *s, const char *fmt, ...)
{
	char why[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	const char *file = s ? config_setting_source_file(s) : NULL;
	unsigned line = s ? config_setting_source_line(s) : 0;
	const char *name = s ? config_setting_name(s) : NULL;
	snprintf(ld->err, ld->errlen, "%s:%u: %s%s%s", file ? file : ld->source, line,
		 name ? name : "", name ? ": " : "", why);
	return -1;
}

const config_setting_t *cfg_member(const config_setting_t *g, const char *name)
{
	return g ? config_setting_get_member(g, name) : NULL;
}

static void *at(void *obj, size_t off) { return (char *)obj + off; }

/* The value of `text` in `words`, else the error "must be a, b or c". */
static int match_word(struct cfg_loader *ld, const config_setting_t *s, const struct cfg_word *words,
		      const char *text, int *out)
{
	char why[160] = "must be ";
	size_t len = strlen(why);
	for (unsigned i = 0; words[i].text; i++) {
		if (!strcmp(text, words[i].text)) {
			*out = words[i].value;
			return 0;
		}
		const char *sep = !words[i + 1].text ? "" : !words[i + 2].text ? " or " : ", ";
		len += (size_t)snprintf(why + len, sizeof(why) - len, "%s%s", words[i].text, sep);
		if (len >= sizeof(why))
			len = sizeof(why) - 1;
	}
	return cfg_fail(ld, s, "%s", why);
}

int cfg_read_word(struct cfg_loader *ld, const config_setting_t *s, const struct cfg_word *words, int *out)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return cfg_fail(ld, s, "must be a string");
	return match_word(ld, s, words, config_setting_get_string(s), out);
}

static int resolve_path(struct cfg_loader *ld, const config_setting_t *s, char *path, size_t len)
{
	if (path[0] == '\0' || path[0] == '/')
		return 0;
	char joined[PATH_MAX];
	int n = snprintf(joined, sizeof(joined), "%s/%s", ld->base_dir, path);
	if (n < 0 || (size_t)n >= len)
		return cfg_fail(ld, s, "path too long");
	memcpy(path, joined, (size_t)n + 1);
	return 0;
}

static int read_string(struct cfg_loader *ld, const config_setting_t *s, const struct cfg_key *k, char *out)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return cfg_fail(ld, s, "must be a string");
	const char *v = config_setting_get_string(s);
	int ignored;
	if (strlen(v) >= k->size)
		return cfg_fail(ld, s, "value too long (max %zu)", k->size - 1);
	snprintf(out, k->size, "%s", v);
	if (k->words && match_word(ld, s, k->words, out, &ignored) < 0)
		return -1;
	if (k->check && k->check(ld, s, out, k->size) < 0)
		return -1;
	return k->flags & F_PATH ? resolve_path(ld, s, out, k->size) : 0;
}

static void store_uint(const struct cfg_key *k, void *field, unsigned long long v)
{
	if (k->size == sizeof(size_t))
		*(size_t *)field = (size_t)v;
	else
		*(unsigned *)field = (unsigned)v;
}

static int read_uint(struct cfg_loader *ld, const config_setting_t *s, const struct cfg_key *k, void *out)
{
	if (config_setting_type(s) != CONFIG_TYPE_INT && config_setting_type(s) != CONFIG_TYPE_INT64)
		return cfg_fail(ld, s, "must be an integer");
	long long v = config_setting_get_int64(s);
	if (config_setting_type(s) == CONFIG_TYPE_INT)
		v = config_setting_get_int(s);
	if (v < (long long)k->min || v > (long long)k->max)
		return cfg_fail(ld, s, "must be between %u and %u", k->min, k->max);
	store_uint(k, out, (unsigned long long)v);
	return 0;
}

static void store_enum(const struct cfg_key *k, void *field, int v)
{
	if (k->size == sizeof(bool))
		*(bool *)field = v != 0;
	else
		*(int *)field = v;
}

/* A list of strings into `max` slots of `size` bytes. Names (certificate
 * identities) may not hold wildcards: RFC 5922 matches exactly. */
static int read_strings(struct cfg_loader *ld, const config_setting_t *list, const struct cfg_key *k, void *obj)
{
	char *out = at(obj, k->off);
	unsigned *n = at(obj, k->count_off);
	if (!config_setting_is_array(list) && !config_setting_is_list(list))
		return cfg_fail(ld, list, "must be a list of strings [ \"...\", ... ]");
	int len = config_setting_length(list);
	if (len > (int)k->max)
		return cfg_fail(ld, list, "at most %u entries", k->max);
	*n = 0;
	for (int i = 0; i < len; i++) {
		const config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
		const char *v = config_setting_type(e) == CONFIG_TYPE_STRING ? config_setting_get_string(e) : NULL;
		if (!v || !v[0] || strlen(v) >= k->size)
			return cfg_fail(ld, list, "entry %d must be a non-empty string under %zu bytes", i + 1,
					k->size);
		if (k->kind == K_NAMES && strchr(v, '*'))
			return cfg_fail(ld, list, "\"%s\" is not a valid name (no wildcards)", v);
		snprintf(out + (size_t)*n * k->size, k->size, "%s", v);
		(*n)++;
	}
	return 0;
}

/* A list of networks: each kept as text with its line, parsed by policy. */
static int read_nets(struct cfg_loader *ld, const config_setting_t *list, const struct cfg_key *k, void *obj)
{
	struct cfg_net *out = at(obj, k->off);
	unsigned *n = at(obj, k->count_off);
	if (!config_setting_is_array(list) && !config_setting_is_list(list))
		return cfg_fail(ld, list, "must be a list of networks [ \"10.0.0.0/8\", ... ]");
	int len = config_setting_length(list);
	if (len > (int)k->max)
		return cfg_fail(ld, list, "at most %u networks", k->max);
	for (int i = 0; i < len; i++) {
		const config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
		const char *v = config_setting_type(e) == CONFIG_TYPE_STRING ? config_setting_get_string(e) : NULL;
		if (!v || !v[0] || strlen(v) >= CFG_NET_MAX)
			return cfg_fail(ld, list, "entry %d must be a network such as \"10.0.0.0/8\"", i + 1);
		snprintf(out[*n].text, CFG_NET_MAX, "%s", v);
		out[*n].line = (unsigned)config_setting_source_line(e);
		(*n)++;
	}
	return 0;
}

static int read_value(struct cfg_loader *ld, const config_setting_t *s, const struct cfg_key *k, void *obj)
{
	void *field = at(obj, k->off);
	int v;
	switch (k->kind) {
	case K_STRING:
		return read_string(ld, s, k, field);
	case K_UINT:
		return read_uint(ld, s, k, field);
	case K_BOOL:
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			return cfg_fail(ld, s, "must be true or false");
		*(bool *)field = config_setting_get_bool(s);
		return 0;
	case K_ENUM:
		if (cfg_read_word(ld, s, k->words, &v) < 0)
			return -1;
		store_enum(k, field, v);
		return 0;
	case K_TRANSPORT:
		if (config_setting_type(s) != CONFIG_TYPE_STRING)
			return cfg_fail(ld, s, "must be a string");
		if (pc_transport_from_name(config_setting_get_string(s), field) < 0)
			return cfg_fail(ld, s, "must be udp, tcp or tls");
		return 0;
	case K_STRINGS:
	case K_NAMES:
		return read_strings(ld, s, k, obj);
	case K_NETS:
		return read_nets(ld, s, k, obj);
	default:
		return 0;
	}
}

static int load_group(struct cfg_loader *ld, const struct cfg_key *k, void *obj);
static int load_list(struct cfg_loader *ld, const struct cfg_key *k, void *obj);

int cfg_read_keys(struct cfg_loader *ld, const config_setting_t *g, const struct cfg_section *sec,
		  void *obj, bool server, bool later)
{
	for (size_t i = 0; i < sec->n_keys; i++) {
		const struct cfg_key *k = &sec->keys[i];
		if (!(k->flags & F_LATER) != !later || k->kind == K_LATER)
			continue;
		if (k->kind == K_READ || k->kind == K_GROUP || k->kind == K_LIST) {
			int rc = k->kind == K_READ    ? k->read(ld, g, k, obj)
				 : k->kind == K_GROUP ? load_group(ld, k, obj)
						      : load_list(ld, k, obj);
			if (rc < 0)
				return -1;
			continue;
		}
		const config_setting_t *s = cfg_member(g, k->name);
		if (!s && (k->flags & F_REQUIRED || (k->flags & F_SERVER_REQUIRED && server)))
			return cfg_fail(ld, g, "missing required key \"%s\"", k->name);
		if (s && read_value(ld, s, k, obj) < 0)
			return -1;
	}
	return 0;
}

int cfg_check_keys(struct cfg_loader *ld, const config_setting_t *g, const struct cfg_section *sec)
{
	int n = config_setting_length(g);
	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(s);
		size_t j = 0;
		while (j < sec->n_keys && !(name && !strcmp(name, sec->keys[j].name)))
			j++;
		if (j == sec->n_keys)
			return cfg_fail(ld, s, "unknown key");
	}
	return 0;
}

void cfg_apply_defaults(const struct cfg_section *sec, void *obj)
{
	for (size_t i = 0; i < sec->n_keys; i++) {
		const struct cfg_key *k = &sec->keys[i];
		void *field = at(obj, k->off);
		if (k->kind == K_UINT)
			store_uint(k, field, (unsigned long long)k->def);
		else if (k->kind == K_BOOL || k->kind == K_ENUM)
			store_enum(k, field, (int)k->def);
		else if (k->kind == K_STRING && k->def_text)
			snprintf(field, k->size, "%s", k->def_text);
		else if (k->kind == K_GROUP)
			cfg_apply_defaults(k->sub, field);
	}
}

static int read_group(struct cfg_loader *ld, const config_setting_t *g, const struct cfg_section *sec,
		      void *obj, unsigned index)
{
	if (cfg_check_keys(ld, g, sec) < 0 || cfg_read_keys(ld, g, sec, obj, false, false) < 0)
		return -1;
	return sec->check ? sec->check(ld, g, obj, index) : 0;
}

/* A top-level group; its rules also run when it is absent (defaults that
 * depend on other groups, keys other groups need). */
static int load_group(struct cfg_loader *ld, const struct cfg_key *k, void *cfg)
{
	const config_setting_t *g = config_lookup(ld->cf, k->name);
	if (!g)
		return k->sub->check ? k->sub->check(ld, NULL, at(cfg, k->off), 0) : 0;
	if (!config_setting_is_group(g))
		return cfg_fail(ld, g, "must be a group { ... }");
	return read_group(ld, g, k->sub, at(cfg, k->off), 0);
}

static int load_list(struct cfg_loader *ld, const struct cfg_key *k, void *cfg)
{
	const config_setting_t *list = config_lookup(ld->cf, k->name);
	unsigned *count = at(cfg, k->count_off);
	if (!list)
		return k->sub->empty_why ? cfg_fail(ld, config_root_setting(ld->cf), "no \"%s\" defined", k->name)
					 : 0;
	if (!config_setting_is_list(list))
		return cfg_fail(ld, list, "must be a list ( { ... }, ... )");
	int n = config_setting_length(list);
	if (n == 0 && k->sub->empty_why)
		return cfg_fail(ld, list, "%s", k->sub->empty_why);
	if (n > (int)k->max)
		return cfg_fail(ld, list, "at most %u %s", k->max, k->name);
	for (int i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
		void *entry = at(cfg, k->off + (size_t)i * k->size);
		if (!config_setting_is_group(g))
			return cfg_fail(ld, list, "entry %d must be a group { ... }", i + 1);
		cfg_apply_defaults(k->sub, entry);
		if (read_group(ld, g, k->sub, entry, (unsigned)i) < 0)
			return -1;
		(*count)++;
	}
	return 0;
}

/* Beyond the budgets: stdio, the event loop's own descriptors, the log, the
 * registrar's database, and connections closed but not yet reaped (each
 * listener may evict up to one accept batch before the reaper runs). */
#define FD_RESERVE 64
#define FD_PER_LISTENER 64
#define FD_PER_MEDIA_WORKER 4u

void config_fd_need(const struct gateway_config *cfg, struct cfg_fd_need *need)
{
	need->connections = FD_RESERVE + cfg->limits.max_outgoing_connections + cfg->n_peers;
	/* Each media worker: its loop's and its relay's epoll sets, its
	 * command queue's eventfd and one spare; 0 workers = up to the most. */
	need->connections += FD_PER_MEDIA_WORKER * (cfg->media.workers ? cfg->media.workers
								  : CFG_MAX_MEDIA_WORKERS);
	for (unsigned i = 0; i < cfg->n_listeners; i++)
		need->connections += 1 + FD_PER_LISTENER + cfg->listeners[i].max_connections;
	need->relay = 0;
	for (unsigned i = 0; i < cfg->n_legs; i++)
		need->relay += cfg->legs[i].rtp_port_max - cfg->legs[i].rtp_port_min + 1;
	/* Never more relay sockets than ports: without legs, calls need none. */
	need->calls = (unsigned long)CFG_FDS_PER_CALL * cfg->limits.max_calls;
	if (need->calls > need->relay)
		need->calls = need->relay;
}

const struct leg_config *config_leg(const struct gateway_config *cfg, const char *name)
{
	for (unsigned i = 0; i < cfg->n_legs; i++)
		if (!strcmp(cfg->legs[i].name, name))
			return &cfg->legs[i];
	return NULL;
}

const struct peer_config *config_peer(const struct gateway_config *cfg, const char *name)
{
	for (unsigned i = 0; i < cfg->n_peers; i++)
		if (!strcmp(cfg->peers[i].name, name))
			return &cfg->peers[i];
	return NULL;
}

/* Reads a parsed file into cfg, which holds the defaults. */
static int load_root(struct cfg_loader *ld, config_t *cf)
{
	ld->cf = cf;
	int rc = read_group(ld, config_root_setting(cf), &cfg_root_section, ld->cfg, 0);
	config_destroy(cf);
	return rc;
}

static void start(struct cfg_loader *ld, config_t *cf, const char *source)
{
	memset(ld->cfg, 0, sizeof(*ld->cfg));
	cfg_apply_defaults(&cfg_root_section, ld->cfg);
	snprintf(ld->cfg->source, sizeof(ld->cfg->source), "%s", source);
	config_init(cf);
}

int config_load_string(const char *text, const char *source_name, const char *base_dir,
		       struct gateway_config *cfg, char *errbuf, size_t errlen)
{
	struct cfg_loader ld = { source_name, base_dir, errbuf, errlen, NULL, cfg };
	config_t cf;

	start(&ld, &cf, source_name);
	if (!config_read_string(&cf, text)) {
		snprintf(errbuf, errlen, "%s:%d: %s", source_name, config_error_line(&cf),
			 config_error_text(&cf));
		config_destroy(&cf);
		return -1;
	}
	return load_root(&ld, &cf);
}

int config_load(const char *path, struct gateway_config *cfg, char *errbuf, size_t errlen)
{
	if (!path)
		return config_load_string(portcullis_default_conf, "(embedded default)",
					  PORTCULLIS_CERT_DIR, cfg, errbuf, errlen);

	char base[PATH_MAX];
	snprintf(base, sizeof(base), "%s", path);
	char *slash = strrchr(base, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(base, sizeof(base), ".");

	struct cfg_loader ld = { path, base, errbuf, errlen, NULL, cfg };
	config_t cf;

	start(&ld, &cf, path);
	if (!config_read_file(&cf, path)) {
		if (config_error_type(&cf) == CONFIG_ERR_FILE_IO)
			snprintf(errbuf, errlen, "%s: cannot read file", path);
		else
			snprintf(errbuf, errlen, "%s:%d: %s",
				 config_error_file(&cf) ? config_error_file(&cf) : path,
				 config_error_line(&cf), config_error_text(&cf));
		config_destroy(&cf);
		return -1;
	}
	return load_root(&ld, &cf);
}

