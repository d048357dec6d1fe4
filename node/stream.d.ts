// Types of stream.js: stream adapters over Guard.outputStream().
import type { Transform } from 'node:stream'
import type { Guard, OutputStream, Report } from './index'

/**
 * What happens when a blocking finding appears: `'end'` (default) ends the output (and,
 * for the web stream, cancels the source), `'error'` errors the stream with a
 * {@link BlockedError}, `'drain'` keeps reading the input and emits nothing more, and a
 * function is called once with the report and may return a last text to emit.
 */
export type OnBlock = 'end' | 'error' | 'drain' | ((report: Report) => string | void)

export interface OutputTransformOptions {
  /** The prompt or context the streamed answer responds to (canaries, prompt leaks). */
  prompt?: string
  /** What to do once the stream is blocked; default `'end'`. */
  onBlock?: OnBlock
}

/** The error of a stream blocked with `onBlock: 'error'`. */
export interface BlockedError extends Error {
  code: 'BLOCKED'
  /** The report at the moment the stream was blocked. */
  report: Report
}

/**
 * A web `TransformStream` that guards a streamed answer: write the model's chunks (strings
 * or `Uint8Array`s of UTF-8), read the text that is safe to show.
 */
export declare function outputTransform(
  guard: Guard,
  options?: OutputTransformOptions,
): TransformStream<string | Uint8Array, string> & { readonly guard: OutputStream }

/** The same as {@link outputTransform}, as a Node `stream.Transform` emitting strings. */
export declare function outputNodeTransform(
  guard: Guard,
  options?: OutputTransformOptions,
): Transform & { readonly guard: OutputStream }
