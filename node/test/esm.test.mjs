// The package as an ES module: `import { Guard } from 'vallum'` and 'vallum/stream'.
import test from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import vallumDefault, { Guard, Vault, OutputStream, canary, Verdict } from 'vallum'
import { outputTransform, outputNodeTransform } from 'vallum/stream'

const require = createRequire(import.meta.url)

test('named ESM imports are the CommonJS exports', () => {
  const cjs = require('vallum')
  assert.equal(Guard, cjs.Guard)
  assert.equal(vallumDefault, cjs)
  assert.deepEqual(Object.keys(vallumDefault).sort(), Object.keys(cjs).sort())
  for (const name of ['Guard', 'Vault', 'OutputStream', 'canary']) assert.ok(name in vallumDefault, name)
  assert.equal(typeof Vault, 'function')
  assert.equal(typeof OutputStream, 'function')
  assert.equal(Verdict.Block, 'block')
  assert.equal(typeof outputTransform, 'function')
  assert.equal(typeof outputNodeTransform, 'function')
})

test('an ESM user scans, redacts and streams', async () => {
  const guard = new Guard()
  const report = await guard.scanInput('write to jane@example.org')
  assert.equal(report.verdict, 'flag')
  assert.equal(guard.redact('write to jane@example.org'), 'write to <EMAIL>')
  assert.match(canary(), /^vlm-canary-/)
  const s = guard.outputStream()
  assert.ok(s instanceof OutputStream)
  assert.equal(s.push('mail jane@example.org') + s.finish(), 'mail <EMAIL>')
})
