// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/*
 * mig_join: joins the hosts' sides of a migration by its UUID into one
 * end-to-end breakdown (mig_join.h, docs/downtime.md "Two hosts").
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "mig_join.h"
#include "json_out.h"

static const char *const jpart_names[JP_NR] = {
	"source_suspend", "final_save", "drain", "transport", "target_load",
	"target_resume",
};

const char *mig_jpart_name(unsigned int p)
{
	return p < JP_NR ? jpart_names[p] : "?";
}

/* ------------------------------------------------------------------ */
/* Clocks                                                              */
/* ------------------------------------------------------------------ */

int mig_clock_chrony(const char *text, struct mig_clock *c)
{
	char line[512], *f[16], *p;
	int n = 0;
	double off, delay, disp;

	memset(c, 0, sizeof(*c));
	snprintf(line, sizeof(line), "%s", text ? text : "");
	line[strcspn(line, "\r\n")] = '\0';
	for (p = line; n < 16; n++) {
		f[n] = p;
		p = strchr(p, ',');
		if (!p) {
			n++;
			break;
		}
		*p++ = '\0';
	}
	if (n < 14 || sscanf(f[4], "%lf", &off) != 1 ||
	    sscanf(f[10], "%lf", &delay) != 1 ||
	    sscanf(f[11], "%lf", &disp) != 1) {
		snprintf(c->what, sizeof(c->what), "no chronyc -c tracking estimate: %.80s",
			 *text ? text : "(empty)");
		c->what[strcspn(c->what, "\r\n")] = '\0';
		return -1;
	}
	c->known = true;
	c->offset_ns = (int64_t)(off * 1e9);
	c->error_ns = (uint64_t)((off < 0 ? -off : off) * 1e9 + disp * 1e9 +
				 delay * 1e9 / 2 + 0.5);
	c->synced = strcmp(f[13], "Not synchronised") && strcmp(f[0], "00000000");
	snprintf(c->what, sizeof(c->what), "chrony: reference %s, stratum %s, %s",
		 *f[1] ? f[1] : f[0], f[2], f[13]);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Hosts                                                               */
/* ------------------------------------------------------------------ */

static void collect_side(const struct mig_side *s, void *arg)
{
	struct mig_host *h = arg;

	if (h->nsides == h->cap) {
		size_t nc = h->cap ? h->cap * 2 : 16;
		struct mig_side *p = realloc(h->sides, nc * sizeof(*p));

		if (!p)
			return;
		h->sides = p;
		h->cap = nc;
	}
	h->sides[h->nsides++] = *s;
}

int mig_host_load(struct mig_host *h, const char *path, bool keep_events,
		  char *err, size_t errlen)
{
	struct mig_model *m;
	unsigned long lineno = 0;
	struct mig_event e;
	FILE *f;
	int rc;

	memset(h, 0, sizeof(*h));
	if (mig_ev_file_host(path, h->name, sizeof(h->name)))
		snprintf(h->name, sizeof(h->name), "%s", path);
	snprintf(h->clock.what, sizeof(h->clock.what), "no clock estimate given");
	f = fopen(path, "r");
	m = calloc(1, sizeof(*m));
	if (!f || !m) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (f)
			fclose(f);
		free(m);
		return -1;
	}
	mig_model_init(m, NULL, NULL);
	m->on_side = collect_side;
	m->arg = h;
	while ((rc = mig_ev_read(f, &e, NULL, NULL, 0, &lineno)) > 0) {
		if (e.tai)
			h->tai = true;
		if (keep_events) {
			if (h->nev == h->evcap) {
				size_t nc = h->evcap ? h->evcap * 2 : 1024;
				struct mig_event *p = realloc(h->ev, nc * sizeof(*p));

				if (!p) {
					rc = -1;
					break;
				}
				h->ev = p;
				h->evcap = nc;
			}
			h->ev[h->nev++] = e;
		}
		mig_model_feed(m, &e);
	}
	fclose(f);
	mig_model_free(m);
	free(m);
	if (rc < 0) {
		snprintf(err, errlen, "%s:%lu: bad event line", path, lineno);
		return -1;
	}
	return 0;
}

void mig_host_free(struct mig_host *h)
{
	free(h->sides);
	free(h->ev);
	memset(h, 0, sizeof(*h));
}

/* ------------------------------------------------------------------ */
/* Join                                                                */
/* ------------------------------------------------------------------ */

static uint64_t maxu(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static void problem(struct mig_joined *j, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void problem(struct mig_joined *j, const char *fmt, ...)
{
	va_list ap;

	if (j->nproblems == 4)
		return;
	va_start(ap, fmt);
	vsnprintf(j->problem[j->nproblems++], sizeof(j->problem[0]), fmt, ap);
	va_end(ap);
}

static double ms(int64_t ns)
{
	return (double)ns / 1e6;
}

static void compute(struct mig_joined *j, const struct mig_host *hosts,
		    bool ack)
{
	const struct mig_side *s = j->src, *t = j->tgt;
	const struct mig_host *ha = &hosts[j->src_host], *hb = &hosts[j->tgt_host];
	uint64_t T[JP_NR + 1];
	int64_t u, oa = s->tai_off, ob = t->tai_off;

	T[0] = s->t_susp;
	T[1] = maxu(s->t_stopcopy, T[0]);
	T[3] = s->t_last_read;
	T[2] = s->t_final_done ? s->t_final_done : s->t_stopcopy;
	if (T[2] > T[3])	/* the last chunk was read before image_done */
		T[2] = T[3];
	T[2] = maxu(T[2], T[1]);
	T[3] = maxu(T[3], T[2]);
	T[6] = t->t_running;
	T[5] = t->t_loaded ? t->t_loaded : T[6];
	T[4] = t->t_last_write ? t->t_last_write : T[5];
	T[5] = maxu(T[5], T[4]);
	T[6] = maxu(T[6], T[5]);
	for (int i = 0; i <= JP_NR; i++)
		j->t_tai[i] = (int64_t)T[i] + (i <= 3 ? oa : ob);
	for (int i = 0; i < JP_NR; i++)
		j->part_ns[i] = i == JP_TRANSPORT ? j->t_tai[4] - j->t_tai[3] :
			(int64_t)(T[i + 1] - T[i]);
	j->bytes_match = s->precopy_bytes + s->stopcopy_bytes == t->written_bytes;

	/* The clocks: only the transport crosses hosts. */
	if (j->src_host != j->tgt_host) {
		const struct mig_host *hh[2] = { ha, hb };

		for (int k = 0; k < 2; k++) {
			if (!hh[k]->clock.known)
				problem(j, "host %s: no clock estimate (%s)", hh[k]->name,
					hh[k]->clock.what);
			else if (!hh[k]->clock.synced)
				problem(j, "host %s: its clock is not synchronised (%s)",
					hh[k]->name, hh[k]->clock.what);
			j->uncertainty_ns += hh[k]->clock.error_ns;
		}
	}
	/* Each side's TAI mapping is its best reading; the others went this
	 * far above it. */
	j->uncertainty_ns += s->tai_spread + (t != s ? t->tai_spread : 0);
	u = (int64_t)j->uncertainty_ns;
	if (!s->tai_seen || !t->tai_seen)
		problem(j, "host %s: its recording has no CLOCK_TAI stamps",
			!s->tai_seen ? ha->name : hb->name);
	if (s->tai_spread > MIG_JOIN_STEP_NS)
		problem(j, "host %s: CLOCK_TAI moved %.3f ms against CLOCK_MONOTONIC during the migration (a clock step)",
			ha->name, ms((int64_t)s->tai_spread));
	if (t->tai_spread > MIG_JOIN_STEP_NS && t != s)
		problem(j, "host %s: CLOCK_TAI moved %.3f ms against CLOCK_MONOTONIC during the migration (a clock step)",
			hb->name, ms((int64_t)t->tai_spread));
	if (j->part_ns[JP_TRANSPORT] < -u)
		problem(j, "host %s wrote the stream's last byte %.3f ms before host %s read it (clock uncertainty %.3f ms)",
			hb->name, ms(-j->part_ns[JP_TRANSPORT]), ha->name, ms(u));
	if (s->t_first_read && t->t_first_write &&
	    (int64_t)t->t_first_write + ob < (int64_t)s->t_first_read + oa - u)
		problem(j, "host %s wrote stream data %.3f ms before host %s read any (clock uncertainty %.3f ms)",
			hb->name, ms((int64_t)s->t_first_read + oa -
				     ((int64_t)t->t_first_write + ob)),
			ha->name, ms(u));
	if (ack && s->t_released && (int64_t)s->t_released + oa < j->t_tai[6] - u)
		problem(j, "host %s's VMM released the source %.3f ms before host %s's target ran, though it waits for that (clock uncertainty %.3f ms)",
			ha->name, ms(j->t_tai[6] - ((int64_t)s->t_released + oa)),
			hb->name, ms(u));
	j->clock_ok = !j->nproblems;
	j->window_ns = j->t_tai[JP_NR] - j->t_tai[0];
}

static bool same_uuid(const struct mig_side *a, const struct mig_side *b)
{
	return a->has_mig_uuid && b->has_mig_uuid && !memcmp(a->mig_uuid, b->mig_uuid, 16);
}

size_t mig_join(const struct mig_host *hosts, int n, bool ack,
		struct mig_joined **out)
{
	struct mig_joined *r = NULL;
	size_t nr = 0, cap = 0;

	/* Every source and target side with a UUID; a pair once. */
	for (int h = 0; h < n; h++) {
		for (size_t i = 0; i < hosts[h].nsides; i++) {
			const struct mig_side *a = &hosts[h].sides[i];
			const struct mig_side *peer = NULL;
			int ph = -1;
			struct mig_joined *j;

			if (!a->has_mig_uuid)
				continue;
			for (int g = 0; g < n && !peer; g++)
				for (size_t k = 0; k < hosts[g].nsides; k++) {
					const struct mig_side *b = &hosts[g].sides[k];

					if (b->role != a->role && same_uuid(a, b)) {
						peer = b;
						ph = g;
						break;
					}
				}
			if (peer && a->role == MR_TARGET)
				continue;	/* joined from its source */
			if (nr == cap) {
				size_t nc = cap ? cap * 2 : 8;
				struct mig_joined *p = realloc(r, nc * sizeof(*p));

				if (!p)
					break;
				r = p;
				cap = nc;
			}
			j = &r[nr++];
			memset(j, 0, sizeof(*j));
			memcpy(j->uuid, a->mig_uuid, 16);
			j->src_host = j->tgt_host = -1;
			if (a->role == MR_SOURCE) {
				j->src = a;
				j->src_host = h;
				j->tgt = peer;
				j->tgt_host = ph;
			} else {
				j->tgt = a;
				j->tgt_host = h;
			}
			j->joined = j->src && j->tgt;
			if (j->joined)
				compute(j, hosts, ack);
		}
	}
	*out = r;
	return nr;
}

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */

static void side_ref(struct jw *w, const char *key, const struct mig_side *s,
		     const struct mig_host *h)
{
	if (!s) {
		jw_null(w, key);
		return;
	}
	jw_object(w, key);
	jw_string(w, "host", h->name);
	jw_uint(w, "dev", s->dev);
	jw_uint(w, "mig_id", s->mig_id);
	jw_end_object(w);
}

void mig_joined_json(struct jw *w, const struct mig_joined *j,
		     const struct mig_host *hosts)
{
	static const char *const tnames[JP_NR + 1] = {
		"suspend", "stop_copy", "final_done", "last_read", "last_write",
		"loaded", "running",
	};
	const struct mig_side *s = j->src, *t = j->tgt;
	bool ok = j->joined && j->clock_ok;
	char u[37], key[32];

	jw_string(w, "mig_uuid", mig_uuid_str(j->uuid, u));
	jw_bool(w, "joined", j->joined);
	side_ref(w, "source", s, s ? &hosts[j->src_host] : NULL);
	side_ref(w, "target", t, t ? &hosts[j->tgt_host] : NULL);
	if (!j->joined) {
		jw_null(w, "t_tai_ns");
		jw_null(w, "parts");
	} else {
		jw_object(w, "t_tai_ns");
		for (int i = 0; i <= JP_NR; i++)
			jw_int(w, tnames[i], j->t_tai[i]);
		jw_end_object(w);
		jw_object(w, "parts");
		for (int i = 0; i < JP_NR; i++) {
			snprintf(key, sizeof(key), "%s_ns", jpart_names[i]);
			jw_int_opt(w, key, i != JP_TRANSPORT || ok, j->part_ns[i]);
		}
		jw_end_object(w);
	}
	jw_int_opt(w, "window_ns", ok, j->window_ns);
	jw_int_opt(w, "source_released_tai_ns", j->joined && s->t_released,
		   j->joined ? (int64_t)s->t_released + s->tai_off : 0);
	jw_int_opt(w, "source_window_ns", j->joined, j->t_tai[3] - j->t_tai[0]);
	jw_int_opt(w, "target_window_ns", j->joined, j->t_tai[6] - j->t_tai[4]);
	jw_uint_opt(w, "uncertainty_ns", j->joined, j->uncertainty_ns);
	jw_bool(w, "clock_ok", ok);
	jw_array(w, "clock_problems");
	for (int i = 0; i < j->nproblems; i++)
		jw_string(w, NULL, j->problem[i]);
	jw_end_array(w);
	jw_array(w, "clocks");
	for (int k = 0; k < 2 && j->joined; k++) {
		const struct mig_host *h = &hosts[k ? j->tgt_host : j->src_host];

		if (k && j->tgt_host == j->src_host)
			break;
		jw_object(w, NULL);
		jw_string(w, "host", h->name);
		jw_bool(w, "known", h->clock.known);
		jw_bool(w, "synced", h->clock.synced);
		jw_int(w, "offset_ns", h->clock.offset_ns);
		jw_uint(w, "error_ns", h->clock.error_ns);
		jw_uint(w, "tai_spread_ns", k ? t->tai_spread : s->tai_spread);
		jw_string(w, "what", h->clock.what);
		jw_end_object(w);
	}
	jw_end_array(w);
	jw_object(w, "bytes");
	jw_uint_opt(w, "read", s, s ? s->precopy_bytes + s->stopcopy_bytes : 0);
	jw_uint_opt(w, "written", t, t ? t->written_bytes : 0);
	jw_end_object(w);
	jw_bool(w, "bytes_match", j->joined && j->bytes_match);
	jw_uint(w, "errors", (s ? s->errors : 0) + (t ? t->errors : 0));
	jw_bool(w, "partial", (s && s->partial) || (t && t->partial));
}

void mig_joined_text(FILE *f, const struct mig_joined *j,
		     const struct mig_host *hosts)
{
	char u[37];

	mig_uuid_str(j->uuid, u);
	if (!j->joined) {
		const struct mig_side *s = j->src ? j->src : j->tgt;

		fprintf(f, "migration %s: only its %s side (host %s dev %u): the other host's recording is missing\n",
			u, j->src ? "source" : "target",
			hosts[j->src ? j->src_host : j->tgt_host].name, s->dev);
		return;
	}
	const char *a = hosts[j->src_host].name, *b = hosts[j->tgt_host].name;

	fprintf(f, "migration %s: host %s dev %u -> host %s dev %u\n", u, a,
		j->src->dev, b, j->tgt->dev);
	if (j->clock_ok)
		fprintf(f, "  end-to-end window %.3f ms +- %.3f ms\n", ms(j->window_ns),
			ms((int64_t)j->uncertainty_ns));
	else
		fprintf(f, "  CLOCK PROBLEM: no end-to-end window (the hosts' clocks cannot be trusted to join it)\n");
	for (int i = 0; i < j->nproblems; i++)
		fprintf(f, "    %s\n", j->problem[i]);
	for (int i = 0; i < JP_NR; i++) {
		if (i == JP_TRANSPORT && !j->clock_ok) {
			fprintf(f, "  %-15s          -     (%s -> %s)\n", jpart_names[i], a, b);
			continue;
		}
		fprintf(f, "  %-15s %10.3f ms", jpart_names[i], ms(j->part_ns[i]));
		if (i == JP_TRANSPORT)
			fprintf(f, " +- %.3f ms (%s -> %s)\n", ms((int64_t)j->uncertainty_ns), a, b);
		else
			fprintf(f, " (%s)\n", i < JP_TRANSPORT ? a : b);
	}
	fprintf(f, "  bytes: %" PRIu64 " read on %s, %" PRIu64 " written on %s%s\n",
		(uint64_t)(j->src->precopy_bytes + j->src->stopcopy_bytes), a,
		(uint64_t)j->tgt->written_bytes, b,
		j->bytes_match ? " (match)" : " (MISMATCH)");
	if (j->src_host != j->tgt_host)
		fprintf(f, "  clocks: %s error <= %.3f ms (%s); %s error <= %.3f ms (%s)\n",
			a, ms((int64_t)hosts[j->src_host].clock.error_ns),
			hosts[j->src_host].clock.what, b,
			ms((int64_t)hosts[j->tgt_host].clock.error_ns),
			hosts[j->tgt_host].clock.what);
	if (j->src->tai_spread || j->tgt->tai_spread)
		fprintf(f, "  TAI - MONOTONIC wandered %.3f ms on %s, %.3f ms on %s (in the uncertainty)\n",
			ms((int64_t)j->src->tai_spread), a, ms((int64_t)j->tgt->tai_spread), b);
}
