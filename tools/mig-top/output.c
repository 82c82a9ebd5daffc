// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/*
 * mig-top's output modes but the TUI: JSON lines (device rows, the
 * summary), the plain-text table (its lines are the TUI's too) and the
 * Prometheus metrics (--prom-file, --prom-listen; tools/mig-top/prom.c).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "json_out.h"
#include "mig-top.h"

struct prom prom;		/* --prom-file, --prom-listen */
static bool prom_failing;

/* --prom-file: the exposition now; a failure is reported once, until it works. */
int prom_output(const char *mode, uint64_t drops)
{
	char err[512];

	if (!opts.prom_file)
		return 0;
	if (prom_write_file(opts.prom_file, &prom, &model, drops, mode, err, sizeof(err))) {
		if (!prom_failing)
			fprintf(stderr, "mig-top: %s\n", err);
		prom_failing = true;
		return -1;
	}
	if (prom_failing)
		fprintf(stderr, "mig-top: %s written again\n", opts.prom_file);
	prom_failing = false;
	return 0;
}

/* --prom-listen: bind before tracing, so a bad address fails at once. */
int prom_start(void)
{
	char err[512], bound[300];

	if (!opts.prom_listen)
		return 0;
	if (prom_listen(&prom, opts.prom_listen, bound, sizeof(bound), err, sizeof(err))) {
		fprintf(stderr, "mig-top: %s\n", err);
		return -1;
	}
	fprintf(stderr, "mig-top: metrics on http://%s/metrics\n", bound);
	return 0;
}


static const char *role_name(int role)
{
	return role == MR_SOURCE ? "source" : role == MR_TARGET ? "target" : "none";
}

void print_json_rows(void)
{
	uint64_t now = view_now();
	uint64_t drops = t_drops();
	struct mig_owner o;
	char name[64], u[37];

	for (int i = 0; i < nrows; i++) {
		const struct mt_row *r = &rows[i];
		const struct mig_dev *d = r->md;
		const struct mig_devstats *st = &r->st;
		/* Counters of the BPF map: live only; firmware: vfmig's own events. */
		bool have = r->have_st, fw = have && !generic;

		jw_record(&jw, "device");
		jw_uint(&jw, "ts_ns", now);
		jw_uint(&jw, "dev", r->dev);
		dev_name(r->dev, name, sizeof(name));
		jw_string(&jw, "name", *name ? name : NULL);
		jw_string(&jw, "uuid", dev_uuid(r->dev, u));
		jw_string(&jw, "state", mig_state_name(d->state));
		jw_string(&jw, "phase", mig_dev_phase(d));
		jw_string(&jw, "role", d->role == MR_SOURCE ? "source" :
			  d->role == MR_TARGET ? "target" : NULL);
		jw_uint_opt(&jw, "mig_id", d->mig_id, d->mig_id);
		jw_uint_opt(&jw, "state_size", d->state_size, d->state_size);
		jw_double_opt(&jw, "progress", r->progress >= 0, r->progress);
		jw_uint(&jw, "precopy_initial_bytes", d->precopy_initial);
		jw_uint(&jw, "precopy_dirty_bytes", d->precopy_dirty);
		jw_uint(&jw, "precopy_iterations", d->precopy_iters);
		jw_uint(&jw, "mig_read_bytes", d->precopy_bytes + d->stopcopy_bytes);
		jw_uint(&jw, "mig_written_bytes", d->written_bytes);
		jw_uint_opt(&jw, "read_bytes", have, st->read_bytes);
		jw_uint_opt(&jw, "write_bytes", have, st->write_bytes);
		jw_double_opt(&jw, "read_rate_Bps", have && r->have_rate, r->read_rate);
		jw_double_opt(&jw, "write_rate_Bps", have && r->have_rate, r->write_rate);
		jw_uint(&jw, "time_in_phase_ns",
			d->state_since && now > d->state_since ? now - d->state_since : 0);
		jw_uint_opt(&jw, "eta_ns", r->eta_s >= 0, (uint64_t)(r->eta_s * 1e9));
		mig_expected_json(&jw, &model, d, now);
		jw_uint_opt(&jw, "chunks", fw, st->chunks);
		jw_uint_opt(&jw, "images", fw, st->images);
		jw_uint_opt(&jw, "loads", fw, st->loads);
		if (fw) {
			jw_object(&jw, "fw");
			for (int op = 0; op < MIG_FW_NR; op++) {
				jw_object(&jw, mig_fw_op_name(op));
				jw_uint(&jw, "count", st->fw_count[op]);
				jw_uint_opt(&jw, "avg_lat_ns", st->fw_count[op],
					    st->fw_count[op] ? st->fw_lat_sum[op] / st->fw_count[op] : 0);
				jw_uint_opt(&jw, "max_lat_ns", st->fw_count[op], st->fw_lat_max[op]);
				jw_end_object(&jw);
			}
			jw_end_object(&jw);
		} else {
			jw_null(&jw, "fw");
		}
		jw_uint_opt(&jw, "fw_failed", fw, st->fw_failed);
		jw_uint_opt(&jw, "errors", have, st->errors);
		jw_uint_opt(&jw, "save_stalls", fw, st->save_stalls);
		jw_uint_opt(&jw, "save_stall_ns", fw, st->save_stall_ns);
		if (d->last_err) {
			jw_object(&jw, "last_error");
			jw_string(&jw, "site", mig_err_site_name(d->last_err_site));
			jw_int(&jw, "err", d->last_err);
			jw_end_object(&jw);
		} else {
			jw_null(&jw, "last_error");
		}
		o = d->owner;
		owner_of(r->dev, &o);
		mig_owner_json(&jw, "owner", &o);
		jw_bool(&jw, "partial", d->partial);
		jw_uint(&jw, "drops", drops);
		jw_string(&jw, "mode", t_mode());
		jw_end_record(&jw);
	}
}

void print_summary(unsigned long long drops, const char *mode)
{
	jw_record(&jw, "summary");
	jw_string(&jw, "mode", mode);
	jw_uint(&jw, "drops", drops);
	jw_uint(&jw, "events", model.events);
	jw_uint(&jw, "migrations", (uint64_t)total_done);
	jw_end_record(&jw);
}

static void fmt_bytes(char *b, size_t n, double v)
{
	const char *u[] = { "B", "K", "M", "G", "T" };
	int i = 0;

	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	snprintf(b, n, i ? "%.1f%s" : "%.0f%s", v, u[i]);
}

/* "3.2 ms (1.2M pending at 410.0 MB/s + 1.1 ms fixed)" for a PRE_COPY source. */
bool expected_line(char *b, size_t n, const struct mig_dev *d)
{
	struct mig_expected x;
	char p[16];

	if (d->state != MS_PRE_COPY || !mig_dev_expected(&model, d, view_now(), &x))
		return false;
	fmt_bytes(p, sizeof(p), (double)x.pending);
	snprintf(b, n, "dev %u: %.3f ms (%s pending at %.1f MB/s + %.3f ms fixed%s)",
		 d->dev, x.ns / 1e6, p, x.rate / 1e6, x.fixed_ns / 1e6,
		 x.learned ? ", learned" : "");
	return true;
}

void fmt_ns(char *b, size_t n, double ns)
{
	if (ns < 1e3)
		snprintf(b, n, "%.0fns", ns);
	else if (ns < 1e6)
		snprintf(b, n, "%.1fus", ns / 1e3);
	else if (ns < 1e9)
		snprintf(b, n, "%.1fms", ns / 1e6);
	else
		snprintf(b, n, "%.2fs", ns / 1e9);
}

static void progress_bar(char *b, int width, double p)
{
	int fill;

	if (p < 0) {
		snprintf(b, width + 3, "%*s", width + 2, "-");
		return;
	}
	fill = (int)(p * width + 0.5);
	b[0] = '[';
	for (int i = 0; i < width; i++)
		b[1 + i] = i < fill ? '#' : '.';
	b[width + 1] = ']';
	b[width + 2] = '\0';
}

/* One table line; same text in text mode and TUI. */
void row_line(char *out, size_t n, const struct mt_row *r)
{
	const struct mig_dev *d = r->md;
	char bar[32], pct[8], dirty[16], rr[16], wr[16], tip[16], eta[16];
	char fw[64];
	uint64_t now = view_now(), cmds = 0, lat = 0;

	progress_bar(bar, 20, r->progress);
	if (r->progress >= 0)
		snprintf(pct, sizeof(pct), "%3.0f%%", r->progress * 100);
	else
		snprintf(pct, sizeof(pct), "    ");
	fmt_bytes(dirty, sizeof(dirty), d->precopy_dirty);
	fmt_bytes(rr, sizeof(rr), r->read_rate);
	fmt_bytes(wr, sizeof(wr), r->write_rate);
	fmt_ns(tip, sizeof(tip), d->state_since && now > d->state_since ?
	       (double)(now - d->state_since) : 0);
	if (r->eta_s >= 0)
		fmt_ns(eta, sizeof(eta), r->eta_s * 1e9);
	else
		snprintf(eta, sizeof(eta), "-");
	for (int op = 0; op < MIG_FW_NR; op++) {
		cmds += r->st.fw_count[op];
		lat += r->st.fw_lat_sum[op];
	}
	{
		char a[16], s[16], l[16];

		fmt_ns(a, sizeof(a), cmds ? (double)lat / cmds : 0);
		fmt_ns(s, sizeof(s), r->st.fw_count[1] ?
		       (double)r->st.fw_lat_sum[1] / r->st.fw_count[1] : 0);
		fmt_ns(l, sizeof(l), r->st.fw_count[2] ?
		       (double)r->st.fw_lat_sum[2] / r->st.fw_count[2] : 0);
		snprintf(fw, sizeof(fw), "%4" PRIu64 " %7s S%" PRIu64 ":%s L%" PRIu64 ":%s",
			 cmds, a, (uint64_t)r->st.fw_count[1], s,
			 (uint64_t)r->st.fw_count[2], l);
	}
	char name[64] = "", err[40] = "", own[96] = "-";
	struct mig_owner o = d->owner;

	if (generic)
		generic_dev_name(&gtracer, r->dev, name, sizeof(name));
	owner_of(r->dev, &o);
	if (o.pid)
		snprintf(own, sizeof(own), "%s/%u%s%s", o.comm, o.pid,
			 *o.qemu_id ? ":" : "", o.qemu_id);
	if (d->last_err)	/* the site of this migration's last error */
		snprintf(err, sizeof(err), " ERR:%s", mig_err_site_name(d->last_err_site));
	else if (r->st.errors)
		snprintf(err, sizeof(err), " ERR");
	snprintf(out, n, "%4u %-12s %-15s %4" PRIu64 " %-6s %s %s %7s %7s/s %7s/s %4u %8s %8s %-32s %s%s%s%s",
		 r->dev, mig_state_name(d->state), mig_dev_phase(d),
		 (uint64_t)d->mig_id, role_name(d->role), bar, pct, dirty, rr,
		 wr, d->precopy_iters, tip, eta, fw, own, err, *name ? " " : "", name);
}

const char *const HDR =
	" DEV STATE        PHASE            MIG ROLE   PRECOPY PROGRESS        "
	"DIRTY    READ/s   WRITE/s ITER  T-PHASE      ETA CMDS  AVG-LAT SAVE LOAD"
	"                OWNER (comm/pid:QEMU id)";

void print_text(void)
{
	char line[512], ts[32];
	time_t t = time(NULL);

	strftime(ts, sizeof(ts), "%H:%M:%S", localtime(&t));
	printf("%s mode=%s drops=%" PRIu64 " events=%llu migrations=%ld\n%s\n",
	       ts, t_mode(), t_drops(), model.events,
	       total_done, HDR);
	for (int i = 0; i < nrows; i++) {
		row_line(line, sizeof(line), &rows[i]);
		printf("%s\n", line);
	}
	for (int i = 0; i < nrows; i++)
		if (expected_line(line, sizeof(line), rows[i].md))
			printf("expected downtime if switched now: %s\n", line);
	fflush(stdout);
}
