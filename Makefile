# vfmig top-level build. Everything it makes goes under build/ (README.md,
# "Build layout"); the source tree stays clean. Quiet by default, V=1 shows
# every command. A second `make` does nothing and prints nothing.
#
#   make [all]          module (build/kernel/vfmig.ko) + userspace + BPF
#   make check          deps if missing, build, tests/run-check
#   make check-debug    the same on a KASAN/lockdep/kmemleak guest kernel
#   make check-package  Debian packages: build, lintian, DKMS, install, guest, purge
#   make install        PREFIX=/usr/local DESTDIR= (mk/install.mk); make uninstall
#   make check-twohost  the two-host tests: two guests as two hosts (tests/pair)
#   make demo           deps if missing, build, scripts/demo.sh
#   make demo-qemu      the same story with QEMU 10 as the VMM (scripts/demo-qemu.sh)
#   make deps           install build/test packages (root; scripts/deps.sh)
#   make unit warnmod   unit tests (ASan/UBSan) / splat self-test module
#   make fuzz           libFuzzer on the stream parser, then a long stream soak in the guest
#   make sparse         sparse (C=2) over the module sources
#   make checkpatch     checkpatch.pl --strict over kernel/*.[ch]
#   make vmlinux.h      regenerate the committed vmlinux.h (check-vmlinux-h)
#   make clean          remove build/

.DELETE_ON_ERROR:
.SUFFIXES:
MAKEFLAGS += --no-builtin-rules --no-print-directory
SHELL := /bin/bash

include mk/config.mk

ifeq ($(V),1)
Q :=
quiet_msg =
else
Q := @
quiet_msg = @printf '  %-8s %s\n' '$(1)' '$(2)'
endif

ifndef KVER
KVER := $(shell $(CURDIR)/scripts/kver.sh)
endif
KDIR := /lib/modules/$(KVER)/build
KVER_MAJMIN := $(word 1,$(subst ., ,$(KVER))).$(word 2,$(subst ., ,$(KVER)))
UAPI_VFIO := /usr/src/linux-headers-$(patsubst %-amd64,%-common,$(KVER))/include/uapi/linux/vfio.h
# The committed copy of that header the userspace build uses (make vfio-uapi
# refreshes it, check-vfio-uapi verifies it), so tools build without headers.
VFIO_UAPI_COPY := tools/include/uapi/linux/vfio.h
KHDR_VMLINUX := /usr/src/linux-headers-$(KVER)/vmlinux
LINUX_SOURCE_TAR := /usr/src/linux-source-$(KVER_MAJMIN).tar.xz

B := build
ABS_B := $(CURDIR)/$(B)

# ---------------------------------------------------------------- toolchain
CC := gcc
AR := ar
CLANG := clang-19
LLVM_STRIP := llvm-strip-19
BPFTOOL := bpftool

# EXTRA_CFLAGS, EXTRA_CPPFLAGS, EXTRA_LDFLAGS: added by a distribution's
# build (debian/rules passes dpkg-buildflags' hardening flags through them).
CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror $(EXTRA_CFLAGS)
DEPFLAGS = -MMD -MP
CPPFLAGS := -I$(B)/include -Iinclude -Itools/lib -I$(B)/bpf -DVFMIG_VERSION='"$(VFMIG_VERSION)"' \
	$(EXTRA_CPPFLAGS)
LDFLAGS := $(EXTRA_LDFLAGS)
LDLIBS :=
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror -I. -Iinclude -Ibpf \
	-idirafter /usr/include/$(shell $(CC) -dumpmachine)

# Per-tool link flags: tools/<tool>/tool.mk sets e.g. LDLIBS_mig-top := -lbpf.
# tests/guest/guest.mk may set LDLIBS_guest-<name>, tests/unit/unit.mk
# LDLIBS_<test_name>.
-include $(wildcard tools/*/tool.mk tests/guest/guest.mk tests/unit/unit.mk)

# ---------------------------------------------------------------- sources
LIB_SRCS := $(wildcard tools/lib/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(B)/obj/%.o)
LIBVFMIG := $(B)/lib/libvfmig.a
TOOLS := $(filter-out lib,$(sort $(patsubst tools/%/,%,$(dir $(wildcard tools/*/*.c)))))
TOOL_BINS := $(TOOLS:%=$(B)/bin/%)
GUEST_SRCS := $(wildcard tests/guest/*.c)
GUEST_BINS := $(GUEST_SRCS:tests/guest/%.c=$(B)/guest/%)
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(B)/bench/%)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(B)/unit/%)
# The unit tests link every library object but the BPF loader (it needs
# libbpf and a kernel; mig-top and mig-trace take it from $(LIBVFMIG)).
LIB_BPF_SRCS := tools/lib/mig_attach.c
UNIT_LIB_OBJS := $(filter-out $(LIB_BPF_SRCS:%.c=$(B)/unit/obj/%.o),$(LIB_SRCS:%.c=$(B)/unit/obj/%.o))
BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(BPF_SRCS:bpf/%.bpf.c=$(B)/bpf/%.bpf.o)
SKELS := $(BPF_SRCS:bpf/%.bpf.c=$(B)/bpf/%.skel.h)
VFIO_H := $(B)/include/linux/vfio.h

USER_OBJS := $(LIB_OBJS) $(patsubst %.c,$(B)/obj/%.o,$(wildcard $(TOOLS:%=tools/%/*.c)) $(GUEST_SRCS) $(BENCH_SRCS))
UNIT_OBJS := $(UNIT_LIB_OBJS) $(UNIT_SRCS:%.c=$(B)/unit/obj/%.o)

.PHONY: all module userspace tools bpf unit warnmod check check-twohost demo demo-qemu deps clean sparse checkpatch \
	check-vmlinux-h check-vfio-uapi help fuzz fuzz-parser fuzz-soak FORCE
all: module userspace

userspace: $(VFIO_H) $(BPF_OBJS) $(SKELS) $(LIBVFMIG) $(TOOL_BINS) $(GUEST_BINS) $(BENCH_BINS)
	@:
# Only what `make install` ships (no module, no test or bench programs).
tools: $(TOOL_BINS)
	@:
bpf: $(BPF_OBJS) $(SKELS)
	@:
.SECONDARY: $(BPF_OBJS)
unit: $(UNIT_BINS)
	@:

# ---------------------------------------------------------------- kernel modules
# Kbuild runs in a symlink farm under build/ so objects never land in kernel/.
# It is always invoked (it tracks its own dependencies) and prints nothing
# when nothing changed.
KBUILD = $(MAKE) -C $(KDIR) M=$(ABS_B)/$(1) W=1 VFMIG_INC=$(CURDIR)/include

ifneq ($(wildcard kernel/Kbuild),)
module:
	$(Q)scripts/symlink-farm.sh kernel $(B)/kernel
	$(Q)$(call KBUILD,kernel) modules
else
module:
	@:  # kernel/Kbuild not written yet: nothing to build
endif

warnmod:
	$(Q)scripts/symlink-farm.sh tests/vm/warnmod $(B)/warnmod
	$(Q)$(call KBUILD,warnmod) modules

# Sparse over every module source (C=2: also files that need no rebuild, so the
# target is useful on an up-to-date tree). Fails on any warning or error.
sparse:
	$(Q)if [ ! -e kernel/Kbuild ]; then echo "sparse: no kernel/Kbuild yet"; exit 0; fi; \
	scripts/symlink-farm.sh kernel $(B)/kernel && \
	$(call KBUILD,kernel) C=2 modules 2>&1 | tee $(B)/sparse.log; \
	test $${PIPESTATUS[0]} -eq 0 && ! grep -qE '(warning|error):' $(B)/sparse.log

# ---------------------------------------------------------------- checkpatch
# Runs in build/tools: checkpatch drops a CamelCase cache file in its cwd.
# CHECKPATCH_EXTRA=<files> adds files (e.g. tests/vm/warnmod/warnmod.c).
CHECKPATCH := $(B)/tools/checkpatch.pl
CHECKPATCH_FILES := $(wildcard kernel/*.[ch])

$(CHECKPATCH):
	$(call quiet_msg,EXTRACT,checkpatch.pl from $(LINUX_SOURCE_TAR))
	$(Q)test -r $(LINUX_SOURCE_TAR) || { echo "$(LINUX_SOURCE_TAR) missing: make deps" >&2; exit 1; }
	$(Q)mkdir -p $(B)/tools
	$(Q)x=$$(mktemp -d $(B)/tools/.x.XXXXXX) && \
	tar -xJf $(LINUX_SOURCE_TAR) -C $$x --strip-components=2 \
		linux-source-$(KVER_MAJMIN)/scripts/checkpatch.pl \
		linux-source-$(KVER_MAJMIN)/scripts/spelling.txt \
		linux-source-$(KVER_MAJMIN)/scripts/const_structs.checkpatch && \
	mv $$x/spelling.txt $$x/const_structs.checkpatch $(B)/tools/ && \
	mv $$x/checkpatch.pl $@ && rm -rf $$x

checkpatch: $(CHECKPATCH)
	$(Q)if [ -z "$(strip $(CHECKPATCH_FILES) $(CHECKPATCH_EXTRA))" ]; then \
		echo "checkpatch: no kernel/*.[ch] yet"; exit 0; fi; \
	cd $(B)/tools && GIT_DIR=/nonexistent perl checkpatch.pl --strict --no-tree --quiet --show-types -f \
		$(abspath $(CHECKPATCH_FILES) $(CHECKPATCH_EXTRA))

# ---------------------------------------------------------------- vmlinux.h
# Committed so BPF builds need no BTF at hand; `make vmlinux.h` regenerates it
# from the headers package's BTF-only vmlinux. Only forced when named.
ifneq ($(filter vmlinux.h,$(MAKECMDGOALS)),)
.PHONY: vmlinux.h
endif
vmlinux.h:
	$(call quiet_msg,GEN,$@)
	$(Q)test -r $(KHDR_VMLINUX) || { echo "$(KHDR_VMLINUX) missing: make deps" >&2; exit 1; }
	$(Q)$(BPFTOOL) btf dump file $(KHDR_VMLINUX) format c > $@.tmp && mv $@.tmp $@

check-vmlinux-h:
	$(Q)mkdir -p $(B)
	$(Q)test -r $(KHDR_VMLINUX) || { echo "$(KHDR_VMLINUX) missing: make deps" >&2; exit 1; }
	$(Q)$(BPFTOOL) btf dump file $(KHDR_VMLINUX) format c > $(B)/vmlinux.h.check
	$(Q)cmp -s $(B)/vmlinux.h.check vmlinux.h || \
		{ echo "vmlinux.h differs from $(KHDR_VMLINUX) (kernel $(KVER)): run make vmlinux.h" >&2; exit 1; }

# ---------------------------------------------------------------- userspace
# The host's /usr/include/linux/vfio.h is 6.1 (no PRE_COPY): use the uAPI of
# the kernel we build for (the committed copy, VFIO_UAPI_COPY), with the
# kernel-only __user annotation removed.
$(VFIO_H): $(VFIO_UAPI_COPY)
	$(call quiet_msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)sed -e 's/\<__user\>//g' $< > $@.tmp && mv $@.tmp $@

# The committed copy against the kernel we build for (like vmlinux.h).
ifneq ($(filter vfio-uapi,$(MAKECMDGOALS)),)
.PHONY: vfio-uapi
endif
vfio-uapi:
	$(call quiet_msg,COPY,$(UAPI_VFIO))
	$(Q)test -r $(UAPI_VFIO) || { echo "$(UAPI_VFIO) missing: make deps" >&2; exit 1; }
	$(Q)cp $(UAPI_VFIO) $(VFIO_UAPI_COPY)

check-vfio-uapi:
	$(Q)test -r $(UAPI_VFIO) || { echo "$(UAPI_VFIO) missing: make deps" >&2; exit 1; }
	$(Q)cmp -s $(UAPI_VFIO) $(VFIO_UAPI_COPY) || \
		{ echo "$(VFIO_UAPI_COPY) differs from $(UAPI_VFIO) (kernel $(KVER)): run make vfio-uapi" >&2; exit 1; }

$(B)/obj/%.o: %.c Makefile | $(VFIO_H) $(SKELS)
	$(call quiet_msg,CC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(LIBVFMIG): $(LIB_OBJS)
	$(call quiet_msg,AR,$@)
	$(Q)mkdir -p $(@D)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

define tool_rule
$(B)/bin/$(1): $(patsubst %.c,$(B)/obj/%.o,$(wildcard tools/$(1)/*.c)) $(LIBVFMIG)
	$$(call quiet_msg,LD,$$@)
	$(Q)mkdir -p $$(@D)
	$(Q)$$(CC) $$(LDFLAGS) -o $$@ $$(filter %.o,$$^) $(LIBVFMIG) $$(LDLIBS_$(1)) $$(LDLIBS)
endef
$(foreach t,$(TOOLS),$(eval $(call tool_rule,$(t))))

$(GUEST_BINS): $(B)/guest/%: $(B)/obj/tests/guest/%.o $(LIBVFMIG)
	$(call quiet_msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(LIBVFMIG) $(LDLIBS_guest-$*) $(LDLIBS)

# Benchmarks (bench/*.c): guest programs run by `make bench`.
$(BENCH_BINS): $(B)/bench/%: $(B)/obj/bench/%.o $(LIBVFMIG)
	$(call quiet_msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(LIBVFMIG) $(LDLIBS)

# Unit tests: the library again, with sanitizers, in separate objects.
$(B)/unit/obj/%.o: %.c Makefile | $(VFIO_H) $(SKELS)
	$(call quiet_msg,CC,$< [san])
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(SANFLAGS) $(DEPFLAGS) -c -o $@ $<

$(UNIT_BINS): $(B)/unit/%: $(B)/unit/obj/tests/unit/%.o $(UNIT_LIB_OBJS)
	$(call quiet_msg,LD,$@)
	$(Q)$(CC) $(SANFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS_$*) $(LDLIBS)

# ---------------------------------------------------------------- BPF
$(B)/bpf/%.bpf.o: bpf/%.bpf.c Makefile
	$(call quiet_msg,BPF,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -MT $@ -MF $(B)/bpf/$*.bpf.d -c $< -o $@.tmp
	$(Q)$(LLVM_STRIP) -g $@.tmp && mv $@.tmp $@

$(B)/bpf/%.skel.h: $(B)/bpf/%.bpf.o
	$(call quiet_msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

-include $(USER_OBJS:.o=.d) $(UNIT_OBJS:.o=.d) $(BPF_OBJS:.o=.d)

# ---------------------------------------------------------------- top-level flows
# deps.sh --check is a few dpkg-query calls; apt only runs when something is
# missing. The build runs in a sub-make so that a kernel just installed by
# deps.sh is picked up.
DEPS_IF_NEEDED := scripts/deps.sh --check >/dev/null 2>&1 || scripts/deps.sh

deps:
	$(Q)scripts/deps.sh

check:
	$(Q)$(DEPS_IF_NEEDED)
	$(Q)$(MAKE) all warnmod unit
	$(Q)tests/run-check

check-twohost:
	$(Q)$(DEPS_IF_NEEDED)
	$(Q)$(MAKE) all
	$(Q)tests/run-check --twohost

demo:
	$(Q)$(DEPS_IF_NEEDED)
	$(Q)$(MAKE) all
	$(Q)scripts/demo.sh

# The package lane (tests/package/check-package.sh): slow (package build,
# DKMS, a guest boot running the uAPI suite), so not part of `make check`.
.PHONY: check-package
check-package:
	$(Q)$(DEPS_IF_NEEDED)
	$(Q)$(MAKE) all
	$(Q)tests/package/check-package.sh

demo-qemu:
	$(Q)$(DEPS_IF_NEEDED)
	$(Q)$(MAKE) all
	$(Q)scripts/demo-qemu.sh

clean:
	$(call quiet_msg,CLEAN,$(B)/)
	$(Q)rm -rf $(B)

help:
	@sed -n '/^#   make/s/^# *//p' Makefile

FORCE:

# ---------------------------------------------------------------- debug-kernel lane
# make check-debug: build (first run on a machine only; cached under
# /var/cache/vfmig/debug-kernel/) the debug guest kernel of
# scripts/debug-kernel.sh, build the modules against it into build/debug/
# (vfmig.ko, warnmod.ko, the test-only debugmod.ko and, with mk/mtty.mk, the
# mtty/mdpy samples) and run tests/run-check on it. See docs/testing.md,
# "Debug-kernel lane".
.PHONY: check-debug debugmod
debugmod:
	$(Q)scripts/symlink-farm.sh tests/vm/debugmod $(B)/debugmod
	$(Q)$(call KBUILD,debugmod) modules

check-debug:
	$(Q)$(DEPS_IF_NEEDED)
	$(Q)$(MAKE) all warnmod unit
	$(Q)dk=$$(scripts/debug-kernel.sh) && \
	$(MAKE) module warnmod debugmod $(if $(wildcard mk/mtty.mk),mtty) B=$(B)/debug KDIR=$$dk/src && \
	tests/run-check --debug-kernel "$$dk"

# ---------------------------------------------------------------- mdev samples
# mtty.ko / mdpy.ko for migctl's guest tests (owned by migctl; see the file).
include mk/mtty.mk

# ---------------------------------------------------------------- benchmarks
#   make bench          build, benchmarks in one guest boot (bench/run): docs/benchmarks.md
#   make bench-notrace  vfmig.ko with its tracepoints compiled out (kernel/trace.h,
#                       VFMIG_NO_TRACE) into build/bench/notrace/, for the bench only
.PHONY: bench bench-notrace
bench:
	$(Q)$(MAKE) all bench-notrace
	$(Q)bench/run

bench-notrace:
	$(Q)scripts/symlink-farm.sh kernel $(B)/bench/notrace
	$(Q)$(call KBUILD,bench/notrace) KCFLAGS=-DVFMIG_NO_TRACE modules

# ---------------------------------------------------------------- fuzzing
# make fuzz: longer runs of what `make check` samples (docs/testing.md,
# "Stream soak and make fuzz"):
#  - fuzz-parser: the libFuzzer harness tests/fuzz/fuzz_stream.c of
#    tools/lib's stream parser (clang-19, ASan + UBSan) on the host for
#    FUZZ_SECONDS; corpus in build/fuzz/corpus, crashes in build/fuzz/;
#  - fuzz-soak: one guest boot running tests/guest/25-stream-soak.test with
#    FUZZ_STREAMS mutated streams and seed FUZZ_SEED (default: the time).
FUZZ_SECONDS ?= 600
FUZZ_STREAMS ?= 20000
FUZZ_SEED ?= $(shell date +%s)
FUZZ_BIN := $(B)/fuzz/fuzz_stream
FUZZ_SRCS := tests/fuzz/fuzz_stream.c tools/lib/vfmig_stream.c tools/lib/crc32c.c

$(FUZZ_BIN): $(FUZZ_SRCS) tools/lib/vfmig_stream.h tools/lib/crc32c.h include/vfmig_abi.h Makefile
	$(call quiet_msg,CC,$@ [libFuzzer])
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -std=gnu11 -O1 -g -Wall -Wextra -Werror -Iinclude -Itools/lib \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -o $@ $(FUZZ_SRCS)

fuzz-parser: $(FUZZ_BIN)
	$(Q)python3 tests/fuzz/make-seeds.py $(B)/fuzz/seeds
	$(Q)mkdir -p $(B)/fuzz/corpus
	$(FUZZ_BIN) -max_len=20000 -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
		-artifact_prefix=$(B)/fuzz/ $(B)/fuzz/corpus $(B)/fuzz/seeds

fuzz-soak:
	tests/vm/vm-run --timeout $$(( $(FUZZ_STREAMS) / 5 + 900 )) -- \
		'tests/guest/25-stream-soak.test -n $(FUZZ_STREAMS) -s $(FUZZ_SEED)'

fuzz:
	$(Q)$(DEPS_IF_NEEDED)
	$(Q)$(MAKE) all
	$(Q)$(MAKE) fuzz-parser
	$(Q)$(MAKE) fuzz-soak

# ---------------------------------------------------------------- install
include mk/install.mk
