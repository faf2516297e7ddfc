/* A 30-line test harness: CHECK* record failures; main() runs the tests
 * listed with RUN() and prints "N passed, N failed" as its last line. */
#ifndef OSIRIS_TEST_HARNESS_H
#define OSIRIS_TEST_HARNESS_H
#include <stdio.h>
#include <string.h>
static int th_passed, th_failed;
static const char *th_current = "";
#define CHECK(cond)                                                              \
  do {                                                                           \
    if (cond) th_passed++;                                                       \
    else {                                                                       \
      th_failed++;                                                               \
      fprintf(stderr, "FAIL %s:%d [%s]: %s\n", __FILE__, __LINE__, th_current, #cond); \
    }                                                                            \
  } while (0)
#define CHECK_STR(a, b)                                                          \
  do {                                                                           \
    const char *th_a = (a), *th_b = (b);                                         \
    int th_ok = th_a && th_b && strcmp(th_a, th_b) == 0;                         \
    CHECK(th_ok);                                                                \
    if (!th_ok) fprintf(stderr, "  got  \"%s\"\n  want \"%s\"\n", th_a ? th_a : "(null)", th_b ? th_b : "(null)"); \
  } while (0)
#define CHECK_RC(rc, want) CHECK((int)(rc) == (int)(want))
#define RUN(fn) (th_current = #fn, fn())
static int th_report(void) {
  printf("%d passed, %d failed\n", th_passed, th_failed);
  return th_failed ? 1 : 0;
}
#endif
