# The one place that pins the guest kernel. Everything else derives from it.
# When Debian's archive drops this build, scripts/deps.sh falls back to the
# newest 6.12 "+deb12" build it can find and says so loudly.
VFMIG_KVER_PIN := 6.12.117+deb12-amd64

# QEMU 10 for the VMM tests (tests/guest/60-qemu-migrate.test, make demo-qemu):
# bookworm ships 7.2 (VFIO migration v1 only), so scripts/deps.sh unpacks the
# series below from Debian's bookworm-backports into a private prefix, which
# the test guest sees through the host root share. scripts/qemu10.sh prints
# the command line to run it.
VFMIG_QEMU10_SERIES := 10.0
VFMIG_QEMU10_PREFIX := /opt/vfmig-qemu10

# The release: make install, the DKMS tree (/usr/src/vfmig-$(VFMIG_VERSION)),
# the tools' --version, the man pages' footer and debian/changelog carry it
# (tests/host checks).
VFMIG_VERSION := 0.2
