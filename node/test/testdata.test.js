'use strict'
// The shared cases in ../../testdata/*.jsonl (format in testdata/README.md), run through
// every entry point: sync and async, as a string (UTF-16 offsets) and as UTF-8 bytes
// (byte offsets), plus redact().

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { Guard } = require('vallum')

const dir = path.join(__dirname, '..', '..', 'testdata')

function loadCases() {
  const cases = []
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort()) {
    const lines = fs.readFileSync(path.join(dir, file), 'utf8').split('\n')
    lines.forEach((line, i) => {
      const trimmed = line.trim()
      if (trimmed === '' || trimmed.startsWith('//')) return
      cases.push({ where: `${file}:${i + 1}`, ...JSON.parse(trimmed) })
    })
  }
  return cases
}

const cases = loadCases()
const guards = new Map()
function guardFor(policy) {
  const key = policy === undefined ? '' : JSON.stringify(policy)
  if (!guards.has(key)) guards.set(key, policy === undefined ? new Guard() : new Guard(policy))
  return guards.get(key)
}

function scanSync(guard, c, text) {
  return c.direction === 'output'
    ? guard.scanOutputSync(text, { prompt: c.prompt })
    : guard.scanInputSync(text)
}

function scanAsync(guard, c, text) {
  return c.direction === 'output'
    ? guard.scanOutput(text, { prompt: c.prompt })
    : guard.scanInput(text)
}

/** Checks one report against the case; `slice(f)` gives the matched text. */
function check(c, report, slice) {
  const label = `${c.where} ${c.note ?? ''}`
  for (const f of report.findings) {
    assert.ok(Number.isInteger(f.start) && Number.isInteger(f.end) && f.start <= f.end, label)
    assert.ok(f.score >= 0 && f.score <= 1, label)
  }
  for (const want of c.expect ?? []) {
    const hit = report.findings.some(
      (f) =>
        f.category === want.category &&
        (want.kind === undefined || f.kind === want.kind) &&
        (want.rule === undefined || f.rule === want.rule) &&
        (want.match === undefined || slice(f) === want.match),
    )
    assert.ok(
      hit,
      `${label}: expected ${JSON.stringify(want)}, got ${JSON.stringify(
        report.findings.map((f) => ({ ...f, match: slice(f) })),
      )}`,
    )
  }
  for (const none of c.expect_none ?? []) {
    const [category, kind] = none.split('.')
    const bad = report.findings.filter(
      (f) => f.category === category && (kind === undefined || f.kind === kind),
    )
    assert.deepEqual(bad, [], `${label}: nothing under ${none} expected`)
  }
  if (c.verdict !== undefined) assert.equal(report.verdict, c.verdict, label)
}

test('the shared testdata has cases', () => {
  assert.ok(cases.length > 0, `no cases found in ${dir}`)
})

for (const c of cases) {
  test(`testdata ${c.where}`, async () => {
    const guard = guardFor(c.policy)
    const text = c.text
    const bytes = Buffer.from(text, 'utf8')
    const byString = (f) => text.slice(f.start, f.end)
    const byBytes = (f) => bytes.subarray(f.start, f.end).toString('utf8')

    const sync = scanSync(guard, c, text)
    check(c, sync, byString)
    const async = await scanAsync(guard, c, text)
    assert.deepEqual(async, sync, `${c.where}: async and sync reports differ`)

    const fromBytes = scanSync(guard, c, bytes)
    check(c, fromBytes, byBytes)
    assert.deepEqual(
      fromBytes.findings.map(byBytes),
      sync.findings.map(byString),
      `${c.where}: bytes and string scans match different text`,
    )
    assert.deepEqual(await scanAsync(guard, c, bytes), fromBytes)

    if (c.redacted !== undefined) {
      assert.equal(guard.redact(text, { direction: c.direction ?? 'input' }), c.redacted)
    }
  })
}
