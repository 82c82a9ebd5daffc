LDLIBS_mig-trace := -lbpf -lelf -lz
