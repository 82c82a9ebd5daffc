# The one place that pins the guest kernel. Everything else derives from it.
# When Debian's archive drops this build, scripts/deps.sh falls back to the
# newest 6.12 "+deb12" build it can find and says so loudly.
VFMIG_KVER_PIN := 6.12.117+deb12-amd64
