/**
 * Plugin modules: `PUSHBENCH_PLUGINS=path/a.ts,path/b.ts` names modules that register transports
 * (lib/transports.ts `registerTransport`). The CLI imports them before it reads the registry, and every
 * child process (server, generator) gets them as `--import` flags, so all processes of a run agree.
 */
import { isAbsolute, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { PbOptionError } from './errors.ts'

/** The plugin modules named in the environment, as file URLs (relative paths are from the working folder). */
export function pluginUrls(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.PUSHBENCH_PLUGINS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((p) => pathToFileURL(isAbsolute(p) ? p : resolve(p)).href)
}

/** Imports every plugin module (in order); one that fails to load is a bad setting, named. */
export async function loadPlugins(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  for (const url of pluginUrls(env)) {
    try {
      await import(url)
    } catch (err) {
      throw new PbOptionError('PUSHBENCH_PLUGINS', `cannot load ${url}: ${(err as Error).message}`)
    }
  }
}

/** `--import URL` for each plugin, for a child `node` process. */
export function pluginNodeArgs(env: NodeJS.ProcessEnv = process.env): string[] {
  return pluginUrls(env).flatMap((url) => ['--import', url])
}
