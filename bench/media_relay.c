/* media_relay: Portcullis's media relay (gateway/media, linked from the
 * release build's static libraries) alone on an event loop, for the media
 * benchmark. It creates --calls streams the way a call through the gateway
 * does: side A inside, plain RTP; side B outside, SDES-SRTP with fresh keys
 * from media_keys_fresh for both directions; the peers' SDP addresses are the
 * load generator's two sockets. It writes one line per call to --table
 * (inside port, outside port, suite, key the trunk protects with, key the
 * relay protects with, both hex) for media_load, prints "ready", and relays
 * until SIGTERM/SIGINT, then prints the summed per-stream statistics and the
 * relay's own CPU time as key=value. Also prints the RSS the streams took.
 * The streams go through the gateway's media pool (media/pool.h): with
 * --workers 1 (the default) it relays on this thread's loop, as the gateway
 * with media.workers = 1; with N > 1, on N worker threads, calls spread
 * over them as the gateway spreads them. --io epoll|auto|uring is
 * media.io (media/pool.h); the default here is epoll, as before.
 *
 *   media_relay --calls N --suite NAME --gen-plain PORT --gen-srtp PORT --table FILE
 *               [--inside MIN-MAX] [--outside MIN-MAX] [--workers N] [--io epoll|auto|uring] */
#include <arpa/inet.h>
#include <event2/event.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "core/counters.h"
#include "core/log.h"
#include "core/srtp_params.h"
#include "media/media.h"
#include "media/pool.h"

static struct media_stream **streams;
static unsigned nstreams;

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

static void hex(FILE *f, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", b[i]);
}

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct event_base *base = arg;
	struct media_side_stats sum[2] = { 0 };
	for (unsigned i = 0; i < nstreams; i++)
		for (int sd = 0; sd < 2; sd++) {
			struct media_side_stats st;
			media_stream_stats(streams[i], (enum media_side)sd, &st);
			sum[sd].rtp_in += st.rtp_in;
			sum[sd].rtp_out += st.rtp_out;
			sum[sd].auth_failures += st.auth_failures;
			sum[sd].replays += st.replays;
			sum[sd].wrong_source += st.wrong_source;
			sum[sd].no_destination += st.no_destination;
		}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("relay_in_inside=%llu relay_in_outside=%llu relay_out_inside=%llu relay_out_outside=%llu "
	       "auth_failures=%llu replays=%llu wrong_source=%llu no_destination=%llu "
	       "protect_failures=%llu send_failures=%llu malformed=%llu ssrc_limit=%llu "
	       "relay_total_cpu_s=%.3f\n",
	       (unsigned long long)sum[0].rtp_in, (unsigned long long)sum[1].rtp_in,
	       (unsigned long long)sum[0].rtp_out, (unsigned long long)sum[1].rtp_out,
	       (unsigned long long)(sum[0].auth_failures + sum[1].auth_failures),
	       (unsigned long long)(sum[0].replays + sum[1].replays),
	       (unsigned long long)(sum[0].wrong_source + sum[1].wrong_source),
	       (unsigned long long)(sum[0].no_destination + sum[1].no_destination),
	       (unsigned long long)counter_get(CNT_MEDIA_PROTECT_FAILED),
	       (unsigned long long)counter_get(CNT_MEDIA_SEND_FAILED),
	       (unsigned long long)counter_get(CNT_MEDIA_MALFORMED),
	       (unsigned long long)counter_get(CNT_MEDIA_SSRC_LIMIT),
	       (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	fflush(stdout);
	event_base_loopbreak(base);
}

/* The stream's setters as the gateway sends them (media_plan.c). */
static int remote(struct media_pool *p, struct media_stream *s, enum media_side side,
		  const struct sockaddr_storage *to)
{
	struct media_stream_cmd c = { .op = MEDIA_OP_SET_REMOTE, .s = s, .side = side };
	c.u.remote.rtp_addr = *to;
	return media_pool_stream_cmd(p, &c);
}

static int crypto(struct media_pool *p, struct media_stream *s, const struct pc_srtp_params *recv,
		  const struct pc_srtp_params *send)
{
	struct media_stream_cmd c = { .op = MEDIA_OP_SET_CRYPTO, .s = s, .side = MEDIA_SIDE_B };
	c.u.crypto.have_recv = c.u.crypto.have_send = true;
	c.u.crypto.recv = *recv;
	c.u.crypto.send = *send;
	return media_pool_stream_cmd(p, &c);
}

static int range_arg(const char *s, unsigned *lo, unsigned *hi)
{
	return sscanf(s, "%u-%u", lo, hi) == 2 && *lo < *hi && *hi < 65536 ? 0 : -1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "calls", required_argument, NULL, 'n' }, { "suite", required_argument, NULL, 's' },
		{ "gen-plain", required_argument, NULL, 'p' }, { "gen-srtp", required_argument, NULL, 'P' },
		{ "table", required_argument, NULL, 't' }, { "inside", required_argument, NULL, 'i' },
		{ "outside", required_argument, NULL, 'o' }, { "quality", required_argument, NULL, 'q' },
		{ "workers", required_argument, NULL, 'w' }, { "io", required_argument, NULL, 'I' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned n = 0, gp = 0, gs = 0, ilo = 10000, ihi = 20999, olo = 21000, ohi = 31999, workers = 1;
	enum media_io io = MEDIA_IO_EPOLL;
	const char *suite_name = "AES_CM_128_HMAC_SHA1_80", *table = NULL;
	bool quality = true;
	int ch;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'n': n = (unsigned)atoi(optarg); break;
		case 's': suite_name = optarg; break;
		case 'p': gp = (unsigned)atoi(optarg); break;
		case 'P': gs = (unsigned)atoi(optarg); break;
		case 't': table = optarg; break;
		case 'i': if (range_arg(optarg, &ilo, &ihi) < 0) return 2; break;
		case 'o': if (range_arg(optarg, &olo, &ohi) < 0) return 2; break;
		case 'q': quality = strcmp(optarg, "off") != 0; break;
		case 'w': workers = (unsigned)atoi(optarg); break;
		case 'I':
			io = !strcmp(optarg, "uring") ? MEDIA_IO_URING
			   : !strcmp(optarg, "auto") ? MEDIA_IO_AUTO : MEDIA_IO_EPOLL;
			break;
		default: return 2;
		}
	}
	enum pc_srtp_suite suite;
	if (!n || n > 20000 || !gp || !gs || !table || !workers || workers > 64 ||
	    pc_srtp_suite_from_name(suite_name, strlen(suite_name), &suite) < 0) {
		fprintf(stderr, "usage: media_relay --calls N --suite NAME --gen-plain P --gen-srtp P --table FILE [--quality on|off] [--workers N] [--io epoll|auto|uring]\n");
		return 2;
	}
	log_set_level(LOG_LVL_WARN);
	signal(SIGPIPE, SIG_IGN);
	struct event_base *base = event_base_new();
	struct media_pool *pool = media_pool_new(base, workers);
	struct media_engine *e = media_pool_engine(pool);
	media_engine_set_quality(e, quality);
	int ra = media_engine_add_range(e, "127.0.0.1", ilo, ihi, 0);
	int rb = media_engine_add_range(e, "127.0.0.1", olo, ohi, 0);
	if (ra < 0 || rb < 0 || media_pool_set_io(pool, io) < 0 || media_pool_start(pool) < 0)
		return 1;
	FILE *f = fopen(table, "w");
	if (f == NULL) {
		perror(table);
		return 1;
	}
	struct sockaddr_storage pa = { 0 }, sa = { 0 };
	struct sockaddr_in *p4 = (struct sockaddr_in *)&pa, *s4 = (struct sockaddr_in *)&sa;
	p4->sin_family = s4->sin_family = AF_INET;
	p4->sin_addr.s_addr = s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	p4->sin_port = htons((uint16_t)gp);
	s4->sin_port = htons((uint16_t)gs);
	streams = calloc(n, sizeof(*streams));
	long rss0 = rss_kib();
	for (unsigned i = 0; i < n; i++) {
		struct pc_srtp_params recv, send;
		struct media_stream *s = media_pool_stream_new(pool, ra, rb, NULL);
		if (s == NULL || media_keys_fresh(suite, &recv) < 0 || media_keys_fresh(suite, &send) < 0 ||
		    remote(pool, s, MEDIA_SIDE_A, &pa) < 0 || remote(pool, s, MEDIA_SIDE_B, &sa) < 0 ||
		    crypto(pool, s, &recv, &send) < 0) {
			fprintf(stderr, "media_relay: stream %u could not be set up\n", i);
			return 1;
		}
		streams[nstreams++] = s;
		fprintf(f, "%u %u %s ", media_stream_port(s, MEDIA_SIDE_A), media_stream_port(s, MEDIA_SIDE_B),
			suite_name);
		hex(f, recv.key_salt, recv.key_salt_len);
		fputc(' ', f);
		hex(f, send.key_salt, send.key_salt_len);
		fputc('\n', f);
		pc_srtp_params_wipe(&recv);
		pc_srtp_params_wipe(&send);
	}
	fclose(f);
	long rss1 = rss_kib();
	printf("ready streams=%u rss_before_kib=%ld rss_after_kib=%ld bytes_per_stream=%.0f\n", n, rss0, rss1,
	       (double)(rss1 - rss0) * 1024.0 / n);
	fflush(stdout);
	struct event *st = evsignal_new(base, SIGTERM, on_stop, base);
	struct event *si = evsignal_new(base, SIGINT, on_stop, base);
	event_add(st, NULL);
	event_add(si, NULL);
	event_base_dispatch(base);
	event_free(st);
	event_free(si);
	for (unsigned i = 0; i < nstreams; i++)
		media_pool_stream_free(pool, streams[i]);
	media_pool_free(pool);
	event_base_free(base);
	return 0;
}
