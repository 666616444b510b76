.asan/btf.o: btf.c btf.h
btf.h:
