.asan/evq.o: evq.c evq.h vm.h ../kmod/uapi/linux/kvmft.h json.h
evq.h:
vm.h:
../kmod/uapi/linux/kvmft.h:
json.h:
