'use strict'
// Policies as TOML text, files and plain objects; errors as Error objects with a `code`.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const util = require('node:util')
const { Guard } = require('vallum')

const EMAIL_TEXT = 'write to jane.doe@example.org'
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vallum-node-'))
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }))

test('default, TOML string, object and files give the policy asked for', () => {
  assert.equal(new Guard().scanInputSync(EMAIL_TEXT).verdict, 'flag')
  assert.equal(new Guard(null).scanInputSync(EMAIL_TEXT).verdict, 'flag')
  assert.equal(new Guard(undefined).scanInputSync(EMAIL_TEXT).verdict, 'flag')

  const toml = '[actions]\npii = "block"\n'
  assert.equal(new Guard(toml).scanInputSync(EMAIL_TEXT).verdict, 'block')
  assert.equal(new Guard({ actions: { pii: 'block' } }).scanInputSync(EMAIL_TEXT).verdict, 'block')

  const tomlFile = path.join(tmp, 'policy.toml')
  fs.writeFileSync(tomlFile, toml)
  assert.equal(new Guard(tomlFile).scanInputSync(EMAIL_TEXT).verdict, 'block')

  const jsonFile = path.join(tmp, 'policy.JSON')
  fs.writeFileSync(jsonFile, JSON.stringify({ actions: { pii: 'allow' } }))
  assert.equal(new Guard(jsonFile).scanInputSync(EMAIL_TEXT).verdict, 'allow')

  // undefined (and null) keys mean "not set", as they would for a JS options object
  const unset = new Guard({ actions: undefined, limits: { max_input_bytes: undefined }, redaction: { hash_key: null } })
  assert.equal(unset.scanInputSync(EMAIL_TEXT).verdict, 'flag')

  const off = new Guard({ detectors: { pii: false } })
  assert.deepEqual(off.scanInputSync(EMAIL_TEXT).findings, [])
})

test('custom rules from an object policy', () => {
  const guard = new Guard({
    custom: [{ id: 'codename', terms: ['Project Bluebird'], action: 'block' }],
  })
  const text = '🐦 status of project bluebird?'
  const report = guard.scanInputSync(text)
  assert.equal(report.verdict, 'block')
  const f = report.findings.find((x) => x.rule === 'codename')
  assert.equal(f.category, 'custom')
  assert.equal(f.action, 'block')
  assert.equal(text.slice(f.start, f.end), 'project bluebird')
})

test('bad policies throw POLICY errors that say what is wrong', () => {
  const cases = [
    ['[actions]\npii = "explode"\n', /unknown variant `explode`/],
    ['not toml at all = = =\n', /invalid TOML policy/],
    [{ actions: { pii: 'explode' } }, /invalid JSON policy/],
    [{ no_such_key: 1 }, /unknown field `no_such_key`/],
    [{ thresholds: { prompt_injection: 3 } }, /thresholds\.prompt_injection/],
    [{ custom: [{ id: 'x', pattern: '(unclosed' }] }, /custom rule `x`/],
    [path.join(tmp, 'missing.toml'), /cannot read policy file/],
    [42, /a policy is a TOML string, a path to a \.toml\/\.json file, or a plain object; got a number/],
    [[1, 2], /got an array/],
    [true, /got a boolean/],
    [Symbol('policy'), /plain object of JSON values/],
    [{ custom: [{ id: 'f', terms: [() => 'x'] }] }, /plain object of JSON values/],
    [{ custom: [{ id: 'n', terms: [null] }] }, /invalid JSON policy/],
  ]
  for (const [policy, message] of cases) {
    let caught
    try {
      new Guard(policy)
    } catch (e) {
      caught = e
    }
    assert.ok(caught instanceof Error, util.inspect(policy))
    assert.equal(caught.code, 'POLICY', util.inspect(policy))
    assert.match(caught.message, message, util.inspect(policy))
  }
})

test('input over the size limit is an INPUT error, sync and async, string and bytes', async () => {
  const guard = new Guard({ limits: { max_input_bytes: 16 } })
  assert.equal(guard.scanInputSync('0123456789abcdef').verdict, 'allow')
  const big = 'x'.repeat(17)
  const expected = { code: 'INPUT', message: /17 bytes, over the policy limit of 16 bytes/ }
  assert.throws(() => guard.scanInputSync(big), expected)
  assert.throws(() => guard.scanOutputSync(big), expected)
  assert.throws(() => guard.scanInputSync(Buffer.from(big)), expected)
  assert.throws(() => guard.redact(big), expected)
  assert.throws(() => guard.anonymize(big), expected)
  await assert.rejects(guard.scanInput(big), expected)
  await assert.rejects(guard.scanOutput(Buffer.from(big)), expected)
  // the limit counts UTF-8 bytes: 6 emoji are 12 UTF-16 units but 24 bytes
  assert.throws(() => guard.scanInputSync('😀'.repeat(6)), { code: 'INPUT', message: /24 bytes/ })
})

test('async rejections are real Error objects with stacks', async () => {
  const guard = new Guard({ limits: { max_input_bytes: 1 } })
  const err = await guard.scanInput('too long').then(
    () => assert.fail('should reject'),
    (e) => e,
  )
  assert.ok(err instanceof Error)
  assert.equal(err.code, 'INPUT')
  assert.equal(typeof err.stack, 'string')
})

test('unknown option values are INPUT errors', () => {
  const guard = new Guard()
  assert.throws(() => guard.redact('x', { direction: 'sideways' }), {
    code: 'INPUT',
    message: /unknown direction `sideways`/,
  })
  assert.equal(guard.redact(EMAIL_TEXT, { direction: 'output' }), 'write to <EMAIL>')
})

test('error messages never carry the scanned text', async () => {
  const secret = 'AKIAIOSFODNN7EXAMPLE-and-jane.doe@example.org'
  const guard = new Guard({ limits: { max_input_bytes: 8 } })
  for (const run of [
    () => guard.scanInputSync(secret),
    () => guard.redact(secret),
    () => guard.anonymize(secret),
  ]) {
    assert.throws(run, (e) => !e.message.includes('AKIA') && !e.message.includes('jane'))
  }
  await assert.rejects(guard.scanInput(secret), (e) => !e.message.includes('AKIA'))
})

test('wrong argument types are rejected, not coerced', () => {
  const guard = new Guard()
  assert.throws(() => guard.scanInputSync(42), Error)
  assert.throws(() => guard.scanInputSync({ text: 'x' }), Error)
  assert.throws(() => guard.scanInputSync(new Uint16Array([1, 2])), Error)
})
