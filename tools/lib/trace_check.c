// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/*
 * trace_check: the assertion language of docs/trace-check.md.
 *
 *   states ROLE S1 S2 ...           every source/target device's state path
 *   count EVENT [FILTER...] OP N    number of matching events
 *   sum EVENT.FIELD [FILTER...] OP N  sum of a field over matching events
 *   migrations OP N                 completed (paired) migrations
 *   downtime OP DURATION            every migration's downtime
 *   part NAME OP DURATION           every migration's part NAME
 *   precopy OP DURATION             every source's PRE_COPY time (open -> T0)
 *   bytes match                     every migration: bytes read == written
 *   no errors                       no vfmig_error event
 *   no drops                        the recorder lost no event
 *
 * FILTER is FIELD=V, FIELD!=V, FIELD>V, FIELD>=V, FIELD<V or FIELD<=V; V is
 * a number or a symbol (state, firmware opcode, record tag, image kind,
 * error site...). OP is one of == != < <= > >=.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "trace_check.h"
#include "vfmig_stream.h"

/* Pseudo fields beyond a0..a6. */
#define F_DEV	100
#define F_STATE	101
#define F_MIGID	102

static int field_index(unsigned int type, const char *field)
{
	if (!strcmp(field, "dev"))
		return F_DEV;
	if (!strcmp(field, "state"))
		return F_STATE;
	if (!strcmp(field, "mig_id"))
		return F_MIGID;
	return mig_ev_field(type, field);
}

static int64_t field_value(const struct mig_event *e, int f)
{
	switch (f) {
	case F_DEV: return e->dev;
	case F_STATE: return e->state;
	case F_MIGID: return (int64_t)e->mig_id;
	default: return (int64_t)e->a[f];
	}
}

static const struct { const char *name; int64_t v; } symbols[] = {
	{ "initial", 0 }, { "middle", 1 }, { "final", 2 },
	{ "save", 0 }, { "resume", 1 },
	{ "create", 0 }, { "remove", 1 }, { "open", 2 }, { "close", 3 },
	{ "reset", 4 },
};

static int parse_value(const char *s, int64_t *v)
{
	char *end;
	int i;

	if (!*s)
		return -1;
	*v = strtoll(s, &end, 0);
	if (!*end)
		return 0;
	i = mig_state_lookup(s);
	if (i >= 0) {
		*v = i;
		return 0;
	}
	for (i = 0; i < MIG_FW_NR; i++)
		if (!strcmp(s, mig_fw_op_name(i))) {
			*v = i;
			return 0;
		}
	if (vs_tag_lookup(s) >= 0) {	/* record tags: FW_DATA, CHUNK_CRC... */
		*v = vs_tag_lookup(s);
		return 0;
	}
	for (size_t k = 0; k < sizeof(symbols) / sizeof(symbols[0]); k++)
		if (!strcmp(s, symbols[k].name)) {
			*v = symbols[k].v;
			return 0;
		}
	/* error sites ("save" is taken above: the save file kind) */
	i = mig_err_site_lookup(s);
	if (i >= 0) {
		*v = i;
		return 0;
	}
	return -1;
}

enum op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };

static int parse_op(const char *s, enum op *op)
{
	static const char *const ops[] = { "==", "!=", "<", "<=", ">", ">=" };

	for (int i = 0; i < 6; i++)
		if (!strcmp(s, ops[i])) {
			*op = i;
			return 0;
		}
	return -1;
}

static bool cmp(int64_t a, enum op op, int64_t b)
{
	switch (op) {
	case OP_EQ: return a == b;
	case OP_NE: return a != b;
	case OP_LT: return a < b;
	case OP_LE: return a <= b;
	case OP_GT: return a > b;
	default: return a >= b;
	}
}

/* ------------------------------------------------------------------ */

int tc_append(struct tc_events *evs, const struct mig_event *e)
{
	if (evs->n == evs->cap) {
		size_t cap = evs->cap ? evs->cap * 2 : 1024;
		struct mig_event *p = realloc(evs->ev, cap * sizeof(*p));

		if (!p)
			return -1;
		evs->ev = p;
		evs->cap = cap;
	}
	evs->ev[evs->n++] = *e;
	return 0;
}

void tc_free(struct tc_events *evs)
{
	free(evs->ev);
	memset(evs, 0, sizeof(*evs));
}

int tc_load(FILE *f, struct tc_events *evs, char *err, size_t errlen)
{
	unsigned long lineno = 0;
	struct mig_event e;
	int rc;

	while ((rc = mig_ev_read(f, &e, &evs->drops, evs->mode,
				 sizeof(evs->mode), &lineno)) > 0) {
		if (tc_append(evs, &e)) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	if (rc < 0) {
		snprintf(err, errlen, "line %lu: not an event", lineno);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */

struct filter {
	int field;
	enum op op;
	int64_t v;
};

#define MAX_TOK 64
#define MAX_FILT 8

struct ctx {
	const struct tc_events *evs;
	struct mig_result res[64];
	int nres;
	const char *skip;		/* events missing: only parse, report TC_SKIP */
	struct tc_report *rep;
	bool oom;
};

static void on_mig(const struct mig_result *r, void *arg)
{
	struct ctx *c = arg;

	if (c->nres < 64)
		c->res[c->nres++] = *r;
}

/* "EVENT" or "EVENT.FIELD" and its filters. */
static int parse_select(char **tok, int ntok, int *type, int *field,
			struct filter *f, int *nf, char *why, size_t wl)
{
	char name[64], *dot;

	snprintf(name, sizeof(name), "%s", tok[0]);
	dot = strchr(name, '.');
	if (dot)
		*dot++ = '\0';
	*type = mig_ev_lookup(name);
	if (*type < 0) {
		snprintf(why, wl, "unknown event '%s'", name);
		return -1;
	}
	*field = -1;
	if (dot) {
		*field = field_index(*type, dot);
		if (*field < 0) {
			snprintf(why, wl, "event %s has no field '%s'", name, dot);
			return -1;
		}
	}
	*nf = 0;
	for (int i = 1; i < ntok; i++) {
		static const char *const ops[] = { "!=", ">=", "<=", "=", ">", "<" };
		static const enum op opv[] = { OP_NE, OP_GE, OP_LE, OP_EQ, OP_GT, OP_LT };
		char buf[64], *p = NULL;
		int k;

		snprintf(buf, sizeof(buf), "%s", tok[i]);
		for (k = 0; k < 6; k++) {
			p = strstr(buf, ops[k]);
			if (p)
				break;
		}
		if (!p || *nf == MAX_FILT) {
			snprintf(why, wl, "bad filter '%s'", tok[i]);
			return -1;
		}
		*p = '\0';
		f[*nf].op = opv[k];
		f[*nf].field = field_index(*type, buf);
		if (f[*nf].field < 0 ||
		    parse_value(p + strlen(ops[k]), &f[*nf].v)) {
			snprintf(why, wl, "bad filter '%s'", tok[i]);
			return -1;
		}
		(*nf)++;
	}
	return 0;
}

static bool match(const struct mig_event *e, int type, const struct filter *f,
		  int nf)
{
	if (e->type != type)
		return false;
	for (int i = 0; i < nf; i++)
		if (!cmp(field_value(e, f[i].field), f[i].op, f[i].v))
			return false;
	return true;
}

/* Does @path match @pat (with '*' = any run of states)? */
static bool path_match(const int *path, int np, char **pat, int npat)
{
	if (!npat)
		return np == 0;
	if (!strcmp(pat[0], "*")) {
		for (int k = 0; k <= np; k++)
			if (path_match(path + k, np - k, pat + 1, npat - 1))
				return true;
		return false;
	}
	return np > 0 && mig_state_lookup(pat[0]) == path[0] &&
	       path_match(path + 1, np - 1, pat + 1, npat - 1);
}

static int check_states(struct ctx *c, char **tok, int ntok, char *why,
			size_t wl, bool *ok)
{
	int role = !strcmp(tok[1], "source") ? 0 : !strcmp(tok[1], "target") ? 1 : -1;
	uint32_t devs[64];
	int ndev = 0;
	size_t wp = 0;

	if (role < 0 || ntok < 3) {
		snprintf(why, wl, "states source|target STATE...");
		return -1;
	}
	for (int i = 2; i < ntok; i++)
		if (strcmp(tok[i], "*") && mig_state_lookup(tok[i]) < 0) {
			snprintf(why, wl, "unknown state '%s'", tok[i]);
			return -1;
		}
	for (size_t i = 0; i < c->evs->n; i++) {
		const struct mig_event *e = &c->evs->ev[i];
		bool known = false;

		if (e->type != MEV_FILE || !e->a[1] || (int)e->a[0] != role)
			continue;
		for (int k = 0; k < ndev; k++)
			known |= devs[k] == e->dev;
		if (!known && ndev < 64)
			devs[ndev++] = e->dev;
	}
	*ok = ndev > 0;
	if (!ndev)
		snprintf(why, wl, "no %s device in the recording", tok[1]);
	for (int k = 0; k < ndev; k++) {
		int path[256], np = 0;

		for (size_t i = 0; i < c->evs->n && np < 255; i++) {
			const struct mig_event *e = &c->evs->ev[i];

			if (e->type != MEV_STATE_STEP || e->dev != devs[k] ||
			    (int64_t)e->a[2])
				continue;
			if (!np)
				path[np++] = (int)e->a[0];
			path[np++] = (int)e->a[1];
		}
		if (!path_match(path, np, tok + 2, ntok - 2)) {
			*ok = false;
			wp += snprintf(why + wp, wp < wl ? wl - wp : 0, "dev %u:", devs[k]);
			for (int i = 0; i < np && wp < wl; i++)
				wp += snprintf(why + wp, wl - wp, " %s", mig_state_name(path[i]));
			if (wp >= wl)
				break;
		}
	}
	return 0;
}

/* One spec line's result. */
static void report(struct ctx *c, int lineno, enum tc_verdict v, const char *text,
		   const char *why)
{
	if (c->skip && v != TC_ERROR) {
		v = TC_SKIP;
		why = c->skip;
	}
	if (tc_report_add(c->rep, lineno, v, text, *why ? why : NULL))
		c->oom = true;
}

static int run_line(struct ctx *c, char *line, int lineno)
{
	char *tok[MAX_TOK], *save = NULL, *t, text[512], why[512] = "";
	int ntok = 0;
	bool ok = true;
	enum op op;
	uint64_t dur;

	snprintf(text, sizeof(text), "%s", line);
	for (t = strtok_r(line, " \t", &save); t && ntok < MAX_TOK;
	     t = strtok_r(NULL, " \t", &save))
		tok[ntok++] = t;
	if (!ntok)
		return 0;

#define SYNTAX(...) do { \
		char msg_[512]; \
		snprintf(msg_, sizeof(msg_), __VA_ARGS__); \
		report(c, lineno, TC_ERROR, text, msg_); \
		return -1; } while (0)

	if (!strcmp(tok[0], "count") || !strcmp(tok[0], "sum")) {
		struct filter f[MAX_FILT];
		int type, field, nf;
		int64_t n, want, acc = 0;
		bool is_sum = tok[0][0] == 's';

		if (ntok < 4 || parse_op(tok[ntok - 2], &op) ||
		    parse_value(tok[ntok - 1], &want))
			SYNTAX("%s EVENT%s [FILTER...] OP N", tok[0], is_sum ? ".FIELD" : "");
		if (parse_select(tok + 1, ntok - 3, &type, &field, f, &nf, why, sizeof(why)))
			SYNTAX("%s", why);
		if (is_sum && field < 0)
			SYNTAX("sum needs EVENT.FIELD");
		n = 0;
		for (size_t i = 0; i < c->evs->n; i++)
			if (match(&c->evs->ev[i], type, f, nf)) {
				n++;
				if (is_sum)
					acc += field_value(&c->evs->ev[i], field);
			}
		if (is_sum)
			n = acc;
		ok = cmp(n, op, want);
		snprintf(why, sizeof(why), "%s is %" PRId64, is_sum ? "sum" : "count", n);
	} else if (!strcmp(tok[0], "states")) {
		if (check_states(c, tok, ntok, why, sizeof(why), &ok))
			SYNTAX("%s", why);
	} else if (!strcmp(tok[0], "migrations")) {
		int64_t want;

		if (ntok != 3 || parse_op(tok[1], &op) || parse_value(tok[2], &want))
			SYNTAX("migrations OP N");
		ok = cmp(c->nres, op, want);
		snprintf(why, sizeof(why), "%d migrations", c->nres);
	} else if (!strcmp(tok[0], "downtime") || !strcmp(tok[0], "part")) {
		bool part = tok[0][0] == 'p';
		int p = -1;

		if (ntok != (part ? 4 : 3) || parse_op(tok[ntok - 2], &op) ||
		    cli_parse_duration(tok[ntok - 1], 1, &dur))
			SYNTAX("%s OP DURATION", part ? "part NAME" : "downtime");
		if (part) {
			for (int i = 0; i < MP_NR; i++)
				if (!strcmp(tok[1], mig_part_name(i)))
					p = i;
			if (p < 0)
				SYNTAX("unknown part '%s'", tok[1]);
		}
		ok = c->nres > 0;
		if (!ok)
			snprintf(why, sizeof(why), "no completed migration");
		for (int i = 0; i < c->nres; i++) {
			uint64_t v = part ? c->res[i].part_ns[p] : c->res[i].downtime_ns;

			if (!cmp((int64_t)v, op, (int64_t)dur)) {
				ok = false;
				snprintf(why, sizeof(why), "migration %d (dev %u -> %u): %" PRIu64 " ns",
					 i, c->res[i].src_dev, c->res[i].dst_dev, v);
				break;
			}
		}
		if (ok)
			snprintf(why, sizeof(why), "%d migrations", c->nres);
	} else if (!strcmp(tok[0], "precopy")) {
		if (ntok != 3 || parse_op(tok[1], &op) || cli_parse_duration(tok[2], 1, &dur))
			SYNTAX("precopy OP DURATION");
		ok = c->nres > 0;
		if (!ok)
			snprintf(why, sizeof(why), "no completed migration");
		/* PRE_COPY time: the source's save file open -> T0. */
		for (int i = 0; i < c->nres && ok; i++) {
			uint64_t open_ts = 0;

			for (size_t k = 0; k < c->evs->n; k++) {
				const struct mig_event *e = &c->evs->ev[k];

				if (e->type == MEV_FILE && e->a[1] && e->a[0] == 0 &&
				    e->dev == c->res[i].src_dev &&
				    e->mig_id == c->res[i].src_mig_id)
					open_ts = e->ts;
			}
			if (open_ts && !cmp((int64_t)(c->res[i].t[0] - open_ts), op, (int64_t)dur)) {
				ok = false;
				snprintf(why, sizeof(why), "migration %d: %" PRIu64 " ns", i,
					 (uint64_t)(c->res[i].t[0] - open_ts));
			}
		}
	} else if (!strcmp(tok[0], "bytes") && ntok == 2 && !strcmp(tok[1], "match")) {
		ok = c->nres > 0;
		if (!ok)
			snprintf(why, sizeof(why), "no completed migration");
		for (int i = 0; i < c->nres; i++)
			if (!c->res[i].bytes_match) {
				ok = false;
				snprintf(why, sizeof(why), "migration %d: read %" PRIu64 " written %" PRIu64,
					 i, (uint64_t)(c->res[i].precopy_bytes + c->res[i].stopcopy_bytes),
					 (uint64_t)c->res[i].written_bytes);
			}
	} else if (!strcmp(tok[0], "no") && ntok == 2 && !strcmp(tok[1], "errors")) {
		int64_t n = 0;

		for (size_t i = 0; i < c->evs->n; i++)
			n += c->evs->ev[i].type == MEV_ERROR;
		ok = !n;
		snprintf(why, sizeof(why), "%" PRId64 " error events", n);
	} else if (!strcmp(tok[0], "no") && ntok == 2 && !strcmp(tok[1], "drops")) {
		ok = !c->evs->drops;
		snprintf(why, sizeof(why), "%llu dropped", c->evs->drops);
	} else {
		SYNTAX("unknown assertion '%s'", tok[0]);
	}
#undef SYNTAX
	report(c, lineno, ok ? TC_OK : TC_FAIL, text, why);
	return ok ? 0 : 1;
}

int tc_check(const char *spec, const struct tc_events *evs, const char *skip,
	     struct tc_report *r)
{
	struct mig_model *m = malloc(sizeof(*m));
	struct ctx c = { .evs = evs, .skip = skip, .rep = r };
	char *copy = strdup(spec), *line;
	int lineno = 0, errors = 0, failed = 0;

	if (!m || !copy) {
		free(m);
		free(copy);
		return -1;
	}
	mig_model_init(m, on_mig, &c);
	for (size_t i = 0; i < evs->n; i++)
		mig_model_feed(m, &evs->ev[i]);

	/* strtok_r would merge empty lines: walk by hand for line numbers. */
	line = copy;
	while (line && *line) {
		char *nl = strchr(line, '\n'), *hash;
		int rc;

		if (nl)
			*nl = '\0';
		lineno++;
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		for (char *e = line + strlen(line); e > line && isspace((unsigned char)e[-1]); )
			*--e = '\0';
		while (isspace((unsigned char)*line))
			line++;
		rc = run_line(&c, line, lineno);
		if (rc < 0)
			errors++;
		else if (!skip)
			failed += rc;
		line = nl ? nl + 1 : NULL;
	}
	free(copy);
	mig_model_free(m);
	free(m);
	return errors || c.oom ? -1 : failed;
}

/* ------------------------------------------------------------------ */

void tc_report_init(struct tc_report *r, const char *spec, const char *events_path)
{
	memset(r, 0, sizeof(*r));
	r->spec = spec;
	r->events_path = events_path;
	r->command_status = -1;
}

void tc_report_free(struct tc_report *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->items[i].name);
		free(r->items[i].detail);
	}
	free(r->items);
	r->items = NULL;
	r->n = r->cap = 0;
}

int tc_report_add(struct tc_report *r, int line, enum tc_verdict v,
		  const char *name, const char *detail)
{
	struct tc_item *it;

	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 32;
		struct tc_item *p = realloc(r->items, cap * sizeof(*p));

		if (!p)
			return -1;
		r->items = p;
		r->cap = cap;
	}
	it = &r->items[r->n];
	it->line = line;
	it->verdict = v;
	it->name = strdup(name);
	it->detail = detail ? strdup(detail) : NULL;
	if (!it->name || (detail && !it->detail)) {
		free(it->name);
		free(it->detail);
		return -1;
	}
	r->n++;
	if (line > 0) {
		r->sum.assertions++;
		r->sum.failed += v == TC_FAIL;
		r->sum.errors += v == TC_ERROR;
		r->sum.skipped += v == TC_SKIP;
	} else {
		r->setup_errors += v == TC_ERROR;
	}
	return 0;
}

void tc_report_events(struct tc_report *r, const struct tc_events *evs)
{
	r->have_events = true;
	r->events = evs->n;
	r->drops = evs->drops;
	snprintf(r->mode, sizeof(r->mode), "%s", evs->mode);
}

int tc_report_command(struct tc_report *r, char *const *argv, int status)
{
	char name[512] = "command", why[32];
	size_t len = strlen(name);

	for (; *argv && len < sizeof(name) - 1; argv++)
		len += snprintf(name + len, sizeof(name) - len, " %s", *argv);
	snprintf(why, sizeof(why), "exit status %d", status);
	r->command_status = status;
	r->command_failed = status != 0;
	return tc_report_add(r, 0, status ? TC_FAIL : TC_OK, name, why);
}

const char *tc_report_status(const struct tc_report *r)
{
	if (r->sum.errors || r->setup_errors)
		return "error";
	return r->sum.failed || r->command_failed ? "fail" : "pass";
}

int tc_report_exit(const struct tc_report *r)
{
	const char *s = tc_report_status(r);

	return !strcmp(s, "error") ? 2 : !strcmp(s, "fail") ? 1 : 0;
}
