'use strict'
// anonymize()/Vault and canary().

const test = require('node:test')
const assert = require('node:assert/strict')
const util = require('node:util')
const { Guard, Vault, canary } = require('vallum')

const guard = new Guard()

test('anonymize gives stable placeholders and the vault restores them', () => {
  const text = 'From jane@example.org to bob@example.com, cc jane@example.org'
  const { text: masked, vault } = guard.anonymize(text)
  assert.equal(masked, 'From <EMAIL_1> to <EMAIL_2>, cc <EMAIL_1>')
  assert.ok(vault instanceof Vault)
  assert.equal(vault.size, 2)
  assert.deepEqual(vault.placeholders(), ['<EMAIL_1>', '<EMAIL_2>'])
  assert.equal(vault.restore('Replied to <EMAIL_2> and [email_1].'), 'Replied to bob@example.com and jane@example.org.')
  assert.equal(vault.restore('unknown <EMAIL_3> stays'), 'unknown <EMAIL_3> stays')
  assert.equal(vault.restore(masked), text)
})

test('a clean text gives an empty vault and the same text', () => {
  const { text, vault } = guard.anonymize('nothing personal here')
  assert.equal(text, 'nothing personal here')
  assert.equal(vault.size, 0)
  assert.equal(vault.restore('<EMAIL_1>'), '<EMAIL_1>')
})

test('a vault never shows its values', () => {
  const { vault } = guard.anonymize('mail jane@example.org')
  for (const shown of [String(vault), util.inspect(vault, { showHidden: true, depth: 5 }), JSON.stringify(vault)]) {
    assert.ok(!shown.includes('jane'), shown)
  }
  assert.match(String(vault), /EMAIL_1/)
})

test('vaults cannot be made from JS', () => {
  assert.throws(() => new Vault())
})

test('canary tokens are fresh and well-formed', () => {
  const seen = new Set()
  for (let i = 0; i < 100; i++) {
    const t = canary()
    assert.match(t, /^vlm-canary-[a-z2-7]{20}$/)
    seen.add(t)
  }
  assert.equal(seen.size, 100)
})
