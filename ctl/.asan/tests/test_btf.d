.asan/tests/test_btf.o: tests/test_btf.c btf.h tests/tap.h
btf.h:
tests/tap.h:
