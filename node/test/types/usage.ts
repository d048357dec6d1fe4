// Type-checked (tsc --noEmit) against the generated index.d.ts and stream.d.ts: the
// documented API must type-check as a TypeScript user writes it. Never run.
import { Guard, Vault, canary } from 'vallum'
import type { Category, Finding, OutputStream, Report, Verdict } from 'vallum'
import { outputNodeTransform, outputTransform } from 'vallum/stream'
import type { BlockedError } from 'vallum/stream'

const guards: Guard[] = [
  new Guard(),
  new Guard('[actions]\npii = "redact"'),
  new Guard('./policy.toml'),
  new Guard({ actions: { pii: 'redact' }, thresholds: { prompt_injection: 0.7 } }),
]
const guard = guards[0]

const report: Report = guard.scanInputSync('hello')
const verdict: Verdict = report.verdict
if (verdict === 'block' || report.verdict === 'flag') {
  console.log('stop')
}
const score: number = report.score
for (const f of report.findings) {
  const category: Category = f.category
  const piiOrSecret: boolean = category === 'pii' || f.category === 'secret'
  const span: string = 'hello'.slice(f.start, f.end)
  const action: 'allow' | 'flag' | 'redact' | 'block' = f.action
  const detail: string | undefined = f.detail
  console.log(f.kind, f.rule, f.score, piiOrSecret, span, action, detail)
}
const fromBytes: Report = guard.scanOutputSync(Buffer.from('hi'), { prompt: 'system' })
const fromArray: Report = guard.scanInputSync(new TextEncoder().encode('hi'))

async function main(): Promise<void> {
  const a: Report = await guard.scanInput('text')
  const b: Report = await guard.scanOutput('answer', { prompt: 'question' })
  const c: Report = await guard.scanOutput('answer')
  const findings: Finding[] = [...a.findings, ...b.findings, ...c.findings]
  console.log(findings.length, score, fromBytes, fromArray)

  const clean: string = guard.redact('mail me at jane@example.org')
  const cleanOut: string = guard.redact('x', { direction: 'output' })
  const { text: masked, vault } = guard.anonymize('mail me at jane@example.org')
  const v: Vault = vault
  const restored: string = v.restore(masked)
  const n: number = vault.size
  const placeholders: string[] = vault.placeholders()
  const token: string = canary()
  console.log(clean, cleanOut, restored, n, placeholders, token)

  const s: OutputStream = guard.outputStream({ prompt: `system ${token}` })
  let shown: string = s.push('chunk one ')
  shown += s.push('chunk two')
  shown += s.finish()
  const streamed: Report = s.report
  const blocked: boolean = s.blocked
  console.log(shown, streamed, blocked)

  const web = outputTransform(guard, { prompt: 'system', onBlock: (r: Report) => `[withheld: ${r.verdict}]` })
  const source = new ReadableStream<string>({
    start(controller) {
      controller.enqueue('hello')
      controller.close()
    },
  })
  for await (const piece of source.pipeThrough(web)) {
    const text: string = piece
    console.log(text)
  }
  console.log(web.guard.blocked)

  const node = outputNodeTransform(guard, { onBlock: 'error' })
  node.on('error', (err) => {
    const blockedErr = err as BlockedError
    console.log(blockedErr.code, blockedErr.report.verdict)
  })

  try {
    new Guard({ limits: { max_input_bytes: 0 } })
  } catch (e) {
    const code = (e as Error & { code?: string }).code
    if (code === 'POLICY') console.log('bad policy')
  }
}

void main()

// Misuse must not type-check.
// @ts-expect-error: a number is not a text
guard.scanInputSync(42)
// @ts-expect-error: direction is 'input' | 'output'
guard.redact('x', { direction: 'sideways' })
// @ts-expect-error: verdicts are a closed set
const wrong: Verdict = 'maybe'
