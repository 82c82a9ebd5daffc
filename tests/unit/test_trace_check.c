// SPDX-License-Identifier: GPL-2.0-only OR BSD-3-Clause
/*
 * Unit test of tools/lib/trace_check.c: every assertion kind passes on a
 * good synthetic recording and fails (with a non-zero count) on a bad one;
 * a bad spec is a syntax error (-1); the saved-file path is the same; the
 * report's formats (text, JSON, TAP, JUnit) say the same, escaped, also
 * when there are no events or the spec has errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_out.h"
#include "trace_check.h"
#include "test_trace.h"

static const char good_spec[] =
	"# a comment line\n"
	"\n"
	"states source RUNNING PRE_COPY PRE_COPY_P2P STOP_COPY STOP\n"
	"states target RUNNING * RESUMING STOP RUNNING_P2P RUNNING\n"
	"count state_step to=STOP_COPY == 1\n"
	"count image_done kind=final == 1\n"
	"count image_done >= 2   # trailing comment\n"
	"count fw_cmd_done opcode=SUSPEND == 1\n"
	"count save_read ret>0 == 3\n"
	"sum save_read.ret ret>0 == 6324\n"
	"sum resume_write.ret == 6324\n"
	"migrations == 1\n"
	"downtime < 2us\n"
	"downtime == 1210\n"
	"part drain == 100ns\n"
	"part target_load <= 0.4us\n"
	"precopy >= 1000\n"
	"bytes match\n"
	"no errors\n"
	"no drops\n";

/* Check @spec, the text report into @out; tc_check's result. */
static int run(const char *spec, const struct tc_events *evs, char *out, size_t len)
{
	FILE *f = fmemopen(out, len, "w");
	struct tc_report rep;
	int r;

	tc_report_init(&rep, "t.spec", "t.events");
	tc_report_events(&rep, evs);
	r = tc_check(spec, evs, NULL, &rep);
	CHECK(!tc_write_text(f, &rep));
	fclose(f);
	tc_report_free(&rep);
	return r;
}

/* Report @rep in @fmt ('t'ext, 'j'son, TAP 'T', JUnit 'J') into @out. */
static int write_fmt(int fmt, const struct tc_report *rep, char *out, size_t len)
{
	FILE *f = fmemopen(out, len, "w");
	struct jw w;
	int r;

	jw_init(&w, f);
	r = fmt == 't' ? tc_write_text(f, rep) : fmt == 'j' ? tc_write_json(&w, rep) :
	    fmt == 'T' ? tc_write_tap(f, rep) : tc_write_junit(f, rep);
	fclose(f);
	return r;
}

int main(void)
{
	struct tt_stream s = { 0 };
	struct tc_events evs = { 0 };
	static char out[16384];
	struct mig_event e;
	char err[128];
	int r;

	tt_migration(&s, 0, 1, 1, 2, 100000, 0);
	for (size_t i = 0; i < s.n; i++)
		CHECK(!tc_append(&evs, &s.ev[i]));

	r = run(good_spec, &evs, out, sizeof(out));
	if (r)
		fputs(out, stderr);
	CHECK(r == 0);
	CHECK(strstr(out, "ok   states source RUNNING PRE_COPY") != NULL);
	CHECK(strstr(out, "FAIL") == NULL);

	/* Each of these must fail exactly once. */
	{
		static const char *const bad[] = {
			"states source RUNNING STOP_COPY STOP",
			"count image_done kind=final == 2",
			"sum save_read.ret ret>0 < 100",
			"migrations == 2",
			"downtime < 1us",
			"part source_suspend > 1ms",
			"precopy < 10ns",
			"no errors",
		};
		struct tc_events evs2 = evs;

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			char *spec = malloc(strlen(bad[i]) + 64);

			strcpy(spec, bad[i]);
			strcat(spec, "\nno drops\n");
			if (!strcmp(bad[i], "no errors")) {
				/* add an error event to a copy */
				evs2.ev = malloc((evs.n + 1) * sizeof(*evs.ev));
				memcpy(evs2.ev, evs.ev, evs.n * sizeof(*evs.ev));
				evs2.n = evs.n;
				evs2.cap = evs.n + 1;
				tt_ev((struct tt_stream *)&evs2, 999999, MEV_ERROR, 0, MS_STOP, 1, 0, -22, 0, 0, 0);
				r = run(spec, &evs2, out, sizeof(out));
				free(evs2.ev);
			} else {
				r = run(spec, &evs, out, sizeof(out));
			}
			if (r != 1)
				fprintf(stderr, "spec '%s' gave %d:\n%s", bad[i], r, out);
			CHECK(r == 1);
			CHECK(strstr(out, " dropped\nFAIL ") != NULL);	/* the first assertion */
			free(spec);
		}
	}

	/* Record tags and error sites by name (one table: vs_tag_name()). */
	{
		struct tt_stream t = { 0 };

		for (size_t i = 0; i < s.n; i++)
			tt_push(&t, &s.ev[i]);
		tt_ev(&t, 999990, MEV_RESUME_RECORD, 1, MS_RESUMING, 2, 24, 16, 2, 1, 0);
		tt_ev(&t, 999991, MEV_RESUME_RECORD, 1, MS_RESUMING, 2, 56, 4000, 0, 0, 0);
		tt_ev(&t, 999992, MEV_ERROR, 1, MS_RESUMING, 2, 7, -74, 0, 0, 0);
		struct tc_events e3 = { .ev = t.ev, .n = t.n, .cap = t.n };

		r = run("count resume_record tag=CHUNK_CRC == 1\n"
			"count resume_record tag=chunk_crc size=16 == 1\n"
			"count resume_record tag=FW_DATA == 1\n"
			"count resume_record tag=STOP_COPY_SIZE == 0\n"
			"count error site=checksum == 1\n"
			"count error site=load == 0\n", &e3, out, sizeof(out));
		if (r)
			fputs(out, stderr);
		CHECK(r == 0);
		CHECK(run("count resume_record tag=NO_SUCH_TAG == 0\n", &e3, out,
			  sizeof(out)) == -1);
		free(t.ev);
	}

	/* Drops fail "no drops". */
	evs.drops = 2;
	CHECK(run("no drops\n", &evs, out, sizeof(out)) == 1);
	evs.drops = 0;

	/* Syntax errors. */
	CHECK(run("count nosuch == 1\n", &evs, out, sizeof(out)) == -1);
	CHECK(strstr(out, "ERROR line 1") != NULL);
	CHECK(run("no drops\ncount save_read nofield=1 == 1\n", &evs, out, sizeof(out)) == -1);
	CHECK(strstr(out, "ERROR line 2") != NULL);
	CHECK(run("downtime < soon\n", &evs, out, sizeof(out)) == -1);
	CHECK(run("states source RUNNING BOGUS\n", &evs, out, sizeof(out)) == -1);
	CHECK(run("frobnicate\n", &evs, out, sizeof(out)) == -1);

	/* Named fields and states by number read as the positional form does. */
	{
		static const char pos[] =
			"100 image_chunk 3 STOP_COPY 7 0 2 1 0 5 12 20480 4096\n"
			"200 device 3 RUNNING 7 4096 2 0 0 0 0 0 0 uuid=88776655-4433-2211-1122-334455667788\n"
			"300 save_read 3 STOP_COPY 7 0 0 4096 -11\n";
		static const char named[] =
			"# mode perf\n"
			"100 image_chunk 3 3 7 0 kind=2 image_seq=1 chunk_seq=0 npages=5 chunk_flags=12 tag=0 bytes=20480 pos=4096\n"
			"200 device 3 2 7 4096 event=2 uuid=88776655-4433-2211-1122-334455667788\n"
			"250 vfmig_from_the_future 3 2 7 0 x=1\n"
			"300 vfmig_save_read 3 STOP_COPY 7 0 ret=-11 len=4096 pos=0 appended_later=1\n";
		static const char *const bad[] = {
			"1 device 3 RUNNING 7 0 event=x\n",
			"1 device 3 9 7 0\n",
			"1 device 3 RUNNING 7 0 uuid=88776655-4433-2211-1122\n",
			"1 device 3 RUNNING 7 0 1 2 3 4 5 6 7 8\n",
			"1 device 3 RUNNING\n",
			"1 no_such_event 3 RUNNING 7 0\n",
		};
		struct mig_event a, b, dev_ev;
		unsigned long la = 0, lb = 0;
		char mode[16] = "";
		FILE *fa = fmemopen((void *)pos, strlen(pos), "r");
		FILE *fb = fmemopen((void *)named, strlen(named), "r");

		for (int i = 0; i < 3; i++) {
			CHECK(mig_ev_read(fa, &a, NULL, NULL, 0, &la) == 1);
			CHECK(mig_ev_read(fb, &b, NULL, mode, sizeof(mode), &lb) == 1);
			CHECK(!memcmp(&a, &b, sizeof(a)));
			if (i == 1)
				dev_ev = a;
		}
		CHECK(mig_ev_read(fb, &b, NULL, NULL, 0, &lb) == 0 && !strcmp(mode, "perf"));
		/* The writer puts a device's UUID back the same way. */
		{
			static char line[256];
			struct mig_event c;
			unsigned long lc = 0;
			char u[37];
			FILE *fc = fmemopen(line, sizeof(line), "w");

			CHECK(dev_ev.type == MEV_DEVICE && dev_ev.uuid[0] == 0x88 && dev_ev.uuid[15] == 0x88 &&
			      !strcmp(mig_uuid_str(dev_ev.uuid, u), "88776655-4433-2211-1122-334455667788"));
			mig_ev_write(fc, &dev_ev);
			fclose(fc);
			CHECK(strstr(line, " uuid=88776655-4433-2211-1122-334455667788\n") != NULL);
			fc = fmemopen(line, strlen(line), "r");
			CHECK(mig_ev_read(fc, &c, NULL, NULL, 0, &lc) == 1 && !memcmp(&dev_ev, &c, sizeof(c)));
			fclose(fc);
		}
		fclose(fa);
		fclose(fb);
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			fa = fmemopen((void *)bad[i], strlen(bad[i]), "r");
			la = 0;
			CHECK(mig_ev_read(fa, &a, NULL, NULL, 0, &la) == -1 && la == 1);
			fclose(fa);
		}
	}

	/* Lines after an error are still checked, and counted in the summary. */
	{
		struct tc_report rep;

		tc_report_init(&rep, "t.spec", "t.events");
		tc_report_events(&rep, &evs);
		CHECK(tc_check("frobnicate\nno drops\n\nmigrations == 7\n", &evs, NULL, &rep) == -1);
		CHECK(!write_fmt('t', &rep, out, sizeof(out)));
		CHECK(strstr(out, "ERROR line 1") && strstr(out, "ok   no drops") &&
		      strstr(out, "FAIL migrations == 7"));
		CHECK(strstr(out, "\n# ERROR: 1 of 2 assertion(s) failed; 1 spec error(s)\n"));
		CHECK(rep.sum.assertions == 3 && rep.sum.errors == 1 && rep.sum.failed == 1);
		CHECK(!strcmp(tc_report_status(&rep), "error") && tc_report_exit(&rep) == 2);
		tc_report_free(&rep);
		/* The same as JSON records, one per assertion, and the summary. */
		tc_report_init(&rep, "t.spec", "t.events");
		tc_report_events(&rep, &evs);
		CHECK(tc_check("frobnicate\nno drops\nmigrations == 7\n", &evs, NULL, &rep) == -1);
		CHECK(!write_fmt('j', &rep, out, sizeof(out)));
		CHECK(strstr(out, "{\"type\":\"assertion\",\"schema_version\":1,\"line\":1,"
			      "\"assertion\":\"frobnicate\",\"result\":\"error\","
			      "\"detail\":\"unknown assertion 'frobnicate'\"}\n") != NULL);
		CHECK(strstr(out, "\"line\":2,\"assertion\":\"no drops\",\"result\":\"ok\"") != NULL);
		CHECK(strstr(out, "\"line\":3,\"assertion\":\"migrations == 7\",\"result\":\"fail\"") != NULL);
		CHECK(strstr(out, "\"assertions\":3,\"failed\":1,\"errors\":1,\"skipped\":0,"
			      "\"command_status\":null,\"error\":null,\"status\":\"error\"}\n") != NULL);
		CHECK(!strstr(out, "ERROR line"));
		tc_report_free(&rep);
	}

	/* TAP and JUnit: one test point / testcase per assertion, in order. */
	{
		struct tc_report rep;
		static char tap[8192], xml[8192];

		tc_report_init(&rep, "dir/t<1>.spec", "t.events");
		tc_report_events(&rep, &evs);
		CHECK(tc_check("no drops\nmigrations == 7\nfrobnicate \"x\" & <y>\n",
			       &evs, NULL, &rep) == -1);
		CHECK(!write_fmt('T', &rep, tap, sizeof(tap)));
		CHECK(!strncmp(tap, "TAP version 13\n1..3\nok 1 - no drops\n  ---\n"
			       "  message: \"0 dropped\"\n  file: \"dir/t<1>.spec\"\n  line: 1\n  ...\n"
			       "not ok 2 - migrations == 7\n  ---\n  message: \"1 migrations\"\n"
			       "  severity: fail\n", strlen("TAP version 13\n1..3\nok 1 - no drops\n  ---\n"
			       "  message: \"0 dropped\"\n  file: \"dir/t<1>.spec\"\n  line: 1\n  ...\n"
			       "not ok 2 - migrations == 7\n  ---\n  message: \"1 migrations\"\n"
			       "  severity: fail\n")));
		CHECK(strstr(tap, "not ok 3 - frobnicate \"x\" & <y>\n  ---\n"
			      "  message: \"unknown assertion 'frobnicate'\"\n  severity: error\n"));
		CHECK(strstr(tap, "\n# ERROR: 1 of 2 assertion(s) failed; 1 spec error(s)\n"));
		CHECK(!write_fmt('J', &rep, xml, sizeof(xml)));
		CHECK(!strncmp(xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			       "<testsuites name=\"mig-trace\" tests=\"3\" failures=\"1\" errors=\"1\">\n"
			       "  <testsuite name=\"dir/t&lt;1&gt;.spec\" tests=\"3\" failures=\"1\" "
			       "errors=\"1\" skipped=\"0\" file=\"dir/t&lt;1&gt;.spec\">\n", 200));
		CHECK(strstr(xml, "    <testcase name=\"line 1: no drops\" classname=\"mig-trace.t&lt;1&gt;\">\n"
			      "      <system-out>0 dropped</system-out>\n    </testcase>\n"));
		CHECK(strstr(xml, "<testcase name=\"line 2: migrations == 7\" classname=\"mig-trace.t&lt;1&gt;\">\n"
			      "      <failure type=\"assertion\" message=\"1 migrations\">1 migrations</failure>\n"));
		CHECK(strstr(xml, "<testcase name=\"line 3: frobnicate &quot;x&quot; &amp; &lt;y&gt;\""));
		CHECK(strstr(xml, "<error type=\"spec\" message=\"unknown assertion 'frobnicate'\">"));
		CHECK(strstr(xml, "<property name=\"events_count\" value=\"") &&
		      strstr(xml, "<property name=\"status\" value=\"error\"/>"));
		CHECK(strstr(xml, "<system-out>ERROR: 1 of 2 assertion(s) failed; 1 spec error(s)</system-out>\n"
			      "  </testsuite>\n</testsuites>\n"));
		tc_report_free(&rep);

		/* No events: the assertions are parsed, reported SKIP, the input an error. */
		tc_report_init(&rep, "t.spec", "ev.txt");
		CHECK(!tc_report_add(&rep, 0, TC_ERROR, "events ev.txt", "line 3: not an event"));
		CHECK(tc_check("no drops\nmigrations == 1\n", &evs, "not checked: no events", &rep) == 0);
		CHECK(rep.sum.assertions == 2 && rep.sum.skipped == 2 && rep.sum.failed == 0);
		CHECK(tc_report_exit(&rep) == 2);
		CHECK(!write_fmt('t', &rep, out, sizeof(out)));
		CHECK(!strcmp(out, "ERROR events ev.txt: line 3: not an event\n"
			      "SKIP no drops (not checked: no events)\n"
			      "SKIP migrations == 1 (not checked: no events)\n"
			      "# ERROR: 0 of 2 assertion(s) failed; 2 not checked; "
			      "events ev.txt: line 3: not an event\n"));
		CHECK(!write_fmt('T', &rep, tap, sizeof(tap)));
		CHECK(strstr(tap, "1..3\nnot ok 1 - events ev.txt\n  ---\n"
			      "  message: \"line 3: not an event\"\n  severity: error\n  ...\n"
			      "ok 2 - no drops # SKIP not checked: no events\n"));
		CHECK(!write_fmt('J', &rep, xml, sizeof(xml)));
		CHECK(strstr(xml, "skipped=\"2\"") &&
		      strstr(xml, "<skipped message=\"not checked: no events\"/>") &&
		      strstr(xml, "<error type=\"input\" message=\"line 3: not an event\">") &&
		      !strstr(xml, "events_count"));
		CHECK(!write_fmt('j', &rep, out, sizeof(out)));
		CHECK(strstr(out, "\"result\":\"skip\",\"detail\":\"not checked: no events\"") &&
		      strstr(out, "\"events\":null,\"mode\":null,\"drops\":null,") &&
		      strstr(out, "\"error\":\"events ev.txt: line 3: not an event\",\"status\":\"error\""));
		tc_report_free(&rep);

		/* run's command: a test point; its failure fails the report. */
		{
			char *argv[] = { "migctl", "migrate", "a#b", NULL };

			tc_report_init(&rep, "t.spec", "ev.txt");
			tc_report_events(&rep, &evs);
			CHECK(!tc_report_command(&rep, argv, 3));
			CHECK(tc_check("no drops\n", &evs, NULL, &rep) == 0);
			CHECK(!strcmp(tc_report_status(&rep), "fail") && tc_report_exit(&rep) == 1);
			CHECK(!write_fmt('T', &rep, tap, sizeof(tap)));
			CHECK(strstr(tap, "1..2\nnot ok 1 - command migctl migrate a\\#b\n  ---\n"
				      "  message: \"exit status 3\"\n  severity: fail\n  ...\nok 2 - no drops\n"));
			CHECK(strstr(tap, "# FAIL: 0 of 1 assertion(s) failed; command migctl migrate a\\#b: exit status 3\n"));
			CHECK(!write_fmt('J', &rep, xml, sizeof(xml)));
			CHECK(strstr(xml, "<failure type=\"command\" message=\"exit status 3\">") &&
			      strstr(xml, "<property name=\"command_status\" value=\"3\"/>"));
			CHECK(!write_fmt('j', &rep, out, sizeof(out)));
			CHECK(strstr(out, "\"command_status\":3,\"error\":null,\"status\":\"fail\"") &&
			      !strstr(out, "\"line\":0"));
			tc_report_free(&rep);
		}

		/* An empty spec: a plan of 0 tests, a pass. */
		tc_report_init(&rep, "t.spec", "t.events");
		tc_report_events(&rep, &evs);
		CHECK(tc_check("# nothing\n\n", &evs, NULL, &rep) == 0);
		CHECK(!write_fmt('T', &rep, tap, sizeof(tap)));
		CHECK(!strcmp(tap, "TAP version 13\n1..0 # SKIP the spec has no assertion\n"
			      "# PASS: 0 of 0 assertion(s) failed\n"));
		CHECK(!write_fmt('J', &rep, xml, sizeof(xml)));
		CHECK(strstr(xml, "tests=\"0\"") != NULL);
		tc_report_free(&rep);

		/* Escaping: TAP descriptions, YAML strings, XML, invalid UTF-8. */
		tc_report_init(&rep, "t.spec", "t.events");
		CHECK(!tc_report_add(&rep, 0, TC_ERROR, "spec a#b\\c\td\xff",
				     "q\"\\\n\x01\x7f\xc2\x85\xef\xbf\xbe\xe2\x82\xac\xc0"));
		CHECK(!write_fmt('T', &rep, tap, sizeof(tap)));
		CHECK(strstr(tap, "not ok 1 - spec a\\#b\\\\c d\xef\xbf\xbd\n") != NULL);
		CHECK(strstr(tap, "  message: \"q\\\"\\\\\\n\\x01\\x7f\xef\xbf\xbd\xef\xbf\xbd"
			      "\xe2\x82\xac\xef\xbf\xbd\"\n") != NULL);
		CHECK(!write_fmt('J', &rep, xml, sizeof(xml)));
		CHECK(strstr(xml, "<testcase name=\"spec a#b\\c&#9;d\xef\xbf\xbd\"") != NULL);
		CHECK(strstr(xml, "message=\"q&quot;\\&#10;\xef\xbf\xbd\x7f\xc2\x85\xef\xbf\xbd"
			      "\xe2\x82\xac\xef\xbf\xbd\">q\"\\\n\xef\xbf\xbd") != NULL);
		tc_report_free(&rep);

		/* A write error is reported. */
		{
			FILE *f = fopen("/dev/full", "w");

			if (f) {
				tc_report_init(&rep, "t.spec", "t.events");
				CHECK(!tc_report_add(&rep, 1, TC_OK, "no drops", NULL));
				setvbuf(f, NULL, _IONBF, 0);
				CHECK(tc_write_tap(f, &rep) == -1);
				CHECK(tc_write_junit(f, &rep) == -1);
				CHECK(tc_write_text(f, &rep) == -1);
				fclose(f);
				tc_report_free(&rep);
			}
		}
	}

	/* The saved-file path: write, load, same verdict. */
	{
		static char buf[65536];
		struct tc_events ld = { 0 };
		FILE *f = fmemopen(buf, sizeof(buf), "w+");

		fprintf(f, "# vfmig events v1\n# mode tp_btf\n");
		for (size_t i = 0; i < s.n; i++)
			mig_ev_write(f, &s.ev[i]);
		fprintf(f, "# drops 0\n");
		rewind(f);
		CHECK(tc_load(f, &ld, err, sizeof(err)) == 0);
		fclose(f);
		CHECK(ld.n == s.n && !strcmp(ld.mode, "tp_btf"));
		CHECK(run(good_spec, &ld, out, sizeof(out)) == 0);
		tc_free(&ld);
	}

	CHECK(mig_ev_field(MEV_FW_DONE, "lat_ns") == 5);
	(void)e;
	tc_free(&evs);
	free(s.ev);
	return tt_report("test_trace_check");
}
