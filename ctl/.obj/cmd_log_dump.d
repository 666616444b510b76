.obj/cmd_log_dump.o: cmd_log_dump.c ftctl.h util.h json.h logrec.h \
 ../kmod/uapi/linux/kvmft.h
ftctl.h:
util.h:
json.h:
logrec.h:
../kmod/uapi/linux/kvmft.h:
