/*
 * wasi_files.c -- a WASI command that works with files, for the [wasi] tests: run with
 * /data preopened read-only (holding file.txt) and /out read-write (empty), it prints one
 * line per step: what it did and the result (0, a value, or the errno's name).
 */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *name(int code) {
    switch (code) {
    case 0: return "0";
    case EACCES: return "EACCES";
    case EBADF: return "EBADF";
    case EEXIST: return "EEXIST";
    case EINVAL: return "EINVAL";
    case EISDIR: return "EISDIR";
    case ELOOP: return "ELOOP";
    case ENOENT: return "ENOENT";
    case ENOTCAPABLE: return "ENOTCAPABLE";
    case ENOTDIR: return "ENOTDIR";
    case ENOTEMPTY: return "ENOTEMPTY";
    case EPERM: return "EPERM";
    case ESPIPE: return "ESPIPE";
    default: return "other";
    }
}

static void step(const char *what, int result) {
    printf("%s: %s\n", what, result < 0 ? name(errno) : name(0));
}

static void contents(const char *path) {
    char buffer[64] = {0};
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        printf("read %s: %s\n", path, name(errno));
        return;
    }
    size_t n = fread(buffer, 1, sizeof buffer - 1, f);
    fclose(f);
    printf("read %s: %.*s\n", path, (int)n, buffer);
}

static void listing(const char *path) {
    DIR *dir = opendir(path);
    if (dir == NULL) {
        printf("list %s: %s\n", path, name(errno));
        return;
    }
    char names[8][32];
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL && count < 8)
        if (strcmp(entry->d_name, ".") && strcmp(entry->d_name, ".."))
            snprintf(names[count++], sizeof names[0], "%s%s", entry->d_name,
                     entry->d_type == DT_DIR ? "/" : entry->d_type == DT_LNK ? "@" : "");
    closedir(dir);
    qsort(names, count, sizeof names[0], (int (*)(const void *, const void *))strcmp);
    printf("list %s:", path);
    for (int i = 0; i < count; i++)
        printf(" %s", names[i]);
    printf("\n");
}

int main(void) {
    struct stat st;
    step("mkdir /out/d", mkdir("/out/d", 0777));
    step("mkdir /out/d again", mkdir("/out/d", 0777));

    FILE *f = fopen("/out/d/a.txt", "w+");
    fputs("hello world", f);
    fseek(f, 5, SEEK_SET);
    printf("tell: %ld\n", ftell(f));
    fputs("XX", f);
    fseek(f, -3, SEEK_END);
    char tail[4] = {0};
    printf("tail: %zu %s\n", fread(tail, 1, 3, f), tail);
    fclose(f);
    contents("/out/d/a.txt");

    int fd = open("/out/d/a.txt", O_WRONLY | O_APPEND);
    step("append", (int)write(fd, "!", 1) - 1);
    close(fd);
    contents("/out/d/a.txt");
    step("truncate", truncate("/out/d/a.txt", 5));
    contents("/out/d/a.txt");
    step("exclusive create", open("/out/d/a.txt", O_WRONLY | O_CREAT | O_EXCL, 0666));

    step("stat", stat("/out/d/a.txt", &st));
    printf("size %lld regular %d\n", (long long)st.st_size, S_ISREG(st.st_mode));
    step("rename", rename("/out/d/a.txt", "/out/d/b.txt"));
    contents("/out/d/a.txt");
    step("symlink", symlink("b.txt", "/out/d/l.txt"));
    char target[32] = {0};
    printf("readlink: %zd %s\n", readlink("/out/d/l.txt", target, sizeof target - 1), target);
    step("lstat", lstat("/out/d/l.txt", &st));
    printf("link %d\n", S_ISLNK(st.st_mode));
    contents("/out/d/l.txt");
    step("symlink out", symlink("../../data/file.txt", "/out/d/out.txt"));
    contents("/out/d/out.txt");
    step("mkdir /out/d/e", mkdir("/out/d/e", 0777));
    listing("/out/d");
    listing("/data");
    step("open a folder for writing", open("/out/d", O_WRONLY));
    step("rmdir non-empty", rmdir("/out/d"));
    step("unlink a folder", unlink("/out/d/e"));
    step("unlink", unlink("/out/d/l.txt"));
    step("unlink", unlink("/out/d/out.txt"));
    step("unlink", unlink("/out/d/b.txt"));
    step("rmdir", rmdir("/out/d/e"));
    step("rmdir", rmdir("/out/d"));
    listing("/out");
    step("rmdir a preopen's parent", rmdir("/out/.."));

    step("mkdir read-only", mkdir("/data/x", 0777));
    step("unlink read-only", unlink("/data/file.txt"));
    step("rename read-only", rename("/data/file.txt", "/data/moved.txt"));
    step("rename out of read-only", rename("/data/file.txt", "/out/moved.txt"));
    step("stat read-only", stat("/data/file.txt", &st));
    printf("size %lld\n", (long long)st.st_size);
    contents("/data/file.txt");
    step("stat outside", stat("/data/../x", &st));

    step("seek stdout", (int)lseek(1, 0, SEEK_CUR));

    struct timespec a, b, pause = {0, 20 * 1000 * 1000};
    clock_gettime(CLOCK_REALTIME, &a);
    printf("after 2020: %d\n", a.tv_sec > 1577836800);
    clock_gettime(CLOCK_MONOTONIC, &a);
    nanosleep(&pause, NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long long slept = (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
    printf("slept 20 ms: %d\n", slept >= 19 * 1000 * 1000);
    unsigned char random[32] = {0};
    step("getentropy", getentropy(random, sizeof random));
    int zeros = 0;
    for (size_t i = 0; i < sizeof random; i++)
        zeros += random[i] == 0;
    printf("random: %d\n", zeros < 8);
    return 0;
}
