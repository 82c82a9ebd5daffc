# make install / make uninstall (README.md, "Install"). Included by the top
# Makefile. Everything goes under $(DESTDIR); the directories are variables
# so a distribution can place them (debian/rules does).
#
#   make install [PREFIX=/usr/local] [DESTDIR=...]   tools, man pages, docs,
#                    completion, systemd unit, examples and the DKMS source
#   make install-tools / install-dkms                 either half
#   make uninstall [PREFIX=...] [DESTDIR=...]         removes what install put
#
# The DKMS source goes to $(DKMSDIR)/vfmig-$(VFMIG_VERSION) (default /usr/src,
# whatever PREFIX is: dkms looks there), with its dkms.conf; `dkms install
# vfmig/$(VFMIG_VERSION)` then builds vfmig.ko for a kernel.
PREFIX ?= /usr/local
DESTDIR ?=
SBINDIR ?= $(PREFIX)/sbin
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share/vfmig
DOCDIR ?= $(PREFIX)/share/doc/vfmig
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
DKMSDIR ?= /usr/src

INSTALL ?= install
D_SRC := $(DESTDIR)$(DKMSDIR)/vfmig-$(VFMIG_VERSION)

# Tools in sbin need root (BPF, VFIO devices); mig-trace's `check` does not.
INST_SBIN := mig-top migctl
INST_BIN := mig-trace
INST_MAN := man/mig-top.8 man/migctl.8 man/mig-trace.1 man/vfmig.4
INST_DOCS := README.md $(wildcard docs/*.md docs/*.svg)
INST_COMP := mig-top migctl mig-trace
DKMS_FILES := $(wildcard kernel/*.c kernel/*.h) kernel/Kbuild include/vfmig_abi.h

# What the unit and dkms.conf templates get.
SUBST = sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@VERSION@|$(VFMIG_VERSION)|g' \
	-e 's|@TEXTFILE_DIR@|$(TEXTFILE_DIR)|g'
# node_exporter's textfile directory on Debian (prometheus-node-exporter's
# /etc/default/prometheus-node-exporter), where the unit writes vfmig.prom.
TEXTFILE_DIR ?= /var/lib/prometheus/node-exporter

.PHONY: install install-tools install-dkms uninstall
install: install-tools install-dkms

install-tools: tools
	$(call quiet_msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man4 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(DATADIR)/perf $(DESTDIR)$(DATADIR)/examples $(DESTDIR)$(DOCDIR) \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(SYSTEMDUNITDIR)
	$(Q)$(INSTALL) -m 0755 $(INST_SBIN:%=$(B)/bin/%) $(DESTDIR)$(SBINDIR)/
	$(Q)$(INSTALL) -m 0755 $(INST_BIN:%=$(B)/bin/%) $(DESTDIR)$(BINDIR)/
	$(Q)for m in $(INST_MAN); do \
		$(INSTALL) -m 0644 $$m $(DESTDIR)$(MANDIR)/man$${m##*.}/ || exit; done
	$(Q)$(INSTALL) -m 0644 tools/perf/vfmig-downtime.py $(DESTDIR)$(DATADIR)/perf/
	$(Q)$(INSTALL) -m 0644 tests/guest/52-trace-check.spec \
		$(DESTDIR)$(DATADIR)/examples/migration.spec
	$(Q)$(INSTALL) -m 0644 packaging/vfmig-alerts.yml $(DESTDIR)$(DATADIR)/examples/
	$(Q)$(INSTALL) -m 0644 $(INST_DOCS) $(DESTDIR)$(DOCDIR)/
	$(Q)$(INSTALL) -m 0644 packaging/bash-completion $(DESTDIR)$(BASHCOMPDIR)/mig-top
	$(Q)ln -sf mig-top $(DESTDIR)$(BASHCOMPDIR)/migctl
	$(Q)ln -sf mig-top $(DESTDIR)$(BASHCOMPDIR)/mig-trace
	$(Q)$(SUBST) packaging/mig-top.service.in > $(DESTDIR)$(SYSTEMDUNITDIR)/mig-top.service
	$(Q)chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/mig-top.service

install-dkms:
	$(call quiet_msg,INSTALL,$(D_SRC))
	$(Q)$(INSTALL) -d $(D_SRC)/kernel $(D_SRC)/include
	$(Q)$(INSTALL) -m 0644 $(filter kernel/%,$(DKMS_FILES)) $(D_SRC)/kernel/
	$(Q)$(INSTALL) -m 0644 $(filter include/%,$(DKMS_FILES)) $(D_SRC)/include/
	$(Q)$(SUBST) packaging/dkms.conf.in > $(D_SRC)/dkms.conf
	$(Q)chmod 0644 $(D_SRC)/dkms.conf

uninstall:
	$(call quiet_msg,UNINSTALL,$(DESTDIR)$(PREFIX) $(D_SRC))
	$(Q)rm -f $(INST_SBIN:%=$(DESTDIR)$(SBINDIR)/%) $(INST_BIN:%=$(DESTDIR)$(BINDIR)/%) \
		$(foreach m,$(INST_MAN),$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(notdir $(m))) \
		$(INST_COMP:%=$(DESTDIR)$(BASHCOMPDIR)/%) $(DESTDIR)$(SYSTEMDUNITDIR)/mig-top.service
	$(Q)rm -rf $(DESTDIR)$(DATADIR) $(DESTDIR)$(DOCDIR) $(D_SRC)
