# Linux's own mdev samples, for migctl's interop and failure tests
# (tests/guest/32-migctl-mtty.test, 33-migctl-failures.test):
#   mtty.ko  a serial-port mdev with the migration uAPI (PRE_COPY|P2P), an
#            independent implementation that returns 0 instead of -ENOMSG
#            at a temporary end of stream;
#   mdpy.ko  a display mdev without migration support.
# Built out of tree from Debian's linux-source tarball into build/mtty/
# (extracted once: scanning the tarball takes ~15 s).
MTTY_B := $(B)/mtty
MTTY_SRC := samples/vfio-mdev/mtty.c samples/vfio-mdev/mdpy.c samples/vfio-mdev/mdpy-defs.h

.PHONY: mtty
all: mtty

$(MTTY_B)/.extracted: $(LINUX_SOURCE_TAR) mk/mtty.mk
	$(call quiet_msg,EXTRACT,mtty.c mdpy.c from $(LINUX_SOURCE_TAR))
	$(Q)test -r $(LINUX_SOURCE_TAR) || { echo "$(LINUX_SOURCE_TAR) missing: make deps" >&2; exit 1; }
	$(Q)mkdir -p $(MTTY_B)
	$(Q)tar -xJf $(LINUX_SOURCE_TAR) -C $(MTTY_B) --strip-components=3 \
		$(MTTY_SRC:%=linux-source-$(KVER_MAJMIN)/%)
	$(Q)printf 'obj-m := mtty.o mdpy.o\n' > $(MTTY_B)/Kbuild
	$(Q)touch $@

mtty: $(MTTY_B)/.extracted
	$(Q)$(MAKE) -C $(KDIR) M=$(ABS_B)/mtty modules >$(MTTY_B)/build.log 2>&1 || \
		{ cat $(MTTY_B)/build.log >&2; exit 1; }
