// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/*
 * mig-top's ncurses view (docs/mig-top.md): the device table, the
 * expected downtimes, the last migration's breakdown with the VMM's parts
 * on the same time axis, the recent migrations, and the keys.
 */
#include <inttypes.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <ncurses.h>

#include "mig-top.h"
#include "mig_vmm.h"
#include "owner.h"

static const char *sort_names[MT_SORT_NR] = { "dev", "state", "rate", "mig" };

static const char part_ch[MP_NR] = { 'S', 'F', 'D', 'L', 'R' };

static const char vmm_ch[MV_NR] = { 'v', 'i', 'n', 'l', 't' };

/*
 * A stacked bar: the parts with boundaries b[0..n] (ns) on the time axis
 * [a0, a1], one character per column of @width (the part at its middle).
 */
static void draw_bar(int y, int x0, int width, const __u64 *b, int n,
		     const char *ch, uint64_t a0, uint64_t a1)
{
	double span = a1 > a0 ? (double)(a1 - a0) : 1;

	mvaddch(y, x0 - 1, '[');
	for (int c = 0; c < width; c++) {
		double tau = a0 + (c + 0.5) * span / width;
		int p = -1;

		for (int k = 0; k < n; k++)
			if (tau >= b[k] && tau < b[k + 1])
				p = k;
		if (p < 0) {
			mvaddch(y, x0 + c, ' ');
			continue;
		}
		if (has_colors())
			attron(COLOR_PAIR(2 + p));
		mvaddch(y, x0 + c, ch[p]);
		if (has_colors())
			attroff(COLOR_PAIR(2 + p));
	}
	mvaddch(y, x0 + width, ']');
}

/* The last migration: the device's parts and, on the same time axis, the VMM's. */
static void draw_breakdown(int y, int cols, const struct mig_result *r)
{
	const struct mig_vmm *v = &r->vmm;
	int width = cols - 12;
	uint64_t a0 = r->t[0], a1 = r->t[MP_NR];
	__u64 vb[MV_NR + 1];
	char a[16], sum[128];

	if (width < 10)
		return;
	mvprintw(y, 0, "Last downtime: dev %u -> dev %u  total ", r->src_dev,
		 r->dst_dev);
	fmt_ns(a, sizeof(a), r->downtime_ns);
	attron(A_BOLD);
	printw("%s", a);
	attroff(A_BOLD);
	printw("   bytes %" PRIu64 " (precopy %" PRIu64 ", stop_copy %" PRIu64 ")%s",
	       (uint64_t)(r->precopy_bytes + r->stopcopy_bytes),
	       (uint64_t)r->precopy_bytes, (uint64_t)r->stopcopy_bytes,
	       r->partial ? " [partial]" : "");
	if (r->src_owner.pid || r->dst_owner.pid)
		printw("   %s/%u%s%s -> %s/%u%s%s", r->src_owner.comm, r->src_owner.pid,
		       *r->src_owner.qemu_id ? ":" : "", r->src_owner.qemu_id,
		       r->dst_owner.comm, r->dst_owner.pid,
		       *r->dst_owner.qemu_id ? ":" : "", r->dst_owner.qemu_id);
	if (v->valid) {
		/* One axis for both: the VMM's window usually holds the device's. */
		vb[0] = v->t[0];
		for (int p = 0; p < MV_NR; p++)
			vb[p + 1] = vb[p] + v->part_ns[p];
		a0 = vb[0] < a0 ? vb[0] : a0;
		a1 = vb[MV_NR] > a1 ? vb[MV_NR] : a1;
	}
	mvprintw(y + 1, 0, "  device");
	draw_bar(y + 1, 10, width, r->t, MP_NR, part_ch, a0, a1);
	move(y + 2, 0);
	for (int p = 0; p < MP_NR; p++) {
		fmt_ns(a, sizeof(a), r->part_ns[p]);
		printw(" %c %s %s (%.1f%%) ", part_ch[p], mig_part_name(p), a,
		       r->downtime_ns ? 100.0 * r->part_ns[p] / r->downtime_ns : 0);
	}
	/* Whom it waited for (docs/downtime.md, "Attribution"). */
	mig_result_summary(sum, sizeof(sum), r);
	mvprintw(y + 3, 0, " Bottleneck: ");
	attron(A_BOLD);
	printw("%s", mig_cause_name(r->bottleneck));
	attroff(A_BOLD);
	printw(" (%s)", sum);
	if (r->expected) {
		fmt_ns(a, sizeof(a), r->expected_ns);
		printw("   expected %s (%+.0f%%)", a, r->downtime_ns ?
		       100.0 * ((double)r->expected_ns - r->downtime_ns) / r->downtime_ns : 0);
	}
	if (!v->valid) {
		mvprintw(y + 4, 0, "  %.*s", cols - 3,
			 *v->note ? v->note : "no VMM view");
		return;
	}
	mvprintw(y + 4, 0, "  VMM");
	draw_bar(y + 4, 10, width, vb, MV_NR, vmm_ch, a0, a1);
	move(y + 5, 0);
	fmt_ns(a, sizeof(a), v->window_ns);
	printw(" VMM pause %s:", a);
	for (int p = 0; p < MV_NR; p++) {
		fmt_ns(a, sizeof(a), v->part_ns[p]);
		printw(" %c %s %s ", vmm_ch[p], mig_vmm_part_name(p), a);
	}
	if (*v->note)
		printw(" (%s)", v->note);
}

void draw_tui(void)
{
	char line[512], ts[32];
	time_t t = time(NULL);
	int rows_, cols, y;

	getmaxyx(stdscr, rows_, cols);
	erase();
	strftime(ts, sizeof(ts), "%H:%M:%S", localtime(&t));
	attron(A_BOLD);
	mvprintw(0, 0, "mig-top %s  mode: %s (%s)  interval %.2fs  drops %" PRIu64
		 "  events %llu  migrations %ld", ts, t_mode(), t_why(),
		 opts.interval, t_drops(), model.events,
		 total_done);
	attroff(A_BOLD);
	mvprintw(1, 0, "sort: %s%s  filter: %s   keys: q quit  s sort  r reverse  f filter  c clear  +/- interval",
		 sort_names[sort_key], sort_rev ? " (rev)" : "",
		 *filt ? filt : "-");
	mvprintw(2, 0, "%.*s", cols, owners_status());
	attron(A_REVERSE);
	mvprintw(3, 0, "%-*.*s", cols, cols, HDR);
	attroff(A_REVERSE);
	y = 4;
	for (int i = 0; i < nrows && y < rows_ - 11; i++, y++) {
		row_line(line, sizeof(line), &rows[i]);
		mvprintw(y, 0, "%.*s", cols, line);
	}
	if (!nrows)
		mvprintw(y++, 0, generic ? "  (no device has changed migration state yet)" :
			 "  (no vfmig devices seen yet)");
	for (int i = 0; i < nrows && y < rows_ - 11; i++) {
		char ex[600];

		if (!expected_line(line, sizeof(line), rows[i].md))
			continue;
		snprintf(ex, sizeof(ex), "Expected downtime if switched now: %s", line);
		mvprintw(y++, 0, "%.*s", cols, ex);
	}
	y = rows_ - 11 > y + 1 ? rows_ - 11 : y + 1;
	if (ndone) {
		int first = ndone > opts.keep ? ndone - opts.keep : 0;

		draw_breakdown(y, cols, &done[ndone - 1]);
		y += 7;
		mvprintw(y++, 0, "Recent migrations (S suspend, F final save, D drain, L target load, R target resume):");
		for (int i = ndone - 1; i >= first && y < rows_; i--, y++) {
			const struct mig_result *r = &done[i];
			char a[16];

			fmt_ns(a, sizeof(a), r->downtime_ns);
			mvprintw(y, 0, "  %u->%u downtime %-9s", r->src_dev,
				 r->dst_dev, a);
			for (int p = 0; p < MP_NR; p++) {
				fmt_ns(a, sizeof(a), r->part_ns[p]);
				printw(" %c:%-8s", part_ch[p], a);
			}
			printw(" %" PRIu64 "B %s%s", (uint64_t)(r->precopy_bytes + r->stopcopy_bytes),
			       mig_cause_name(r->bottleneck), r->partial ? " partial" : "");
			if (r->vmm.valid) {
				fmt_ns(a, sizeof(a), r->vmm.window_ns);
				printw("  VMM pause %s", a);
			}
		}
	} else {
		mvprintw(y, 0, "No completed migration yet: the downtime breakdown appears here after STOP_COPY.");
	}
	refresh();
}

static void tui_prompt_filter(void)
{
	char buf[64] = "";
	int rows_, cols;

	getmaxyx(stdscr, rows_, cols);
	(void)cols;
	nodelay(stdscr, FALSE);
	echo();
	curs_set(1);
	mvprintw(rows_ - 1, 0, "filter (dev id, state or phase; empty = none): ");
	clrtoeol();
	getnstr(buf, sizeof(buf) - 1);
	snprintf(filt, sizeof(filt), "%s", buf);
	noecho();
	curs_set(0);
	nodelay(stdscr, TRUE);
}

/* Returns true when the screen should be redrawn now. */
bool tui_keys(void)
{
	bool redraw = false;
	int ch;

	while ((ch = getch()) != ERR) {
		redraw = true;
		switch (ch) {
		case 'q': case 'Q': exiting = 1; break;
		case 's': sort_key = (sort_key + 1) % MT_SORT_NR; break;
		case 'r': sort_rev = !sort_rev; break;
		case 'f': tui_prompt_filter(); break;
		case 'c': filt[0] = '\0'; break;
		case '+': if (opts.interval < 60) opts.interval *= 2; break;
		case '-': if (opts.interval > 0.1) opts.interval /= 2; break;
		case KEY_RESIZE: break;
		default: redraw = false; break;
		}
	}
	return redraw;
}

void tui_init(void)
{
	setlocale(LC_ALL, "");
	initscr();
	cbreak();
	noecho();
	nodelay(stdscr, TRUE);
	keypad(stdscr, TRUE);
	curs_set(0);
	if (has_colors()) {
		static const short c[MP_NR] = { COLOR_RED, COLOR_YELLOW,
						COLOR_BLUE, COLOR_MAGENTA,
						COLOR_GREEN };

		start_color();
		use_default_colors();
		init_pair(1, COLOR_WHITE, -1);
		for (int p = 0; p < MP_NR; p++)
			init_pair(2 + p, COLOR_BLACK, c[p]);
	}
}

