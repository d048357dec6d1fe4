'use strict'
// Loads the native addon built from bindings/node (`npm run build` puts it beside this
// file as vallum.<platform>.node). All logic lives in the Rust core; this file only finds
// the binary for this platform.

const { existsSync } = require('node:fs')
const { join } = require('node:path')

function isMusl() {
  if (process.platform !== 'linux') return false
  const report = typeof process.report?.getReport === 'function' ? process.report.getReport() : null
  return !report?.header?.glibcVersionRuntime
}

function candidates() {
  const { platform, arch } = process
  if (platform === 'linux') {
    const libc = isMusl() ? ['musl', 'gnu'] : ['gnu', 'musl']
    return libc.map((c) => `vallum.linux-${arch}-${c}.node`)
  }
  if (platform === 'win32') return [`vallum.win32-${arch}-msvc.node`]
  if (platform === 'darwin') return [`vallum.darwin-${arch}.node`, 'vallum.darwin-universal.node']
  return [`vallum.${platform}-${arch}.node`]
}

function load() {
  const override = process.env.VALLUM_NATIVE_LIBRARY_PATH
  if (override) return require(override)
  const tried = []
  for (const name of candidates()) {
    const file = join(__dirname, name)
    tried.push(file)
    if (existsSync(file)) return require(file)
  }
  const err = new Error(
    `vallum: no native addon for ${process.platform}-${process.arch} (looked for ${tried.join(', ')}). ` +
      'Build it with `npm run build` in the package folder (needs a Rust toolchain).',
  )
  err.code = 'MODULE_NOT_FOUND'
  throw err
}

const native = load()

// Named one by one so that ESM `import { Guard } from 'vallum'` sees them (Node finds the
// names of a CommonJS module by reading its source).
module.exports.Guard = native.Guard
module.exports.Vault = native.Vault
module.exports.OutputStream = native.OutputStream
module.exports.canary = native.canary
module.exports.Verdict = native.Verdict
module.exports.Action = native.Action
module.exports.Category = native.Category
module.exports.Direction = native.Direction
for (const name of Object.keys(native)) {
  if (!(name in module.exports)) module.exports[name] = native[name]
}
