// Cross-checks of the osiris Parquet writer/reader with independent tools.
//
//   node check.mjs read DIR          read DIR/ours_*.parquet (written by
//                                    `test_parquet --export DIR`) with
//                                    hyparquet and DuckDB; compare every
//                                    value with DIR/ours_*.json
//   node check.mjs write DIR OURS    write DIR/duck_*.parquet with DuckDB
//                                    and DIR/pj_*.parquet with parquetjs
//                                    (data page v2), + *.json expectations,
//                                    for `test_parquet --verify-dir DIR`
//
// Both print "N passed, N failed" as their last line.
import fs from 'node:fs'
import path from 'node:path'
import { parquetMetadata, parquetReadObjects } from 'hyparquet'
import { DuckDBInstance } from '@duckdb/node-api'
import parquetjs from '@dsnp/parquetjs'

let passed = 0
let failed = 0
const failures = []
function check(ok, msg) {
  if (ok) passed++
  else {
    failed++
    if (failures.length < 40) failures.push(msg)
    if (failures.length <= 40) console.error('FAIL ' + msg)
  }
}

const isNull = v => v === null || v === undefined
const sq = s => `'${String(s).replace(/'/g, "''")}'`
const qid = s => `"${String(s).replace(/"/g, '""')}"`

function toArrayBuffer(buf) {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)
}

// Big-endian two's complement bytes -> BigInt.
function beToBigInt(bytes) {
  let v = 0n
  for (const b of bytes) v = (v << 8n) | BigInt(b)
  if (bytes.length && bytes[0] & 0x80) v -= 1n << BigInt(8 * bytes.length)
  return v
}

// Canonical decimal text of an unscaled BigInt.
function decText(v, scale) {
  const neg = v < 0n
  let s = (neg ? -v : v).toString().padStart(scale + 1, '0')
  if (scale > 0) s = s.slice(0, s.length - scale) + '.' + s.slice(s.length - scale)
  return (neg ? '-' : '') + s
}

function sameDouble(got, want) {
  const w = Number(want)
  if (Number.isNaN(w)) return Number.isNaN(got)
  return Object.is(got, w) || (got === w)
}

const parsers = {
  timestampFromMilliseconds: v => BigInt(v) * 1000n,
  timestampFromMicroseconds: v => BigInt(v),
  timestampFromNanoseconds: v => BigInt(v) / 1000n,
  dateFromDays: v => v,
}

// ------------------------------------------------------- read: hyparquet
async function hyparquetCheck(exp, name) {
  const ab = toArrayBuffer(fs.readFileSync(exp.file))
  const rows = await parquetReadObjects({ file: ab, parsers })
  check(rows.length === exp.rows.length, `${name}: hyparquet row count ${rows.length} != ${exp.rows.length}`)
  // Exact decimals: the same read with the DECIMAL annotation removed
  // gives the raw big-endian bytes.
  const md = parquetMetadata(ab)
  for (const el of md.schema) {
    if (el.converted_type === 'DECIMAL') {
      delete el.converted_type
      delete el.logical_type
    }
  }
  const raw = await parquetReadObjects({ file: ab, metadata: md, parsers, utf8: false })
  exp.columns.forEach((col, c) => {
    let bad = 0
    for (let r = 0; r < exp.rows.length && r < rows.length; r++) {
      const want = exp.rows[r][c]
      const got = rows[r][col.name]
      let ok
      if (want === null) ok = isNull(got)
      else if (isNull(got)) ok = false
      else switch (col.type) {
        case 'bool': ok = got === want; break
        case 'int64': ok = typeof got === 'bigint' && got.toString() === want; break
        case 'timestamp': ok = typeof got === 'bigint' && got.toString() === want; break
        case 'date': ok = got === want; break
        case 'double': ok = sameDouble(got, want); break
        case 'string': ok = got === want; break
        case 'decimal': {
          const w = Number(want)
          ok = Math.abs(got - w) <= 1e-12 * Math.max(1, Math.abs(w))
          const rawv = raw[r][col.name]
          ok = ok && rawv instanceof Uint8Array && decText(beToBigInt(rawv), col.scale) === want
          break
        }
        default: ok = false
      }
      if (!ok && bad++ < 5) check(false, `${name}: hyparquet ${col.name} row ${r}: got ${String(got)} want ${want}`)
    }
    check(bad === 0, `${name}: hyparquet column ${col.name}: ${bad} mismatches`)
  })
}

// ---------------------------------------------------------- read: DuckDB
const duckType = col => ({
  bool: 'BOOLEAN', int64: 'BIGINT', double: 'DOUBLE', string: 'VARCHAR', date: 'DATE',
  timestamp: 'TIMESTAMP WITH TIME ZONE',
}[col.type])

function selectExpr(col) {
  const q = qid(col.name)
  switch (col.type) {
    case 'bool': return q
    case 'int64': case 'decimal': return `CAST(${q} AS VARCHAR)`
    case 'double': return `CAST(${q} AS DOUBLE)`
    case 'string': return q
    case 'date': return `CAST(datediff('day', DATE '1970-01-01', ${q}) AS INTEGER)`
    case 'timestamp': return `CAST(epoch_us(${q}) AS VARCHAR)`
  }
}

function literal(col, want) {
  switch (col.type) {
    case 'int64': return want
    case 'double': return `CAST(${sq(want)} AS DOUBLE)`
    case 'string': return sq(want)
    case 'date': return `(DATE '1970-01-01' + ${want})`
    case 'timestamp': return `make_timestamptz(${want}::BIGINT)`
    case 'decimal': return `CAST(${sq(want)} AS DECIMAL(38,${col.scale}))`
  }
  return null
}

async function duckCheck(con, exp, name) {
  const f = sq(exp.file)
  const desc = (await con.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${f})`)).getRows()
  check(desc.length === exp.columns.length, `${name}: DuckDB sees ${desc.length} columns`)
  exp.columns.forEach((col, c) => {
    const t = desc[c] ? String(desc[c][1]) : '?'
    const ok = col.type === 'decimal' ? new RegExp(`^DECIMAL\\(\\d+,${col.scale}\\)$`).test(t) : t === duckType(col)
    check(ok && desc[c][0] === col.name, `${name}: DuckDB column ${c} is ${desc[c] && desc[c][0]} ${t}, want ${col.name} ${col.type}`)
  })
  if (!exp.columns.length) return
  const sel = exp.columns.map(selectExpr).join(', ')
  const rows = (await con.runAndReadAll(
    `SELECT ${sel} FROM read_parquet(${f}, file_row_number = true) ORDER BY file_row_number`)).getRows()
  check(rows.length === exp.rows.length, `${name}: DuckDB row count ${rows.length} != ${exp.rows.length}`)
  exp.columns.forEach((col, c) => {
    let bad = 0
    for (let r = 0; r < exp.rows.length && r < rows.length; r++) {
      const want = exp.rows[r][c]
      const got = rows[r][c]
      let ok
      if (want === null) ok = isNull(got)
      else if (isNull(got)) ok = false
      else if (col.type === 'double') ok = sameDouble(got, want)
      else ok = got === want
      if (!ok && bad++ < 5) check(false, `${name}: DuckDB ${col.name} row ${r}: got ${String(got)} want ${want}`)
    }
    check(bad === 0, `${name}: DuckDB column ${col.name}: ${bad} mismatches`)
  })
  // Statistics: null counts per row group and chunk, as DuckDB reads them.
  const rg = exp.row_group_rows || 1048576
  const meta = (await con.runAndReadAll(
    `SELECT row_group_id, column_id, stats_null_count, num_values FROM parquet_metadata(${f})`)).getRows()
  let statBad = 0
  for (const [g, c, nulls, nvals] of meta) {
    const lo = Number(g) * rg
    const hi = Math.min(lo + rg, exp.rows.length)
    let want = 0
    for (let r = lo; r < hi; r++) if (exp.rows[r][Number(c)] === null) want++
    if (Number(nulls) !== want || Number(nvals) !== hi - lo) statBad++
  }
  check(statBad === 0 && meta.length === exp.columns.length * Math.ceil(exp.rows.length / rg),
    `${name}: DuckDB parquet_metadata null counts/num_values (${statBad} bad of ${meta.length})`)
  // min/max statistics: filters pushed into the file scan (row-group
  // pruning by our min/max) must count what a full scan counts.
  await con.run(`CREATE OR REPLACE TEMP TABLE full_scan AS SELECT * FROM read_parquet(${f})`)
  for (const [c, col] of exp.columns.entries()) {
    if (col.type === 'bool') continue
    const picks = [0, 7, Math.floor(exp.rows.length / 2), exp.rows.length - 1]
      .map(r => exp.rows[r] && exp.rows[r][c]).filter(v => v !== null && v !== undefined)
      .filter(v => !(col.type === 'double' && !Number.isFinite(Number(v))))
    for (const v of picks) {
      const lit = literal(col, v)
      for (const op of ['<', '=', '>']) {
        const pred = `${qid(col.name)} ${op} ${lit}`
        const a = (await con.runAndReadAll(`SELECT count(*) FROM read_parquet(${f}) WHERE ${pred}`)).getRows()[0][0]
        const b = (await con.runAndReadAll(`SELECT count(*) FROM full_scan WHERE ${pred}`)).getRows()[0][0]
        check(a === b, `${name}: DuckDB filter ${pred}: file ${a} vs full scan ${b}`)
      }
    }
  }
}

async function readMode(dir) {
  const files = fs.readdirSync(dir).filter(n => /^ours_.*\.json$/.test(n)).sort()
  check(files.length > 0, `no ours_*.json in ${dir}`)
  const db = await DuckDBInstance.create(':memory:')
  const con = await db.connect()
  for (const fn of files) {
    const exp = JSON.parse(fs.readFileSync(path.join(dir, fn), 'utf8'))
    const name = path.basename(exp.file)
    const before = failed
    try {
      await hyparquetCheck(exp, name)
    } catch (e) {
      check(false, `${name}: hyparquet threw ${e && e.stack || e}`)
    }
    try {
      await duckCheck(con, exp, name)
    } catch (e) {
      check(false, `${name}: DuckDB threw ${e && e.message || e}`)
    }
    console.log(`  ${name}: ${exp.rows.length} rows x ${exp.columns.length} cols read by hyparquet and DuckDB: ${failed === before ? 'ok' : 'FAILED'}`)
  }
}

// ------------------------------------------------------ write: DuckDB files
// Column -> [osiris type, scale, expression giving the canonical value].
const DUCK_COLS = [
  ['i', 'int64', 0, 'CAST(i AS VARCHAR)'],
  ['b', 'bool', 0, 'b'],
  ['i32', 'int64', 0, 'CAST(i32 AS VARCHAR)'],
  ['i64', 'int64', 0, 'CAST(i64 AS VARCHAR)'],
  ['i16', 'int64', 0, 'CAST(i16 AS VARCHAR)'],
  ['i8', 'int64', 0, 'CAST(i8 AS VARCHAR)'],
  ['u32', 'int64', 0, 'CAST(u32 AS VARCHAR)'],
  ['u64', 'int64', 0, 'CAST(u64 AS VARCHAR)'],
  ['f', 'double', 0, 'CAST(f AS DOUBLE)'],
  ['d', 'double', 0, 'd'],
  ['s_dict', 'string', 0, 's_dict'],
  ['s_plain', 'string', 0, 's_plain'],
  ['dt', 'date', 0, "CAST(datediff('day', DATE '1970-01-01', dt) AS INTEGER)"],
  ['ts', 'timestamp', 0, 'CAST(epoch_us(ts) AS VARCHAR)'],
  ['ts_ms', 'timestamp', 0, 'CAST(epoch_us(CAST(ts_ms AS TIMESTAMP)) AS VARCHAR)'],
  ['ts_ns', 'timestamp', 0, 'CAST(epoch_us(CAST(ts_ns AS TIMESTAMP)) AS VARCHAR)'],
  ['tstz', 'timestamp', 0, 'CAST(epoch_us(tstz) AS VARCHAR)'],
  ['dec4', 'decimal', 2, 'CAST(dec4 AS VARCHAR)'],
  ['dec18', 'decimal', 6, 'CAST(dec18 AS VARCHAR)'],
  ['dec38', 'decimal', 10, 'CAST(dec38 AS VARCHAR)'],
]

// OSIRIS_PQ_ROWS: rows of the generated files; OSIRIS_PQ_RELATIVE=1 writes
// "file" relative to the JSON (for the committed fixtures).
const ROWS = Number(process.env.OSIRIS_PQ_ROWS || 5000)
const RELATIVE = process.env.OSIRIS_PQ_RELATIVE === '1'
const fileRef = file => RELATIVE ? path.basename(file) : file
const SRC_SQL = `
CREATE OR REPLACE TABLE src AS SELECT
  i::BIGINT AS i,
  CASE WHEN i % 7 = 0 THEN NULL ELSE i % 3 = 0 END AS b,
  CASE WHEN i % 5 = 0 THEN NULL ELSE (i * 37 - 50000)::INTEGER END AS i32,
  CASE WHEN i % 6 = 0 THEN NULL ELSE (i * 1000003 - 5000000000)::BIGINT END AS i64,
  (i % 100)::SMALLINT AS i16,
  (i % 100 - 50)::TINYINT AS i8,
  CASE WHEN i % 11 = 0 THEN NULL ELSE (i * 7 + 3000000000)::UINTEGER END AS u32,
  (i::UBIGINT * 1000000007) AS u64,
  ((i % 100) / 8.0 - 3.3)::FLOAT AS f,
  CASE WHEN i % 9 = 0 THEN NULL WHEN i = 1 THEN 'NaN'::DOUBLE WHEN i = 2 THEN '-inf'::DOUBLE ELSE i / 7.0 - 100 END::DOUBLE AS d,
  CASE WHEN i % 4 = 0 THEN NULL ELSE 'cat-' || (i % 10) || CASE WHEN i % 3 = 0 THEN ' 日本' ELSE '' END END AS s_dict,
  'unique-' || i || '-ünï-' || repeat('x', (i % 40)::INTEGER) AS s_plain,
  CASE WHEN i % 13 = 0 THEN NULL ELSE DATE '1960-01-01' + (i * 3)::INTEGER END AS dt,
  TIMESTAMP '1965-06-01 12:00:00' + to_microseconds(i * 1234567) AS ts,
  (TIMESTAMP '2001-01-01' + to_milliseconds(i * 1001))::TIMESTAMP_MS AS ts_ms,
  (TIMESTAMP '1950-01-01' + to_microseconds(i * 1001))::TIMESTAMP_NS AS ts_ns,
  CASE WHEN i % 17 = 0 THEN NULL ELSE TIMESTAMPTZ '2020-01-01 00:00:00+00' + to_microseconds(i * 77) END AS tstz,
  CASE WHEN i % 19 = 0 THEN NULL ELSE ((i - 2500) / 100.0)::DECIMAL(4,2) END AS dec4,
  ((i * 123457 - 300000000) / 1000000.0)::DECIMAL(18,6) AS dec18,
  CASE WHEN i % 23 = 0 THEN NULL ELSE
    (CASE WHEN i % 2 = 0 THEN '-' ELSE '' END || '1234567890123456789012345678.' || lpad((i * 7)::VARCHAR, 10, '0'))::DECIMAL(38,10) END AS dec38
FROM range(${ROWS}) t(i)`

async function writeMode(dir, oursDir) {
  fs.mkdirSync(dir, { recursive: true })
  const db = await DuckDBInstance.create(':memory:')
  const con = await db.connect()
  await con.run(SRC_SQL)
  const cols = DUCK_COLS.map(([name, type, scale]) => ({ name, type, scale }))
  const sel = DUCK_COLS.map(c => c[3]).join(', ')
  const rows = (await con.runAndReadAll(`SELECT ${sel} FROM src ORDER BY i`)).getRows()
    .map(r => r.map((v, c) => {
      if (isNull(v)) return null
      if (DUCK_COLS[c][1] === 'double') return Number.isNaN(v) ? 'NaN' : String(v)
      return v
    }))
  const emit = (name, opts, extra = {}, query = 'SELECT * FROM src ORDER BY i', exp = { columns: cols, rows }) => {
    const file = path.join(dir, name + '.parquet')
    return con.run(`COPY (${query}) TO ${sq(file)} (FORMAT parquet${opts ? ', ' + opts : ''})`).then(() => {
      const body = extra.expect_error ? { columns: exp.columns, rows: [] } : exp
      fs.writeFileSync(path.join(dir, name + '.json'), JSON.stringify({ file: fileRef(file), ...body, ...extra }))
      console.log(`  wrote ${name}.parquet (${opts || 'defaults'})`)
    })
  }
  await emit('duck_v1', "COMPRESSION 'uncompressed', ROW_GROUP_SIZE 1000")
  await emit('duck_v2', "COMPRESSION 'uncompressed', PARQUET_VERSION 'V2', ROW_GROUP_SIZE 2048")
  await emit('duck_onegroup', "COMPRESSION 'uncompressed'")
  await emit('duck_snappy', '', { expect_error: 'compression SNAPPY not supported' })
  await emit('duck_zstd', "COMPRESSION 'zstd'", { expect_error: 'compression ZSTD not supported' })
  await emit('duck_empty', "COMPRESSION 'uncompressed'", {}, 'SELECT * FROM src WHERE false', { columns: cols, rows: [] })
  // NOT NULL columns of a table
  await con.run(`CREATE OR REPLACE TABLE req (a BIGINT NOT NULL, s VARCHAR NOT NULL, d DOUBLE NOT NULL)`)
  await con.run(`INSERT INTO req SELECT i, 'r' || (i % 3), i * 0.5 FROM range(${Math.min(ROWS, 3000)}) t(i)`)
  const reqRows = (await con.runAndReadAll(`SELECT CAST(a AS VARCHAR), s, d FROM req`)).getRows().map(r => [r[0], r[1], String(r[2])])
  await emit('duck_required', "COMPRESSION 'uncompressed'", {}, 'SELECT * FROM req',
    { columns: [{ name: 'a', type: 'int64', scale: 0 }, { name: 's', type: 'string', scale: 0 }, { name: 'd', type: 'double', scale: 0 }], rows: reqRows })
  // DuckDB rewriting our own file (its encodings: dictionary, its decimals)
  if (oursDir) {
    for (const base of ['ours_all', 'ours_unicode']) {
      const j = path.join(oursDir, base + '.json')
      if (!fs.existsSync(j)) continue
      const exp = JSON.parse(fs.readFileSync(j, 'utf8'))
      await emit('duck_from_' + base, "COMPRESSION 'uncompressed', ROW_GROUP_SIZE 1000", {},
        `SELECT * FROM read_parquet(${sq(exp.file)}, file_row_number = true) ORDER BY file_row_number`,
        { columns: exp.columns, rows: exp.rows })
      // file_row_number is an extra column in the copy: drop it again
      const file = path.join(dir, 'duck_from_' + base + '.parquet')
      const names = exp.columns.map(c => qid(c.name)).join(', ')
      await con.run(`COPY (SELECT ${names} FROM read_parquet(${sq(file)})) TO ${sq(file + '.tmp')} (FORMAT parquet, COMPRESSION 'uncompressed', PARQUET_VERSION 'V2', ROW_GROUP_SIZE 1000)`)
      fs.renameSync(file + '.tmp', file)
    }
  }
  await parquetjsWrite(dir)
  // What the schema looks like, for the record.
  const enc = (await con.runAndReadAll(
    `SELECT DISTINCT encodings FROM parquet_metadata(${sq(path.join(dir, 'duck_v2.parquet'))}) ORDER BY 1`)).getRows()
  console.log('  duck_v2 encodings: ' + enc.map(r => r[0]).join(' | '))
  const enc1 = (await con.runAndReadAll(
    `SELECT DISTINCT encodings FROM parquet_metadata(${sq(path.join(dir, 'duck_v1.parquet'))}) ORDER BY 1`)).getRows()
  console.log('  duck_v1 encodings: ' + enc1.map(r => r[0]).join(' | '))
  check(true, 'duckdb files written')
}

// ---------------------------------------------- write: parquetjs files
// @dsnp/parquetjs writes DATA_PAGE_V2 pages (DuckDB writes v1 headers even
// with PARQUET_VERSION V2), REQUIRED columns, INT32/INT64 DECIMAL.
async function parquetjsWrite(dir) {
  const schema = new parquetjs.ParquetSchema({
    n: { type: 'INT64', optional: true },
    i32: { type: 'INT32', optional: true },
    s: { type: 'UTF8', optional: true },
    d: { type: 'DOUBLE' },
    fl: { type: 'FLOAT', optional: true },
    b: { type: 'BOOLEAN', optional: true },
    dt: { type: 'DATE', optional: true },
    ts: { type: 'TIMESTAMP_MICROS', optional: true },
    tsm: { type: 'TIMESTAMP_MILLIS' },
    dec: { type: 'DECIMAL', precision: 10, scale: 2, optional: true },
    dec4: { type: 'DECIMAL', precision: 4, scale: 1, optional: true },
  })
  const columns = [['n', 'int64', 0], ['i32', 'int64', 0], ['s', 'string', 0], ['d', 'double', 0],
    ['fl', 'double', 0], ['b', 'bool', 0], ['dt', 'date', 0], ['ts', 'timestamp', 0], ['tsm', 'timestamp', 0],
    ['dec', 'decimal', 2], ['dec4', 'decimal', 1]].map(([name, type, scale]) => ({ name, type, scale }))
  const N = Math.min(ROWS, 3000)
  const input = []
  const rows = []
  for (let i = 0; i < N; i++) {
    const n = i % 3 ? BigInt(i) * 1000003n - 1000000000n : null
    const i32 = i % 8 === 1 ? null : i * 37 - 40000
    const s = i % 5 === 4 ? null : 'pj-' + i + (i % 7 === 0 ? ' ✓ ünï' : '')
    const d = i / 3 - 50
    const fl = i % 10 === 0 ? null : Math.fround(i / 16 - 7)
    const b = i % 4 === 3 ? null : i % 2 === 0
    const days = i % 6 === 5 ? null : i - 1000
    const ms = i % 9 === 4 ? null : (i - 1500) * 1000003
    const tsm = i * 60000 - 86400000
    const cents = i % 11 === 7 ? null : i * 125 - 10000
    const tenths = i % 2 ? null : (i % 1000) - 500
    input.push({
      n: n ?? undefined, i32: i32 ?? undefined, s: s ?? undefined, d, fl: fl ?? undefined, b: b ?? undefined,
      dt: days === null ? undefined : new Date(days * 86400000), ts: ms === null ? undefined : new Date(ms),
      tsm: new Date(tsm), dec: cents === null ? undefined : cents / 100,
      dec4: tenths === null ? undefined : tenths / 10,
    })
    rows.push([n === null ? null : n.toString(), i32 === null ? null : String(i32), s, String(d),
      fl === null ? null : String(fl), b, days, ms === null ? null : String(BigInt(ms) * 1000n),
      String(BigInt(tsm) * 1000n), cents === null ? null : decText(BigInt(cents), 2),
      tenths === null ? null : decText(BigInt(tenths), 1)])
  }
  for (const [name, v2] of [['pj_v2', true], ['pj_v1', false]]) {
    const file = path.join(dir, name + '.parquet')
    const w = await parquetjs.ParquetWriter.openFile(schema, file, { useDataPageV2: v2, compression: 'UNCOMPRESSED' })
    w.setRowGroupSize(Math.max(100, Math.floor(N / 3)))
    for (const r of input) await w.appendRow(r)
    await w.close()
    fs.writeFileSync(path.join(dir, name + '.json'), JSON.stringify({ file: fileRef(file), columns, rows }))
    console.log(`  wrote ${name}.parquet (parquetjs, data page ${v2 ? 'v2' : 'v1'})`)
  }
}

const [mode, dir, extra] = process.argv.slice(2)
try {
  if (mode === 'read') await readMode(dir)
  else if (mode === 'write') await writeMode(dir, extra)
  else {
    console.error('usage: node check.mjs read DIR | write DIR [OURS_DIR]')
    failed++
  }
} catch (e) {
  check(false, `${mode}: ${e && e.stack || e}`)
}
console.log(`${passed} passed, ${failed} failed`)
process.exit(failed ? 1 : 0)
