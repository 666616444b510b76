.asan/tests/test_json.o: tests/test_json.c json.h tests/tap.h vm.h \
 ../kmod/uapi/linux/kvmft.h json.h
json.h:
tests/tap.h:
vm.h:
../kmod/uapi/linux/kvmft.h:
json.h:
