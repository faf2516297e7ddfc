#!/usr/bin/env bash
# Writers' output paths that are not regular files: a FIFO (like /dev/null,
# /dev/stdout or a terminal) is written in place, never replaced by a file
# renamed over it; a regular file is still written through a temporary
# file and a rename, leaving no temporary behind.  (Renaming over a device
# path replaced a root user's /dev/null with a file once.)
. "$(dirname "$0")/lib.sh"

# pipeline FILE WRITER OUT: a CSV extract written by WRITER to OUT.
pipeline() {
  cat >"$1" <<YAML
oml_version: "0.1.0"
name: "outputs"
steps:
  - id: e
    component: filesystem.csv_extractor
    mode: read
    config:
      path: in.csv
  - id: w
    component: $2
    mode: write
    needs: [e]
    config:
      path: $3
YAML
}

for fmt in csv parquet; do
  new_case "fifo_$fmt"
  printf 'a,b\n1,x\n2,y\n' >in.csv
  mkfifo out.fifo
  pipeline p.yaml "filesystem.${fmt}_writer" out.fifo
  cat out.fifo >got &
  reader=$!
  run_osiris run p.yaml
  assert_exit 0 "a $fmt writer into a FIFO succeeds"
  if [ -p out.fifo ]; then
    pass "the FIFO is still a FIFO"
  else
    fail "out.fifo was replaced: $(ls -l out.fifo)"
    kill "$reader" 2>/dev/null # it waits on the FIFO nobody writes now
  fi
  wait "$reader"
  assert_eq "" "$(ls ./*.tmp 2>/dev/null)" "no temporary file beside the FIFO"
  if [ "$fmt" = csv ]; then
    assert_eq "$(printf 'a,b\n1,x\n2,y')" "$(cat got)" "the reader got the CSV"
    # runs diff hashes outputs: a FIFO is not read (it would wait for ever)
    first=$(basename "$(newest_run_dir)")
    cat out.fifo >/dev/null &
    reader=$!
    run_osiris run p.yaml
    wait "$reader"
    second=$(basename "$(newest_run_dir)")
    E2E_TIMEOUT=30 run_osiris runs diff "logs/$first" "logs/$second"
    assert_exit 0 "runs diff of two runs writing a FIFO ends, no difference"
  else
    assert_eq "PAR1" "$(head -c 4 got)" "the reader got a Parquet file (head)"
    assert_eq "PAR1" "$(tail -c 4 got)" "the reader got a Parquet file (tail)"
  fi

  new_case "file_$fmt"
  printf 'a,b\n1,x\n2,y\n' >in.csv
  echo old >out.data
  pipeline p.yaml "filesystem.${fmt}_writer" out.data
  run_osiris run p.yaml
  assert_exit 0 "a $fmt writer into a regular file succeeds"
  if [ -f out.data ] && [ "$(head -c 3 out.data)" != old ]; then pass "the file was replaced"; else fail "out.data not written"; fi
  assert_eq "" "$(ls ./*.tmp 2>/dev/null)" "no temporary file left"
done
finish
