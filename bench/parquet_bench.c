/*
 * parquet_bench -- write and read 1M rows as Parquet and as CSV.
 *
 *   cc -O2 -I. -o bench/out/parquet_bench bench/parquet_bench.c osiris.c -lsqlite3 -lcurl -lm
 *   (link with whatever the Makefile LIBS lists for osiris.c)
 *   bench/out/parquet_bench [rows] [dir]        (defaults: 1000000, /tmp)
 *
 * Columns: id int64, x double, name string (~30 chars, 10% NULL),
 * ts timestamp.  MB/s is file bytes per second of wall time.  The read
 * result is checked against the written frame (row count, a sample of
 * cells) so a fast wrong reader does not look good.
 */
#define _POSIX_C_SOURCE 200809L
#include "osiris.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double file_mb(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (double)st.st_size / 1e6 : 0;
}

static int same_sample(const osiris_frame *a, const osiris_frame *b) {
  size_t r, rows = osiris_frame_rows(a);
  if (rows != osiris_frame_rows(b) || osiris_frame_cols(a) != osiris_frame_cols(b)) return 0;
  for (r = 0; r < rows; r += rows / 997 + 1) {
    size_t c;
    for (c = 0; c < osiris_frame_cols(a); c++) {
      char b1[64], b2[64];
      size_t l1, l2;
      int n1, n2;
      const char *s1 = osiris_frame_format(a, c, r, b1, sizeof b1, &l1, &n1);
      const char *s2 = osiris_frame_format(b, c, r, b2, sizeof b2, &l2, &n2);
      if (n1 != n2 || l1 != l2 || memcmp(s1, s2, l1) != 0) return 0;
    }
  }
  return 1;
}

int main(int argc, char **argv) {
  size_t rows = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 1000000, r;
  const char *dir = argc > 2 ? argv[2] : "/tmp";
  char pq[512], csv[512], err[512];
  osiris_frame *f = osiris_frame_new(), *g = NULL;
  osiris_csv_opts co;
  double t0, t, mb;
  int ok = 1;
  snprintf(pq, sizeof pq, "%s/osiris_bench.parquet", dir);
  snprintf(csv, sizeof csv, "%s/osiris_bench.csv", dir);
  memset(&co, 0, sizeof co);
  co.header = 1;
  co.infer_types = 1;
  co.limit = -1;
  osiris_frame_add_column(f, "id", OSIRIS_TYPE_INT64, 0);
  osiris_frame_add_column(f, "x", OSIRIS_TYPE_DOUBLE, 0);
  osiris_frame_add_column(f, "name", OSIRIS_TYPE_STRING, 0);
  osiris_frame_add_column(f, "ts", OSIRIS_TYPE_TIMESTAMP, 0);
  t0 = now_s();
  for (r = 0; r < rows; r++) {
    char name[64];
    int n = snprintf(name, sizeof name, "customer %08zu of the bench", r * 2654435761u % 100000000);
    osiris_frame_append_int64(f, 0, (int64_t)r);
    osiris_frame_append_double(f, 1, (double)r * 0.37 - 1234.5);
    if (r % 10 == 7) osiris_frame_append_null(f, 2);
    else osiris_frame_append_text(f, 2, name, (size_t)n);
    osiris_frame_append_timestamp(f, 3, INT64_C(1700000000000000) + (int64_t)r * 1000003);
    if (osiris_frame_end_row(f) != OSIRIS_OK) {
      fprintf(stderr, "frame build failed\n");
      return 1;
    }
  }
  printf("rows %zu, frame %.1f MB, built in %.3f s\n", rows, (double)osiris_frame_bytes(f) / 1e6, now_s() - t0);

  t0 = now_s();
  if (osiris_parquet_write(pq, f, NULL, err, sizeof err)) {
    fprintf(stderr, "parquet write: %s\n", err);
    return 1;
  }
  t = now_s() - t0, mb = file_mb(pq);
  printf("parquet write  %7.3f s  %7.1f MB  %8.1f MB/s\n", t, mb, mb / t);
  t0 = now_s();
  if (osiris_parquet_read(pq, &g, err, sizeof err)) {
    fprintf(stderr, "parquet read: %s\n", err);
    return 1;
  }
  t = now_s() - t0;
  printf("parquet read   %7.3f s  %7.1f MB  %8.1f MB/s  %s\n", t, mb, mb / t, same_sample(f, g) ? "ok" : "MISMATCH");
  ok &= same_sample(f, g);
  osiris_frame_free(g);
  g = NULL;

  t0 = now_s();
  if (osiris_csv_write(csv, f, &co, err, sizeof err)) {
    fprintf(stderr, "csv write: %s\n", err);
    return 1;
  }
  t = now_s() - t0, mb = file_mb(csv);
  printf("csv write      %7.3f s  %7.1f MB  %8.1f MB/s\n", t, mb, mb / t);
  t0 = now_s();
  if (osiris_csv_read(csv, &co, &g, err, sizeof err)) {
    fprintf(stderr, "csv read: %s\n", err);
    return 1;
  }
  t = now_s() - t0;
  printf("csv read       %7.3f s  %7.1f MB  %8.1f MB/s  (%zu rows)\n", t, mb, mb / t, osiris_frame_rows(g));
  osiris_frame_free(g);
  osiris_frame_free(f);
  remove(pq);
  remove(csv);
  return ok ? 0 : 1;
}
