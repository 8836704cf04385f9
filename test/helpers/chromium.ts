/** Tests that need Chromium: CI (.ci/run) installs it and fails without it; elsewhere they skip, naming the fix. */
import assert from 'node:assert/strict'
import type { TestContext } from 'node:test'
import type { Browser } from 'playwright-core'
import { chromiumMissing, launchChromium } from '../../load/chromium.ts'

/** True (and the test skipped, naming the fix) when Chromium is not installed; CI fails instead. */
export function skipWithoutChromium(t: TestContext): boolean {
  const missing = chromiumMissing()
  if (!missing) return false
  if (process.env.CI) assert.fail(missing)
  t.skip(missing)
  return true
}

/** The browser, closed after the test; undefined (the test skipped) when Chromium is not installed. */
export async function chromiumFor(
  t: TestContext,
  extraArgs: readonly string[] = [],
): Promise<Browser | undefined> {
  if (skipWithoutChromium(t)) return undefined
  const browser = await launchChromium(extraArgs)
  t.after(() => browser.close())
  return browser
}
