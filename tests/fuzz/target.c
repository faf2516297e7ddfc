/* tests/fuzz/target.c -- one libFuzzer target of tests/fuzz/fuzz.c:
 * compiled with -DFZ_TARGET='"<name>"' and linked with the engine's
 * fuzz.o into tests/bin/fuzz/<name>. */
#include <stddef.h>
#include <stdint.h>

int fz_pick(const char *name);
int fz_one(int target, const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int target = -1;
  if (target < 0) target = fz_pick(FZ_TARGET);
  return fz_one(target, data, size);
}
