'use strict'
// Offsets are UTF-16 code units for strings (text.slice(start, end) is the match) and
// bytes for Uint8Arrays; unpaired surrogates are refused.

const test = require('node:test')
const assert = require('node:assert/strict')
const { Guard } = require('vallum')

const guard = new Guard()
const EMAIL = 'jane.doe@example.org'

function emails(report) {
  return report.findings.filter((f) => f.category === 'pii' && f.kind === 'email')
}

test('emoji, astral and combining characters before the match', () => {
  const prefixes = [
    '😀',
    '👩‍👩‍👧‍👦 family: ',
    '𝕳𝖊𝖑𝖑𝖔 𝒲𝑜𝓇𝓁𝒹 ',
    '𠜎𠜱𠝹 ',
    'e\u0301e\u0301 ',
    'Привет, 你好, مرحبا ',
    '\u{1F1EB}\u{1F1F7} ',
  ]
  for (const prefix of prefixes) {
    const text = `${prefix} mail ${EMAIL} 🎉 ok`
    const found = emails(guard.scanInputSync(text))
    assert.equal(found.length, 1, prefix)
    assert.equal(text.slice(found[0].start, found[0].end), EMAIL, prefix)
    assert.equal(found[0].start, text.indexOf(EMAIL), prefix)
  }
})

test('several findings among astral characters all slice exactly', () => {
  const parts = ['🙂', 'a@example.com', '𝄞𝄞', 'b.c@example.net', '😀😀😀', 'd@example.org', '']
  const text = parts.join(' ')
  const found = emails(guard.scanInputSync(text)).map((f) => text.slice(f.start, f.end))
  assert.deepEqual(found, ['a@example.com', 'b.c@example.net', 'd@example.org'])
})

test('random astral/BMP/ASCII mixes keep offsets exact (string and bytes)', () => {
  const pool = ['a', ' ', 'é', 'ß', '中', '😀', '𝒳', '\u200d', '\u0301', '\n', 'Ω', '🏳️‍🌈']
  let seed = 12345
  const rand = (n) => {
    seed = (seed * 1103515245 + 12345) % 2147483648
    return seed % n
  }
  for (let round = 0; round < 200; round++) {
    let before = ''
    let after = ''
    for (let i = rand(12); i > 0; i--) before += pool[rand(pool.length)]
    for (let i = rand(12); i > 0; i--) after += pool[rand(pool.length)]
    const text = `${before} ${EMAIL} ${after}`
    const found = emails(guard.scanInputSync(text))
    assert.equal(found.length, 1, JSON.stringify(text))
    assert.equal(text.slice(found[0].start, found[0].end), EMAIL, JSON.stringify(text))

    const bytes = Buffer.from(text)
    const fb = emails(guard.scanInputSync(bytes))
    assert.equal(bytes.subarray(fb[0].start, fb[0].end).toString(), EMAIL)
    assert.equal(fb[0].start, Buffer.byteLength(`${before} `))
  }
})

test('a Uint8Array that is not a Buffer is scanned as UTF-8 bytes', () => {
  const text = `😀 ${EMAIL}`
  const bytes = new TextEncoder().encode(text)
  assert.ok(!Buffer.isBuffer(bytes))
  const [f] = emails(guard.scanInputSync(bytes))
  assert.equal(new TextDecoder().decode(bytes.subarray(f.start, f.end)), EMAIL)
  assert.equal(f.start, 5)
})

test('a subarray view scans only its own bytes, with offsets relative to the view', () => {
  const whole = Buffer.from(`xxxx 😀 ${EMAIL} yyyy`)
  const view = whole.subarray(5)
  const [f] = emails(guard.scanInputSync(view))
  assert.equal(view.subarray(f.start, f.end).toString(), EMAIL)
})

test('unpaired surrogates are an INPUT error, in every method', async () => {
  const bad = [`lone high \ud83d ${EMAIL}`, `lone low \ude00`, 'reversed \ude00\ud83d', '\ud800']
  for (const text of bad) {
    const expected = { code: 'INPUT', message: /unpaired UTF-16 surrogate at index \d+/ }
    assert.throws(() => guard.scanInputSync(text), expected)
    assert.throws(() => guard.scanOutputSync(text), expected)
    assert.throws(() => guard.scanOutputSync('fine', { prompt: text }), expected)
    assert.throws(() => guard.redact(text), expected)
    assert.throws(() => guard.anonymize(text), expected)
    await assert.rejects(async () => guard.scanInput(text), expected)
    await assert.rejects(async () => guard.scanOutput('fine', { prompt: text }), expected)
  }
  assert.throws(() => guard.scanInputSync('ab\ud800'), { message: /at index 2/ })
})

test('a real U+FFFD is not mistaken for a surrogate', () => {
  const text = `\ufffd😀\ufffd ${EMAIL}`
  const [f] = emails(guard.scanInputSync(text))
  assert.equal(text.slice(f.start, f.end), EMAIL)
  assert.equal(text.toWellFormed(), text)
  const repaired = `\ud83d ${EMAIL}`.toWellFormed()
  assert.equal(emails(guard.scanInputSync(repaired)).length, 1)
})

test('invalid UTF-8 bytes are an INPUT error', async () => {
  const bytes = Buffer.from([0x61, 0x62, 0xff, 0x63])
  assert.throws(() => guard.scanInputSync(bytes), { code: 'INPUT', message: /UTF-8.*offset 2/ })
  await assert.rejects(guard.scanInput(bytes), { code: 'INPUT' })
})

test('redact and anonymize work across astral characters', () => {
  const text = `😀 ${EMAIL} 𝄞 ${EMAIL}`
  assert.equal(guard.redact(text), '😀 <EMAIL> 𝄞 <EMAIL>')
  const { text: masked, vault } = guard.anonymize(text)
  assert.equal(masked, '😀 <EMAIL_1> 𝄞 <EMAIL_1>')
  assert.equal(vault.restore('→ <EMAIL_1> 🎉'), `→ ${EMAIL} 🎉`)
})
