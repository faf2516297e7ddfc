/* Compiles db_drivers.inc alone with the project's warning flags:
 *   cc -std=c11 -Wall -Wextra -Wshadow -Wundef -Wmissing-prototypes -Werror \
 *      $(mariadb_config --cflags) -I$(pg_config --includedir) -c tests/db/compile_check.c */
#include "../../osiris.h"
#include "../../db_drivers.inc"

int main(void) {
  osiris_rc (*fn)(osiris_ctx *) = drv_db_register;
  return fn ? 0 : 1;
}
