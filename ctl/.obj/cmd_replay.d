.obj/cmd_replay.o: cmd_replay.c ftctl.h util.h logrec.h \
 ../kmod/uapi/linux/kvmft.h
ftctl.h:
util.h:
logrec.h:
../kmod/uapi/linux/kvmft.h:
