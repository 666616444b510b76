.obj/cmd_exits.o: cmd_exits.c ../bpf/.output/kvmft_exits.skel.h \
 ../bpf/kvmft_exits.h
../bpf/.output/kvmft_exits.skel.h:
../bpf/kvmft_exits.h:
