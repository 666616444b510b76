.asan/tests/test_logrec.o: tests/test_logrec.c logrec.h \
 ../kmod/uapi/linux/kvmft.h tests/tap.h
logrec.h:
../kmod/uapi/linux/kvmft.h:
tests/tap.h:
