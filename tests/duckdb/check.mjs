// tests/duckdb/check.mjs WORKDIR -- DuckDB's own answer for every case of
// cases.sql, computed by @duckdb/node-api (another client of the same
// engine, installed by `make deps` in tests/parquet) over the frames osiris
// read (WORKDIR/out/in_movies.parquet, in_people.parquet, written by
// osiris), compared with osiris's result WORKDIR/out/<case>.parquet.
// Values are compared through DuckDB's own text for each type (nested
// values: their to_json, compared as parsed JSON), following the type
// mapping of drivers.c section 3b.  Prints one line per case, then
// "N passed, N failed".
import fs from 'node:fs'
import path from 'node:path'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const require = createRequire(path.join(here, '../parquet/package.json'))
const { DuckDBInstance } = require('@duckdb/node-api')

const work = process.argv[2]
const out = path.join(work, 'out')
let pass = 0, fail = 0
const ok = (c, m) => { if (c) pass++; else { fail++; console.log('FAIL ' + m) } }

const cases = []
for (const line of fs.readFileSync(path.join(here, 'cases.sql'), 'utf8').split('\n')) {
  const m = line.match(/^-- case: (\S+)( single)?/)
  if (m) cases.push({ name: m[1], single: !!m[2], sql: '' })
  else if (cases.length && !line.startsWith('--')) cases[cases.length - 1].sql += line + '\n'
}

const db = await DuckDBInstance.create(':memory:')
const con = await db.connect()
await con.run("SET TimeZone = 'UTC'")
const rows = async q => (await con.runAndReadAll(q)).getRows()
const q = s => '"' + s.replace(/"/g, '""') + '"'

// The inputs, typed as osiris hands them to DuckDB: TIMESTAMP (the
// Parquet file says UTC), DECIMAL(38, s).
async function load(table, file) {
  const cols = await rows(`DESCRIBE SELECT * FROM read_parquet('${file}')`)
  const exprs = cols.map(([n, t]) => {
    if (/^TIMESTAMP/.test(t)) return `${q(n)}::TIMESTAMP AS ${q(n)}`
    const d = t.match(/^DECIMAL\(\d+,(\d+)\)/)
    return d ? `${q(n)}::DECIMAL(38,${d[1]}) AS ${q(n)}` : q(n)
  })
  await con.run(`CREATE TABLE ${table} AS SELECT ${exprs.join(', ')} FROM read_parquet('${file}')`)
}
await load('df_movies', path.join(out, 'in_movies.parquet'))
await load('df_people', path.join(out, 'in_people.parquet'))
await con.run('CREATE VIEW df AS FROM df_movies')
await con.run('CREATE VIEW input_df AS FROM df_movies')
const version = (await rows('SELECT version()'))[0][0]
console.log(`# DuckDB ${version} (node-api) computes the expected answers`)

const nested = t => /\[|^STRUCT|^MAP|^UNION/.test(t)
function exprFor(t, n, side) {
  const c = q(n)
  if (nested(t)) return side === 'exp' ? `to_json(${c})::VARCHAR` : `${c}::VARCHAR`
  if (/^TIMESTAMP/.test(t)) return `${c}::TIMESTAMP::VARCHAR`
  // osiris's Parquet writer may declare DECIMAL(3,3) for 0.300, which DuckDB
  // prints ".300": the got side is read back at the expected type.
  if (/^DECIMAL/.test(t) && side === 'got') return `${c}::${t}::VARCHAR`
  if (t === 'FLOAT') return `${c}::DOUBLE::VARCHAR`
  return `${c}::VARCHAR`
}
const jsonEq = (a, b) => JSON.stringify(a) === JSON.stringify(b)

for (const c of cases) {
  const file = path.join(out, c.name + '.parquet')
  if (!fs.existsSync(file)) { ok(false, `${c.name}: osiris wrote no ${file}`); continue }
  let expCols, gotCols, exp, got
  try {
    await con.run(`CREATE OR REPLACE TABLE exp AS ${c.sql}`)
    await con.run(`CREATE OR REPLACE TABLE got AS FROM read_parquet('${file}')`)
    expCols = await rows('DESCRIBE exp')
    gotCols = await rows('DESCRIBE got')
    exp = await rows(`SELECT ${expCols.map(([n, t]) => exprFor(t, n, 'exp')).join(', ')} FROM exp ORDER BY rowid`)
    got = await rows(`SELECT ${expCols.map(([n, t], i) => exprFor(t, gotCols[i] ? gotCols[i][0] : n, 'got')).join(', ')} FROM got ORDER BY rowid`)
  } catch (e) {
    ok(false, `${c.name}: ${e.message}`)
    continue
  }
  let same = expCols.length === gotCols.length && jsonEq(expCols.map(x => x[0]), gotCols.map(x => x[0]))
  if (!same) { ok(false, `${c.name}: columns ${JSON.stringify(gotCols.map(x => x[0]))}, want ${JSON.stringify(expCols.map(x => x[0]))}`); continue }
  if (exp.length !== got.length) { ok(false, `${c.name}: ${got.length} rows, want ${exp.length}`); continue }
  let bad = null
  for (let r = 0; r < exp.length && !bad; r++)
    for (let k = 0; k < expCols.length && !bad; k++) {
      const e = exp[r][k], g = got[r][k]
      const eq = nested(expCols[k][1]) && e !== null && g !== null ? jsonEq(JSON.parse(e), JSON.parse(g)) : e === g
      if (!eq) bad = `row ${r + 1} column ${expCols[k][0]} (${expCols[k][1]}): osiris ${JSON.stringify(g)}, DuckDB ${JSON.stringify(e)}`
    }
  ok(!bad, `${c.name}: ${bad}`)
  if (!bad) console.log(`ok   ${c.name} (${exp.length} rows, ${expCols.map(x => x[1]).join(' ')})`.slice(0, 160))
}
console.log(`${pass} passed, ${fail} failed`)
process.exit(fail ? 1 : 0)
