/*
 * wasi_command.c -- a WASI command (a program with main) for the [wasi] tests.
 * Prints its arguments, one a line; "exit N" as arguments calls exit(N) (proc_exit),
 * otherwise main returns the argument count.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    for (int i = 0; i < argc; i++)
        printf("%s\n", argv[i]);
    fflush(stdout);
    if (argc > 2 && strcmp(argv[1], "exit") == 0)
        exit(atoi(argv[2]));
    return argc;
}
