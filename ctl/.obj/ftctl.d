.obj/ftctl.o: ftctl.c ftctl.h util.h
ftctl.h:
util.h:
