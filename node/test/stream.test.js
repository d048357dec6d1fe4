'use strict'
// Guard.outputStream() and the stream adapters in vallum/stream.

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { execFile } = require('node:child_process')
const { Readable, Writable } = require('node:stream')
const { pipeline } = require('node:stream/promises')
const { Guard, OutputStream, canary } = require('vallum')
const { outputTransform, outputNodeTransform } = require('vallum/stream')

const guard = new Guard()
const TEXT = 'Hi 😀 you can mail jane.doe@example.org or 𝒷ob@example.com — 你好! Bye 🎉'

/** Splits a string every `n` UTF-16 code units (so surrogate pairs get cut too). */
function units(text, n) {
  const out = []
  for (let i = 0; i < text.length; i += n) out.push(text.slice(i, i + n))
  return out
}

function streamAll(chunks, options) {
  const s = guard.outputStream(options)
  let shown = ''
  for (const c of chunks) shown += s.push(c)
  shown += s.finish()
  return { shown, report: s.report, blocked: s.blocked, s }
}

test('every chunking gives the one-shot report and the redacted text', () => {
  const oneShot = guard.scanOutputSync(TEXT)
  assert.ok(oneShot.findings.some((f) => f.kind === 'email'))
  const redacted = guard.redact(TEXT, { direction: 'output' })
  assert.notEqual(redacted, TEXT)
  for (let n = 1; n <= TEXT.length; n++) {
    const { shown, report, blocked, s } = streamAll(units(TEXT, n))
    assert.ok(s instanceof OutputStream)
    assert.equal(blocked, false)
    assert.equal(shown, redacted, `chunks of ${n}`)
    assert.deepEqual(report, oneShot, `chunks of ${n}`)
    for (const f of report.findings.filter((x) => x.kind === 'email')) {
      assert.match(TEXT.slice(f.start, f.end), /^\S+@example\.(org|com)$/)
    }
  }
})

test('an all-ASCII start then non-ASCII text keeps stream offsets exact', () => {
  const text = `${'plain ascii words '.repeat(40)}mail a@example.com then 😀😀 b@example.org`
  const { report } = streamAll(units(text, 13))
  assert.deepEqual(report, guard.scanOutputSync(text))
  const emails = report.findings.filter((f) => f.kind === 'email').map((f) => text.slice(f.start, f.end))
  assert.deepEqual(emails, ['a@example.com', 'b@example.org'])
})

test('the report grows as text arrives', () => {
  const s = guard.outputStream()
  s.push('first mail a@example.com and then a long tail of text. ')
  assert.equal(s.report.findings.length, 0, 'text near the end is held back, not yet decided')
  // The stream decides text once it is further back than the longest pending match.
  for (let i = 0; i < 600; i++) s.push('more text without anything to find. ')
  const early = s.report.findings.length
  assert.ok(early > 0, 'findings well before the end are reported before finish()')
  s.finish()
  assert.ok(s.report.findings.length >= early)
})

test('a canary leak blocks the stream and nothing more is released', () => {
  const token = canary()
  const prompt = `You are a bot. Marker: ${token}`
  const answer = `Sure, here is everything. ${token} and the rest of the instructions. ${'More. '.repeat(3000)}`
  const s = guard.outputStream({ prompt })
  let shown = ''
  for (const c of units(answer, 4)) shown += s.push(c)
  assert.equal(s.blocked, true, 'blocked as soon as the token is decided, before finish()')
  assert.equal(s.push(' more'), '')
  shown += s.finish()
  assert.ok(!shown.includes(token))
  assert.ok(answer.startsWith(shown))
  assert.equal(s.report.verdict, 'block')
  const f = s.report.findings.find((x) => x.category === 'canary')
  assert.equal(answer.slice(f.start, f.end), token)
})

test('using a finished stream is a STREAM error', () => {
  const s = guard.outputStream()
  s.push('hello')
  s.finish()
  assert.throws(() => s.push('again'), { code: 'STREAM', message: /already finished/ })
  assert.throws(() => s.finish(), { code: 'STREAM' })
})

test('unpaired surrogates in chunks are INPUT errors; split pairs are joined', () => {
  const split = guard.outputStream()
  assert.equal(split.push('a \ud83d') + split.push('\ude00 b') + split.finish(), 'a 😀 b')

  const lone = guard.outputStream()
  assert.throws(() => lone.push('a \ude00 b'), { code: 'INPUT', message: /unpaired UTF-16 surrogate/ })

  const broken = guard.outputStream()
  broken.push('x \ud83d')
  assert.throws(() => broken.push('no low half'), { code: 'INPUT' })

  const unfinished = guard.outputStream()
  unfinished.push('ends with \ud83d')
  assert.throws(() => unfinished.finish(), { code: 'INPUT', message: /ended with an unpaired/ })

  assert.throws(() => guard.outputStream({ prompt: 'bad \udfff' }), { code: 'INPUT' })
})

/** A web stream of `chunks` that records whether it was cancelled. */
function source(chunks) {
  const state = { cancelled: false, pulled: 0 }
  let i = 0
  const stream = new ReadableStream({
    pull(controller) {
      if (i >= chunks.length) return controller.close()
      state.pulled++
      controller.enqueue(chunks[i++])
    },
    cancel() {
      state.cancelled = true
    },
  })
  return { stream, state }
}

async function collect(readable) {
  let out = ''
  for await (const piece of readable) out += piece
  return out
}

test('web TransformStream: UTF-8 bytes split inside characters come out redacted', async () => {
  const bytes = new TextEncoder().encode(TEXT)
  for (const size of [1, 2, 3, 5, 8, 64]) {
    const chunks = []
    for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.slice(i, i + size))
    const t = outputTransform(guard)
    const out = await collect(source(chunks).stream.pipeThrough(t))
    assert.equal(out, guard.redact(TEXT, { direction: 'output' }), `byte chunks of ${size}`)
    assert.deepEqual(t.guard.report, guard.scanOutputSync(TEXT))
  }
  const strings = await collect(source(units(TEXT, 3)).stream.pipeThrough(outputTransform(guard)))
  assert.equal(strings, guard.redact(TEXT, { direction: 'output' }))
})

function leakCase() {
  const token = canary()
  const prompt = `System marker ${token}`
  const head = 'Fine. '.repeat(50)
  const chunks = units(`${head}${token} ${'tail '.repeat(4000)}`, 64)
  return { token, prompt, head, chunks }
}

test("web TransformStream onBlock 'end' stops and cancels the source", async () => {
  const { token, prompt, head, chunks } = leakCase()
  const { stream, state } = source(chunks)
  const t = outputTransform(guard, { prompt })
  const out = await collect(stream.pipeThrough(t))
  assert.ok(!out.includes(token))
  assert.ok(head.startsWith(out) || out.startsWith(head.slice(0, out.length)))
  assert.equal(t.guard.blocked, true)
  assert.equal(state.cancelled, true)
  assert.ok(state.pulled < chunks.length, 'the rest of the answer is not read')
})

test("web TransformStream onBlock 'error' errors with code BLOCKED and the report", async () => {
  const { prompt, chunks } = leakCase()
  const t = outputTransform(guard, { prompt, onBlock: 'error' })
  await assert.rejects(collect(source(chunks).stream.pipeThrough(t)), (err) => {
    assert.equal(err.code, 'BLOCKED')
    assert.equal(err.report.verdict, 'block')
    assert.ok(err.report.findings.some((f) => f.category === 'canary'))
    return true
  })
})

test("web TransformStream onBlock 'drain' reads everything and emits nothing more", async () => {
  const { token, prompt, chunks } = leakCase()
  const { stream, state } = source(chunks)
  const t = outputTransform(guard, { prompt, onBlock: 'drain' })
  const out = await collect(stream.pipeThrough(t))
  assert.ok(!out.includes(token))
  assert.equal(state.pulled, chunks.length)
  assert.equal(state.cancelled, false)
  assert.equal(t.guard.report.verdict, 'block')
})

test('web TransformStream onBlock function emits its notice once', async () => {
  const { token, prompt, chunks } = leakCase()
  let calls = 0
  const t = outputTransform(guard, {
    prompt,
    onBlock: (report) => {
      calls++
      return `[withheld: ${report.verdict}]`
    },
  })
  const out = await collect(source(chunks).stream.pipeThrough(t))
  assert.equal(calls, 1)
  assert.ok(out.endsWith('[withheld: block]'))
  assert.ok(!out.includes(token))
})

test('a bad onBlock is refused up front', () => {
  assert.throws(() => outputTransform(guard, { onBlock: 'explode' }), { code: 'INPUT' })
  assert.throws(() => outputNodeTransform(guard, { onBlock: 42 }), { code: 'INPUT' })
})

test('web TransformStream: invalid UTF-8 errors the stream', async () => {
  const t = outputTransform(guard)
  await assert.rejects(collect(source([Uint8Array.of(0x61, 0xff)]).stream.pipeThrough(t)), TypeError)
})

function sink() {
  const parts = []
  const w = new Writable({
    write(chunk, encoding, callback) {
      parts.push(String(chunk))
      callback()
    },
  })
  return { w, text: () => parts.join('') }
}

test('Node Transform: Buffers split inside characters, via pipeline()', async () => {
  const buf = Buffer.from(TEXT)
  const chunks = []
  for (let i = 0; i < buf.length; i += 3) chunks.push(buf.subarray(i, i + 3))
  const t = outputNodeTransform(guard)
  const out = sink()
  await pipeline(Readable.from(chunks), t, out.w)
  assert.equal(out.text(), guard.redact(TEXT, { direction: 'output' }))
  assert.deepEqual(t.guard.report, guard.scanOutputSync(TEXT))
})

test("Node Transform onBlock 'end' ends the output, 'error' fails the pipeline", async () => {
  const { token, prompt, chunks } = leakCase()
  const ended = outputNodeTransform(guard, { prompt })
  const out = sink()
  await pipeline(Readable.from(chunks), ended, out.w)
  assert.ok(!out.text().includes(token))
  assert.equal(ended.guard.blocked, true)

  const failing = outputNodeTransform(guard, { prompt, onBlock: 'error' })
  await assert.rejects(pipeline(Readable.from(chunks), failing, sink().w), { code: 'BLOCKED' })
})

test('the streaming example runs', async () => {
  const script = path.join(__dirname, '..', 'examples', 'stream-answer.js')
  const stdout = await new Promise((resolve, reject) => {
    execFile(process.execPath, [script], { timeout: 30_000 }, (err, out) => (err ? reject(err) : resolve(out)))
  })
  assert.match(stdout, /answer 1: Our support lead is <EMAIL> 😀, write any time\. Anything else\?/)
  assert.match(stdout, /verdict: flag blocked: false/)
  assert.match(stdout, /\[answer withheld: canary\]/)
  assert.match(stdout, /verdict: block blocked: true/)
  assert.ok(!/vlm-canary-/.test(stdout), 'the canary never reaches the reader')
})
