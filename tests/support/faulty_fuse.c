// SPDX-License-Identifier: Apache-2.0
// A one-file FUSE file system for tests: /disk.img serves the bytes of a backing image, except
// that any read touching a listed 512-byte sector fails with EIO, as a failing disk does. Reads
// bypass the page cache (direct_io), so the kernel asks for exactly what the reader asked for.
//   usage: faulty_fuse BACKING BAD_SECTORS MOUNTPOINT [FUSE options]
//   BAD_SECTORS: comma-separated sectors or ranges, e.g. 80-95,3000 (or "none")
//   FAULTY_FUSE_DELAY_US in the environment slows every read down by that many microseconds
//   (a slow disk, so that tests can interrupt an acquisition midway).
//   FAULTY_FUSE_EOF_AT=N: the file still claims its full size, but reads end at byte N (a file
//   truncated, or a device that shrank, while it is read).
//   FAULTY_FUSE_GONE_AT=N: reads from byte N on fail with ENODEV (a device that was unplugged).
#define FUSE_USE_VERSION 31
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { k_sector = 512, k_max_ranges = 256 };

static int g_backing = -1;
static off_t g_size = 0;
static long long g_first[k_max_ranges];
static long long g_last[k_max_ranges];
static int g_ranges = 0;
static useconds_t g_delay = 0;
static off_t g_eof_at = -1;
static off_t g_gone_at = -1;

static int is_bad(long long sector) {
  for (int i = 0; i < g_ranges; ++i) {
    if (sector >= g_first[i] && sector <= g_last[i]) {
      return 1;
    }
  }
  return 0;
}

static int fs_getattr(const char* path, struct stat* st, struct fuse_file_info* fi) {
  (void)fi;
  memset(st, 0, sizeof *st);
  if (strcmp(path, "/") == 0) {
    st->st_mode = S_IFDIR | 0755;
    st->st_nlink = 2;
    return 0;
  }
  if (strcmp(path, "/disk.img") == 0) {
    st->st_mode = S_IFREG | 0444;
    st->st_nlink = 1;
    st->st_size = g_size;
    return 0;
  }
  return -ENOENT;
}

static int fs_readdir(const char* path,
                      void* buf,
                      fuse_fill_dir_t fill,
                      off_t offset,
                      struct fuse_file_info* fi,
                      enum fuse_readdir_flags flags) {
  (void)offset;
  (void)fi;
  (void)flags;
  if (strcmp(path, "/") != 0) {
    return -ENOENT;
  }
  fill(buf, ".", NULL, 0, 0);
  fill(buf, "..", NULL, 0, 0);
  fill(buf, "disk.img", NULL, 0, 0);
  return 0;
}

static int fs_open(const char* path, struct fuse_file_info* fi) {
  if (strcmp(path, "/disk.img") != 0) {
    return -ENOENT;
  }
  if ((fi->flags & O_ACCMODE) != O_RDONLY) {
    return -EROFS;
  }
  fi->direct_io = 1;
  return 0;
}

static int fs_read(
    const char* path, char* buf, size_t size, off_t offset, struct fuse_file_info* fi) {
  (void)path;
  (void)fi;
  const off_t end = g_eof_at >= 0 && g_eof_at < g_size ? g_eof_at : g_size;
  if (g_gone_at >= 0 && offset + (off_t)size > g_gone_at) {
    return -ENODEV;
  }
  if (offset >= end) {
    return 0;
  }
  if ((off_t)size > end - offset) {
    size = (size_t)(end - offset);
  }
  for (long long sector = offset / k_sector; sector * k_sector < offset + (off_t)size; ++sector) {
    if (is_bad(sector)) {
      return -EIO;
    }
  }
  if (g_delay > 0) {
    usleep(g_delay);
  }
  ssize_t got = pread(g_backing, buf, size, offset);
  return got < 0 ? -errno : (int)got;
}

static const struct fuse_operations k_operations = {
    .getattr = fs_getattr,
    .readdir = fs_readdir,
    .open = fs_open,
    .read = fs_read,
};

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s BACKING BAD_SECTORS MOUNTPOINT [FUSE options]\n", argv[0]);
    return 64;
  }
  g_backing = open(argv[1], O_RDONLY);
  if (g_backing < 0) {
    perror(argv[1]);
    return 66;
  }
  struct stat st;
  fstat(g_backing, &st);
  g_size = st.st_size;
  const char* delay = getenv("FAULTY_FUSE_DELAY_US");
  if (delay != NULL) {
    g_delay = (useconds_t)strtoul(delay, NULL, 10);
  }
  const char* eof_at = getenv("FAULTY_FUSE_EOF_AT");
  if (eof_at != NULL) {
    g_eof_at = (off_t)strtoll(eof_at, NULL, 10);
  }
  const char* gone_at = getenv("FAULTY_FUSE_GONE_AT");
  if (gone_at != NULL) {
    g_gone_at = (off_t)strtoll(gone_at, NULL, 10);
  }
  for (char* item = strtok(argv[2], ","); item != NULL && g_ranges < k_max_ranges;
       item = strtok(NULL, ",")) {
    long long first = 0;
    long long last = 0;
    int fields = sscanf(item, "%lld-%lld", &first, &last);
    if (fields < 1) {
      continue;  // "none"
    }
    g_first[g_ranges] = first;
    g_last[g_ranges] = fields == 2 ? last : first;
    ++g_ranges;
  }
  // fuse_main sees: program, mountpoint, options.
  argv[2] = argv[0];
  return fuse_main(argc - 2, argv + 2, &k_operations, NULL);
}
