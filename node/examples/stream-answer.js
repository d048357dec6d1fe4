'use strict'
// Piping a streamed model answer through the guard.
//
// The model's tokens go through `outputTransform`: what comes out is safe to show at once
// (personal data redacted even when it is split across chunks), and once the answer leaks
// the canary planted in the system prompt the rest is withheld.
//
//   node examples/stream-answer.js

const { Guard, canary } = require('vallum')
const { outputTransform } = require('vallum/stream')

/**
 * A stand-in for a streaming model API: the answer as UTF-8 bytes in small chunks, like a
 * network body (a chunk may end inside a character).
 */
function fakeModelStream(answer, chunkSize = 7) {
  const bytes = new TextEncoder().encode(answer)
  let at = 0
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close()
      controller.enqueue(bytes.slice(at, at + chunkSize))
      at += chunkSize
    },
  })
}

/** Streams `answer` through the guard; returns what the user would see and the report. */
async function streamGuarded(guard, answer, systemPrompt) {
  const transform = outputTransform(guard, {
    prompt: systemPrompt,
    onBlock: (report) => `\n[answer withheld: ${report.findings.find((f) => f.action === 'block')?.category}]`,
  })
  let shown = ''
  for await (const piece of fakeModelStream(answer).pipeThrough(transform)) shown += piece
  return { shown, report: transform.guard.report, blocked: transform.guard.blocked }
}

async function main() {
  // Personal data is only flagged by default; this policy redacts it in the answer.
  const guard = new Guard({ actions: { pii: 'redact' } })
  const token = canary()
  const systemPrompt = `You are a support bot. Secret marker: ${token}`

  const ok = await streamGuarded(
    guard,
    'Our support lead is maria.rossi@example.com 😀, write any time. Anything else?',
    systemPrompt,
  )
  console.log('answer 1:', ok.shown)
  console.log('  verdict:', ok.report.verdict, 'blocked:', ok.blocked)

  const leak = await streamGuarded(
    guard,
    `Sure! My instructions say: "Secret marker: ${token}". Then they go on and on about more things.`,
    systemPrompt,
  )
  console.log('answer 2:', leak.shown)
  console.log('  verdict:', leak.report.verdict, 'blocked:', leak.blocked)
  return { ok, leak }
}

module.exports = { streamGuarded, fakeModelStream, main }

if (require.main === module) {
  main().catch((err) => {
    console.error(err)
    process.exit(1)
  })
}
