/* Unit tests of posthog.extractor's helpers (drivers.c section 3c): time
 * parsing and formatting with offsets, ClickHouse type mapping, HogQL
 * literal escaping and the page query, the dedup key set and the ring of
 * recent keys.  The driver end to end is tests/e2e/posthog.sh. */
#include "../osiris.c"
#include "../drivers.c"
#include "harness.h"

static int64_t ts_of(const char *s) {
  int64_t us = INT64_MIN;
  if (!drv_ph_parse_time(s, strlen(s), &us)) return INT64_MIN;
  return us;
}

static void test_times(void) {
  const int64_t t = INT64_C(1705314600) * 1000000; /* 2024-01-15T10:30:00Z */
  char buf[48];
  CHECK(ts_of("2024-01-15T10:30:00Z") == t);
  CHECK(ts_of("2024-01-15T10:30:00.123456+00:00") == t + 123456);
  CHECK(ts_of("2024-01-15 10:30:00") == t); /* naive: UTC */
  CHECK(ts_of("2024-01-15T12:30:00+02:00") == t);
  CHECK(ts_of("2024-01-15T05:00:00.5-05:30") == t + 500000);
  CHECK(ts_of("2024-01-15T12:30:00+0200") == t);
  CHECK(ts_of("2024-01-15") == t - (10 * 3600 + 1800) * INT64_C(1000000));
  CHECK(ts_of("2024-13-01T00:00:00Z") == INT64_MIN);
  CHECK(ts_of("2024-01-15T10:30:00+25:00") == INT64_MIN);
  CHECK(ts_of("yesterday") == INT64_MIN);
  CHECK(ts_of("") == INT64_MIN);
  drv_ph_fmt_time(t + 42, buf, sizeof buf);
  CHECK_STR(buf, "2024-01-15T10:30:00.000042Z");
  CHECK(ts_of(buf) == t + 42);
  drv_ph_fmt_time(-1, buf, sizeof buf); /* before the epoch */
  CHECK_STR(buf, "1969-12-31T23:59:59.999999Z");
  CHECK(ts_of(buf) == -1);
}

static void test_types(void) {
  CHECK(drv_ph_map_type("DateTime64(6, 'UTC')") == OSIRIS_TYPE_TIMESTAMP);
  CHECK(drv_ph_map_type("Nullable(DateTime('UTC'))") == OSIRIS_TYPE_TIMESTAMP);
  CHECK(drv_ph_map_type("Date32") == OSIRIS_TYPE_DATE);
  CHECK(drv_ph_map_type("UInt64") == OSIRIS_TYPE_INT64);
  CHECK(drv_ph_map_type("Nullable(Int8)") == OSIRIS_TYPE_INT64);
  CHECK(drv_ph_map_type("Float64") == OSIRIS_TYPE_DOUBLE);
  CHECK(drv_ph_map_type("Decimal(10, 2)") == OSIRIS_TYPE_DOUBLE);
  CHECK(drv_ph_map_type("Bool") == OSIRIS_TYPE_BOOL);
  CHECK(drv_ph_map_type("LowCardinality(String)") == OSIRIS_TYPE_STRING);
  CHECK(drv_ph_map_type("UUID") == OSIRIS_TYPE_STRING);
  CHECK(drv_ph_map_type("Array(String)") == OSIRIS_TYPE_STRING);
}

static void test_query(void) {
  drv_ph p;
  osiris_buf q = {0};
  const char *types[] = {"page'view", "back\\slash", NULL};
  memset(&p, 0, sizeof p);
  p.kind = drv_ph_kind_find("EVENTS"); /* case-insensitive, as validate */
  CHECK(p.kind && strcmp(p.kind->data_type, "events") == 0);
  CHECK(drv_ph_kind_find("cohorts") == NULL);
  p.page_size = 500;
  p.since = INT64_C(1704067200) * 1000000; /* 2024-01-01 */
  p.until = p.since + 86400 * INT64_C(1000000);
  p.event_types = types;
  drv_ph_build_query(&p, &q);
  CHECK_STR(q.p, "SELECT uuid, event, timestamp, distinct_id, person_id, properties FROM events "
                 "WHERE timestamp >= toDateTime('2024-01-01T00:00:00.000000Z') AND timestamp < "
                 "toDateTime('2024-01-02T00:00:00.000000Z') AND event IN ('page\\'view', "
                 "'back\\\\slash') ORDER BY timestamp ASC, uuid ASC LIMIT 500");
  osiris_buf_free(&q);
  p.have_last = 1;
  p.last_ts = p.since + 1;
  p.last_key = (char *)"k'1";
  p.event_types = NULL;
  drv_ph_build_query(&p, &q);
  CHECK(strstr(q.p, " AND (timestamp > toDateTime('2024-01-01T00:00:00.000001Z') OR (timestamp = "
                    "toDateTime('2024-01-01T00:00:00.000001Z') AND uuid > 'k\\'1')) ORDER BY") != NULL);
  osiris_buf_free(&q);
  p.kind = drv_ph_kind_find("person_distinct_ids");
  drv_ph_build_query(&p, &q);
  CHECK_STR(q.p, "SELECT distinct_id, person_id FROM person_distinct_ids WHERE distinct_id > 'k\\'1' "
                 "ORDER BY distinct_id ASC LIMIT 500");
  osiris_buf_free(&q);
}

static void test_key_set(void) {
  drv_ph_set set = {0};
  char key[32];
  int i, all = 1;
  for (i = 0; i < 5000; i++) {
    snprintf(key, sizeof key, "uuid-%d", i);
    if (drv_ph_set_add(&set, key, strlen(key)) != 0) all = 0;
  }
  CHECK(all);
  CHECK_RC(drv_ph_set_add(&set, "uuid-7", 6), 0); /* already there */
  CHECK(set.n == 5000);
  for (i = 0; i < 5000; i++) {
    snprintf(key, sizeof key, "uuid-%d", i);
    if (!drv_ph_set_has(&set, key, strlen(key))) all = 0;
  }
  CHECK(all);
  CHECK(!drv_ph_set_has(&set, "uuid-5000", 9));
  CHECK(!drv_ph_set_has(&set, "uuid-1", 5)); /* a prefix of a key is not the key */
  drv_ph_set_free(&set);
  CHECK(!drv_ph_set_has(&set, "uuid-1", 6));
}

static void test_recent_ring(void) {
  drv_ph_recent r = {0};
  char key[32];
  size_t i;
  int pushed = 1;
  for (i = 0; i < DRV_PH_RECENT_MAX + 5; i++) {
    snprintf(key, sizeof key, "k%zu", i);
    if (drv_ph_recent_push(&r, (int64_t)i, key, strlen(key)) != 0) pushed = 0;
  }
  CHECK(pushed);
  CHECK(r.n == DRV_PH_RECENT_MAX); /* bounded: the five oldest went */
  CHECK(r.ts[r.head] == 5);
  CHECK_STR(r.key[r.head], "k5");
  CHECK(r.ts[(r.head + r.n - 1) % DRV_PH_RECENT_MAX] == DRV_PH_RECENT_MAX + 4);
  drv_ph_recent_free(&r);
  CHECK(r.n == 0 && r.key == NULL);
}

int main(void) {
  RUN(test_times);
  RUN(test_types);
  RUN(test_query);
  RUN(test_key_set);
  RUN(test_recent_ring);
  return th_report();
}
