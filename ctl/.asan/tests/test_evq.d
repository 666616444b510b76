.asan/tests/test_evq.o: tests/test_evq.c evq.h vm.h \
 ../kmod/uapi/linux/kvmft.h json.h tests/tap.h
evq.h:
vm.h:
../kmod/uapi/linux/kvmft.h:
json.h:
tests/tap.h:
