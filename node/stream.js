'use strict'
// Stream adapters over Guard.outputStream(): a web TransformStream and a Node Transform,
// so a streamed model answer can be piped through the guard. No detection happens here:
// every chunk goes to the Rust OutputStream, which returns the text that is safe to show.

const { Transform } = require('node:stream')
const { StringDecoder } = require('node:string_decoder')

const ON_BLOCK = new Set(['end', 'error', 'drain'])

function blockedError(report) {
  const err = new Error('vallum: the streamed output was blocked')
  err.code = 'BLOCKED'
  err.report = report
  return err
}

/**
 * The shared state of one adapter: the native stream plus what to do once it blocks.
 * `emit(text)` sends text downstream; `end()` ends the output early; `fail(err)` errors it.
 */
function session(guard, options, { emit, end, fail }) {
  const onBlock = options.onBlock ?? 'end'
  if (typeof onBlock !== 'function' && !ON_BLOCK.has(onBlock)) {
    const err = new TypeError(`vallum: onBlock must be 'end', 'error', 'drain' or a function, got ${String(onBlock)}`)
    err.code = 'INPUT'
    throw err
  }
  const stream = guard.outputStream({ prompt: options.prompt })
  let stopped = false

  const afterPush = (safe) => {
    if (safe) emit(safe)
    if (!stream.blocked || stopped) return
    stopped = true
    const report = stream.report
    if (onBlock === 'error') return fail(blockedError(report))
    if (onBlock === 'drain') return
    if (typeof onBlock === 'function') {
      const notice = onBlock(report)
      if (typeof notice === 'string' && notice) emit(notice)
    }
    end()
  }

  return {
    stream,
    push(text) {
      if (stopped) return
      afterPush(stream.push(text))
    },
    finish() {
      if (stopped) return
      afterPush(stream.finish())
    },
  }
}

/**
 * A web `TransformStream` that guards a streamed answer: write the model's chunks (strings,
 * or `Uint8Array`s of UTF-8), read the text that is safe to show (strings).
 *
 * When a blocking finding appears, `options.onBlock` decides: `'end'` (default) closes the
 * readable side and cancels the source, `'error'` errors the stream with an `Error` whose
 * `code` is `BLOCKED` and whose `report` is the report, `'drain'` keeps reading the source
 * and emits nothing more, and a function `(report) => string | void` is called once and
 * may return a last piece of text to emit (e.g. a notice) before the stream ends.
 *
 * The returned stream has a `guard` property: the native `OutputStream`, for its `report`
 * and `blocked` state.
 */
function outputTransform(guard, options = {}) {
  const decoder = new TextDecoder('utf-8', { fatal: true })
  let controller
  let s
  const transform = new TransformStream({
    start(c) {
      controller = c
    },
    transform(chunk) {
      s.push(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }))
    },
    flush() {
      const rest = decoder.decode()
      if (rest) s.push(rest)
      s.finish()
    },
  })
  s = session(guard, options, {
    emit: (text) => controller.enqueue(text),
    end: () => controller.terminate(),
    fail: (err) => controller.error(err),
  })
  transform.guard = s.stream
  return transform
}

/**
 * The same as `outputTransform` as a Node `stream.Transform` (for `pipeline()` and
 * `.pipe()`): it takes strings or Buffers of UTF-8 and emits strings. With `onBlock: 'end'`
 * the readable side ends at once and the rest of the input is read and dropped.
 */
function outputNodeTransform(guard, options = {}) {
  const decoder = new StringDecoder('utf8')
  let ended = false
  let s
  const transform = new Transform({
    decodeStrings: false,
    encoding: 'utf8',
    transform(chunk, encoding, callback) {
      try {
        s.push(typeof chunk === 'string' ? chunk : decoder.write(chunk))
        callback()
      } catch (err) {
        callback(err)
      }
    },
    flush(callback) {
      try {
        const rest = decoder.end()
        if (rest) s.push(rest)
        s.finish()
        callback()
      } catch (err) {
        callback(err)
      }
    },
  })
  s = session(guard, options, {
    emit: (text) => {
      if (!ended) transform.push(text)
    },
    end: () => {
      ended = true
      transform.push(null)
    },
    fail: (err) => transform.destroy(err),
  })
  transform.guard = s.stream
  return transform
}

module.exports = { outputTransform, outputNodeTransform }
