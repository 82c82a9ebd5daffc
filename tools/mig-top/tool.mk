LDLIBS_mig-top := -lbpf -lelf -lz -lncursesw
