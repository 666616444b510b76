.asan/logrec.o: logrec.c logrec.h ../kmod/uapi/linux/kvmft.h
logrec.h:
../kmod/uapi/linux/kvmft.h:
