// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/*
 * mig-top's Prometheus exporter: see prom.h and docs/fleet.md.
 */
#define _GNU_SOURCE	/* accept4, memmem */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>

#include "prom.h"

/* Histogram bounds in ns: 100 us .. 30 s (downtimes and their parts). */
static const uint64_t bounds_ns[PROM_NBUCKETS] = {
	100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
	25000000, 50000000, 100000000, 250000000, 500000000, 1000000000,
	2500000000ull, 5000000000ull, 10000000000ull, 30000000000ull,
	60000000000ull,
};

/* Which side each downtime part happens on (docs/downtime.md). */
static const int part_role[MP_NR] = {
	[MP_SRC_SUSPEND] = MR_SOURCE, [MP_FINAL_SAVE] = MR_SOURCE,
	[MP_DRAIN] = MR_SOURCE, [MP_TGT_LOAD] = MR_TARGET,
	[MP_TGT_RESUME] = MR_TARGET,
};

static const char *const role_names[] = {
	[MR_NONE] = "none", [MR_SOURCE] = "source", [MR_TARGET] = "target",
};

void prom_init(struct prom *p, const char *driver)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->driver, sizeof(p->driver), "%s", driver);
	p->listen_fd = -1;
}

static void observe(struct prom_hist *h, uint64_t ns)
{
	for (int i = 0; i < PROM_NBUCKETS; i++) {
		if (ns <= bounds_ns[i]) {
			h->le[i]++;
			break;
		}
	}
	h->count++;
	h->sum_ns += ns;
}

void prom_migration(struct prom *p, const struct mig_result *r)
{
	p->migrations++;
	p->precopy_migrations += r->precopy;
	p->partial += r->partial;
	p->bytes_mismatch += !r->bytes_match;
	observe(&p->downtime, r->downtime_ns);
	for (int i = 0; i < MP_NR; i++)
		observe(&p->part[i], r->part_ns[i]);
	p->precopy_bytes += r->precopy_bytes;
	p->stopcopy_bytes += r->stopcopy_bytes;
	p->written_bytes += r->written_bytes;
	p->precopy_iters += r->precopy_iters;
}

void prom_event(struct prom *p, const struct mig_event *e, const struct mig_dev *d)
{
	unsigned int role = d && d->role <= MR_TARGET ? d->role : MR_NONE;
	uint64_t site = e->a[0];

	if (e->type != MEV_ERROR)
		return;
	if (site >= PROM_NSITES || !strcmp(mig_err_site_name(site), "?"))
		site = PROM_NSITES;
	p->errors[role][site]++;
}

/* ------------------------------------------------------------------ */
/* Exposition                                                          */
/* ------------------------------------------------------------------ */

/* A label value: backslash, double quote and newline escaped. */
static void label_value(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{driver="..."[,extra]} */
static void series(FILE *f, const struct prom *p, const char *name, const char *extra)
{
	fprintf(f, "%s{driver=\"", name);
	label_value(f, p->driver);
	fprintf(f, "\"%s%s}", extra ? "," : "", extra ? extra : "");
}

static void counter(FILE *f, const struct prom *p, const char *name,
		    const char *extra, uint64_t v)
{
	series(f, p, name, extra);
	fprintf(f, " %" PRIu64 "\n", v);
}

static void seconds(FILE *f, uint64_t ns)
{
	fprintf(f, "%" PRIu64 ".%09" PRIu64, ns / UINT64_C(1000000000), ns % UINT64_C(1000000000));
}

static void hist(FILE *f, const struct prom *p, const char *name,
		 const char *extra, const struct prom_hist *h)
{
	char n[96], lab[160];
	uint64_t cum = 0;

	snprintf(n, sizeof(n), "%s_bucket", name);
	for (int i = 0; i < PROM_NBUCKETS; i++) {
		cum += h->le[i];
		snprintf(lab, sizeof(lab), "%s%sle=\"%g\"", extra ? extra : "",
			 extra ? "," : "", bounds_ns[i] / 1e9);
		counter(f, p, n, lab, cum);
	}
	snprintf(lab, sizeof(lab), "%s%sle=\"+Inf\"", extra ? extra : "", extra ? "," : "");
	counter(f, p, n, lab, h->count);
	snprintf(n, sizeof(n), "%s_sum", name);
	series(f, p, n, extra);
	fputc(' ', f);
	seconds(f, h->sum_ns);
	fputc('\n', f);
	snprintf(n, sizeof(n), "%s_count", name);
	counter(f, p, n, extra, h->count);
}

static bool migrating(const struct mig_dev *d)
{
	if (d->role == MR_SOURCE)
		return d->state == MS_PRE_COPY || d->state == MS_PRE_COPY_P2P ||
		       d->state == MS_STOP_COPY;
	/* A target is one until it reaches RUNNING (the model then drops the role). */
	return d->role == MR_TARGET && (d->state == MS_RESUMING ||
					d->state == MS_STOP ||
					d->state == MS_RUNNING_P2P);
}

void prom_write(FILE *f, const struct prom *p, const struct mig_model *m,
		uint64_t drops, const char *mode)
{
	uint64_t devs = 0, mig[MR_TARGET + 1] = { 0 };
	char lab[128];

	for (int i = 0; i < MIG_MAX_DEVS; i++) {
		const struct mig_dev *d = &m->devs[i];

		if (!d->used || d->removed)
			continue;
		devs++;
		if (migrating(d))
			mig[d->role]++;
	}

	head(f, "vfmig_exporter_info", "gauge",
	     "mig-top's attach mode (tp_btf, raw_tp, tp, generic fentry/kprobe, replay)");
	fprintf(f, "vfmig_exporter_info{driver=\"");
	label_value(f, p->driver);
	fprintf(f, "\",mode=\"");
	label_value(f, mode);
	fprintf(f, "\"} 1\n");

	/* One unlabelled series each: name, HELP, value. */
	const struct { const char *name, *help; uint64_t v; } one[] = {
		{ "vfmig_events_total", "Migration events mig-top received", m->events },
		{ "vfmig_dropped_events_total",
		  "Events lost (BPF ring buffer or device map full): non-zero means incomplete numbers", drops },
		{ "vfmig_migrations_total",
		  "Completed migrations (source paired with a target that reached RUNNING)", p->migrations },
		{ "vfmig_migrations_precopy_total",
		  "Completed migrations whose source used PRE_COPY", p->precopy_migrations },
		{ "vfmig_migrations_partial_total",
		  "Completed migrations mig-top saw only in part (started before it)", p->partial },
		{ "vfmig_migrations_bytes_mismatch_total",
		  "Completed migrations whose bytes read from the source differ from the bytes written to the target",
		  p->bytes_mismatch },
	};
	for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++) {
		head(f, one[i].name, "counter", one[i].help);
		counter(f, p, one[i].name, NULL, one[i].v);
	}

	head(f, "vfmig_downtime_seconds", "histogram",
	     "Downtime of completed migrations: source leaves running to target RUNNING");
	hist(f, p, "vfmig_downtime_seconds", NULL, &p->downtime);
	head(f, "vfmig_downtime_part_seconds", "histogram",
	     "Parts of the downtime (docs/downtime.md), role: the side they happen on");
	for (int i = 0; i < MP_NR; i++) {
		snprintf(lab, sizeof(lab), "role=\"%s\",part=\"%s\"",
			 role_names[part_role[i]], mig_part_name(i));
		hist(f, p, "vfmig_downtime_part_seconds", lab, &p->part[i]);
	}

	head(f, "vfmig_migration_bytes_total", "counter",
	     "Migration stream bytes of completed migrations: read from the source in PRE_COPY and STOP_COPY, written to the target");
	counter(f, p, "vfmig_migration_bytes_total", "role=\"source\",phase=\"precopy\"",
		p->precopy_bytes);
	counter(f, p, "vfmig_migration_bytes_total", "role=\"source\",phase=\"stop_copy\"",
		p->stopcopy_bytes);
	counter(f, p, "vfmig_migration_bytes_total", "role=\"target\",phase=\"resuming\"",
		p->written_bytes);
	head(f, "vfmig_precopy_iterations_total", "counter",
	     "PRE_COPY iterations (middle images started) of completed migrations");
	counter(f, p, "vfmig_precopy_iterations_total", "role=\"source\"", p->precopy_iters);

	head(f, "vfmig_errors_total", "counter",
	     "Error events by the role of their device and site (the vfmig_error site names)");
	for (int r = MR_NONE; r <= MR_TARGET; r++) {
		for (int s = 0; s <= PROM_NSITES; s++) {
			const char *name = s < PROM_NSITES ? mig_err_site_name(s) : "other";

			if (s < PROM_NSITES && !strcmp(name, "?"))
				continue;
			snprintf(lab, sizeof(lab), "role=\"%s\",site=\"%s\"", role_names[r], name);
			counter(f, p, "vfmig_errors_total", lab, p->errors[r][s]);
		}
	}

	head(f, "vfmig_devices", "gauge", "Devices mig-top knows (not removed)");
	counter(f, p, "vfmig_devices", NULL, devs);
	head(f, "vfmig_devices_migrating", "gauge",
	     "Devices in a migration now: sources in PRE_COPY, PRE_COPY_P2P or STOP_COPY, targets from RESUMING until RUNNING");
	counter(f, p, "vfmig_devices_migrating", "role=\"source\"", mig[MR_SOURCE]);
	counter(f, p, "vfmig_devices_migrating", "role=\"target\"", mig[MR_TARGET]);
}

int prom_write_file(const char *path, const struct prom *p,
		    const struct mig_model *m, uint64_t drops, const char *mode,
		    char *err, size_t errlen)
{
	size_t n = strlen(path) + 32;
	char *tmp = malloc(n);
	FILE *f;
	int fd;

	if (!tmp) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	/* Not ending in .prom: node_exporter skips it until the rename. */
	snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(tmp);
		return -1;
	}
	prom_write(f, p, m, drops, mode);
	if (fflush(f) || ferror(f)) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		fclose(f);
		unlink(tmp);
		free(tmp);
		return -1;
	}
	fclose(f);
	if (rename(tmp, path)) {
		snprintf(err, errlen, "rename %s to %s: %s", tmp, path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

/* ------------------------------------------------------------------ */
/* /metrics                                                            */
/* ------------------------------------------------------------------ */

int prom_listen(struct prom *p, const char *addr, char *bound, size_t boundlen,
		char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res = NULL, *ai;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[256], hbuf[NI_MAXHOST], sbuf[NI_MAXSERV];
	const char *port = strrchr(addr, ':'), *h = addr;
	size_t hl;
	int fd = -1, one = 1, rc;

	if (!port || !port[1]) {
		snprintf(err, errlen, "--prom-listen %s: want [HOST]:PORT", addr);
		return -1;
	}
	hl = port - addr;
	if (hl >= 2 && addr[0] == '[' && addr[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl >= sizeof(host)) {
		snprintf(err, errlen, "--prom-listen %s: host too long", addr);
		return -1;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	rc = getaddrinfo(hl ? host : NULL, port + 1, &hints, &res);
	if (rc) {
		snprintf(err, errlen, "--prom-listen %s: %s", addr, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (!bind(fd, ai->ai_addr, ai->ai_addrlen) && !listen(fd, 16))
			break;
		rc = errno;
		close(fd);
		fd = -1;
		errno = rc;
	}
	if (fd < 0) {
		snprintf(err, errlen, "--prom-listen %s: %s", addr, strerror(errno));
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	if (!getsockname(fd, (struct sockaddr *)&ss, &sl) &&
	    !getnameinfo((struct sockaddr *)&ss, sl, hbuf, sizeof(hbuf), sbuf,
			 sizeof(sbuf), NI_NUMERICHOST | NI_NUMERICSERV))
		snprintf(bound, boundlen, ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s",
			 hbuf, sbuf);
	else
		snprintf(bound, boundlen, "%s", addr);
	p->listen_fd = fd;
	return 0;
}

static void send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n <= 0)
			return;
		buf += n;
		len -= n;
	}
}

/*
 * One request: read its head (at most 500 ms, so a silent client cannot
 * stall the loop for long; the ring buffer keeps the events meanwhile),
 * answer GET /metrics, 404 anything else, close.
 */
static void serve_one(int c, const struct prom *p, const struct mig_model *m,
		      uint64_t drops, const char *mode)
{
	char req[2048], hdr[256], *body = NULL;
	size_t len = 0, blen = 0;
	struct pollfd pfd = { .fd = c, .events = POLLIN };
	FILE *f;
	bool get, metrics;

	while (len < sizeof(req) - 1 && !memmem(req, len, "\r\n\r\n", 4)) {
		ssize_t n;

		if (poll(&pfd, 1, 500) <= 0)
			return;
		n = recv(c, req + len, sizeof(req) - 1 - len, 0);
		if (n <= 0)
			return;
		len += n;
	}
	req[len] = '\0';
	get = !strncmp(req, "GET ", 4);
	metrics = get && (!strncmp(req + 4, "/metrics ", 9) || !strncmp(req + 4, "/metrics?", 9));
	if (!metrics) {
		static const char nf[] = "mig-top serves GET /metrics only\n";

		snprintf(hdr, sizeof(hdr), "HTTP/1.1 404 Not Found\r\n"
			 "Content-Type: text/plain\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n", sizeof(nf) - 1);
		send_all(c, hdr, strlen(hdr));
		send_all(c, nf, sizeof(nf) - 1);
		return;
	}
	f = open_memstream(&body, &blen);
	if (!f)
		return;
	prom_write(f, p, m, drops, mode);
	fclose(f);
	snprintf(hdr, sizeof(hdr), "HTTP/1.1 200 OK\r\n"
		 "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
		 "Content-Length: %zu\r\nConnection: close\r\n\r\n", blen);
	send_all(c, hdr, strlen(hdr));
	send_all(c, body, blen);
	free(body);
}

void prom_serve(struct prom *p, const struct mig_model *m, uint64_t drops,
		const char *mode)
{
	int c;

	if (p->listen_fd < 0)
		return;
	while ((c = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		struct timeval tv = { .tv_sec = 1 };

		setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		serve_one(c, p, m, drops, mode);
		shutdown(c, SHUT_WR);
		close(c);
	}
}

void prom_close(struct prom *p)
{
	if (p->listen_fd >= 0)
		close(p->listen_fd);
	p->listen_fd = -1;
}
