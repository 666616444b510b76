.obj/cmd_record.o: cmd_record.c ftctl.h util.h logrec.h \
 ../kmod/uapi/linux/kvmft.h
ftctl.h:
util.h:
logrec.h:
../kmod/uapi/linux/kvmft.h:
