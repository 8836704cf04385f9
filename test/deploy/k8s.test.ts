/**
 * The Kubernetes example (deploy/k8s/*.yaml, deploy/Dockerfile, docs/distributed.md) read as files: every
 * manifest parses, and the parts that must agree do: the Indexed Job's shard count and its `--shard i/N`,
 * the shards' `--target` and the Service, the Service and the server's container port, the results claim
 * and the shards' `--out`, and the image's entry point. Nothing is applied to a cluster.
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { parseAllDocuments } from 'yaml'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const K8S = join(ROOT, 'deploy', 'k8s')

// biome-ignore lint/suspicious/noExplicitAny: manifests are untyped YAML
type Manifest = Record<string, any>
interface Doc {
  file: string
  manifest: Manifest
}

function loadManifests(): Doc[] {
  const files = readdirSync(K8S)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort()
  assert.ok(files.length > 0, `no manifests in ${K8S}`)
  const docs: Doc[] = []
  for (const file of files) {
    const parsed = parseAllDocuments(readFileSync(join(K8S, file), 'utf8'))
    assert.ok(Array.isArray(parsed), `${file}: not a YAML stream`)
    parsed.forEach((doc, i) => {
      const where = `${file}, document ${i + 1}`
      assert.deepEqual(
        doc.errors.map((e) => e.message),
        [],
        `${where}: YAML errors`,
      )
      assert.deepEqual(
        doc.warnings.map((e) => e.message),
        [],
        `${where}: YAML warnings`,
      )
      const manifest = doc.toJS() as Manifest | null
      assert.ok(manifest !== null && typeof manifest === 'object', `${where}: empty document`)
      docs.push({ file, manifest })
    })
  }
  return docs
}

let loaded: Doc[] | undefined
/** The manifests, parsed on first use so that a YAML error fails a test, named, not the whole file. */
const docs = (): Doc[] => {
  loaded ??= loadManifests()
  return loaded
}

function only(kind: string, apiVersion: string): Manifest {
  const found = docs().filter((d) => d.manifest.kind === kind && d.manifest.apiVersion === apiVersion)
  assert.equal(found.length, 1, `exactly one ${apiVersion} ${kind} (found ${found.length})`)
  return (found[0] as Doc).manifest
}

function onlyContainer(podSpec: Manifest, what: string): Manifest {
  assert.ok(Array.isArray(podSpec?.containers), `${what}: no containers`)
  assert.equal(podSpec.containers.length, 1, `${what}: one container`)
  return podSpec.containers[0]
}

/**
 * The words a container runs, its command and args as a shell would split them: an `sh -c` script is cut
 * at whitespace (line continuations removed), quotes around a word dropped.
 */
function words(container: Manifest): string[] {
  const parts: string[] = [...(container.command ?? []), ...(container.args ?? [])].map(String)
  return parts
    .join(' ')
    .replace(/\\\n/g, ' ')
    .split(/\s+/)
    .filter(Boolean)
    .map((w) => w.replace(/^(["'])(.*)\1$/, '$2'))
}

/** The value of `--flag value` or `--flag=value` among the words, undefined if the flag is absent. */
function flag(ws: string[], name: string): string | undefined {
  for (let i = 0; i < ws.length; i++) {
    const w = ws[i] as string
    if (w === name) return ws[i + 1]
    if (w.startsWith(`${name}=`)) return w.slice(name.length + 1)
  }
  return undefined
}

/** The words of the pushbench subcommand: what follows `bin/pushbench.js`, or the whole args when the
 * container keeps the image's ENTRYPOINT (no command). */
function pushbenchWords(container: Manifest, what: string): string[] {
  if (container.command === undefined) return (container.args ?? []).map(String)
  const ws = words(container)
  const at = ws.findIndex((w) => w.endsWith('bin/pushbench.js'))
  assert.ok(at >= 0, `${what}: the container does not run bin/pushbench.js: ${ws.join(' ')}`)
  return ws.slice(at + 1)
}

test('every manifest parses and has apiVersion, kind and metadata.name', () => {
  assert.ok(docs().length >= 3, `expected the Deployment, the Service and the Job (found ${docs().length})`)
  for (const { file, manifest } of docs()) {
    for (const key of ['apiVersion', 'kind'] as const) {
      assert.equal(typeof manifest[key], 'string', `${file}: ${key}`)
      assert.notEqual(manifest[key], '', `${file}: ${key}`)
    }
    assert.equal(typeof manifest.metadata?.name, 'string', `${file} ${manifest.kind}: metadata.name`)
    assert.match(manifest.metadata.name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, `${file}: a DNS-1123 name`)
  }
})

test('the server Deployment runs `serve --control --host 0.0.0.0` on the port the Service targets', () => {
  const deployment = only('Deployment', 'apps/v1')
  const service = only('Service', 'v1')
  assert.equal(deployment.spec.replicas, 1)
  const c = onlyContainer(deployment.spec.template.spec, 'Deployment')
  const ws = pushbenchWords(c, 'Deployment')
  assert.equal(ws[0], 'serve', `the Deployment runs serve: ${ws.join(' ')}`)
  assert.ok(ws.includes('--control'), 'serve --control (the shards read the server through it)')
  assert.equal(flag(ws, '--host'), '0.0.0.0', 'serve binds every address, not loopback')
  assert.equal(flag(ws, '--transport'), 'websocket')

  const ports: Manifest[] = c.ports ?? []
  assert.equal(ports.length, 1, 'one container port')
  const port = ports[0] as Manifest
  assert.equal(Number(flag(ws, '--port')), port.containerPort, 'serve --port is the containerPort')

  // the Service selects the server's pod and forwards to its port
  const podLabels = deployment.spec.template.metadata.labels
  for (const [k, v] of Object.entries(service.spec.selector ?? {})) {
    assert.equal(podLabels[k], v, `the Service's selector ${k}=${v} matches the server's pod`)
  }
  assert.ok(Object.keys(service.spec.selector ?? {}).length > 0, 'the Service has a selector')
  const sp = (service.spec.ports ?? []) as Manifest[]
  assert.equal(sp.length, 1, 'the Service has one port')
  const target = (sp[0] as Manifest).targetPort ?? (sp[0] as Manifest).port
  if (typeof target === 'string') assert.equal(target, port.name, 'targetPort names the container port')
  else assert.equal(target, port.containerPort, "the Service's targetPort is the containerPort")

  // ready when the control endpoint answers, on that port
  const probe = c.readinessProbe?.httpGet
  assert.ok(probe, 'an httpGet readinessProbe')
  assert.equal(probe.path, '/pushbench/clock')
  assert.ok(probe.port === port.containerPort || probe.port === port.name, 'the probe uses the server port')
})

test('the shards are an Indexed Job whose --shard i/N, --target and --out agree with the other manifests', () => {
  const job = only('Job', 'batch/v1')
  const service = only('Service', 'v1')
  const spec = job.spec
  assert.equal(spec.completionMode, 'Indexed')
  assert.equal(typeof spec.completions, 'number')
  assert.equal(spec.parallelism, spec.completions, 'all shards run at once')
  assert.equal(spec.backoffLimit, 0, 'a failed shard is not retried into another window')
  assert.ok(['Never', 'OnFailure'].includes(spec.template.spec.restartPolicy), 'a Job restartPolicy')

  const c = onlyContainer(spec.template.spec, 'Job')
  const ws = pushbenchWords(c, 'Job')
  assert.equal(ws[0], 'run', `the shards run \`run\`: ${ws.join(' ')}`)

  const shard = flag(ws, '--shard')
  assert.ok(shard !== undefined, 'the shards pass --shard')
  const m = /^\$(?:\{JOB_COMPLETION_INDEX\}|JOB_COMPLETION_INDEX|\(JOB_COMPLETION_INDEX\))\/(\d+)$/.exec(
    shard,
  )
  assert.ok(m, `--shard is \${JOB_COMPLETION_INDEX}/N, not ${shard}`)
  assert.equal(Number(m[1]), spec.completions, '--shard i/N has N = spec.completions')

  const clients = Number(flag(ws, '--clients'))
  assert.ok(Number.isInteger(clients) && clients >= spec.completions, '--clients is the total over shards')

  const target = flag(ws, '--target')
  assert.ok(target !== undefined, 'the shards pass --target')
  const url = new URL(target)
  const svc = service.metadata.name
  const ns = service.metadata.namespace
  const names = [svc, ...(ns ? [`${svc}.${ns}`, `${svc}.${ns}.svc`, `${svc}.${ns}.svc.cluster.local`] : [])]
  assert.ok(names.includes(url.hostname), `--target names the Service ${svc}, not ${url.hostname}`)
  assert.equal(Number(url.port), (service.spec.ports[0] as Manifest).port, "--target has the Service's port")

  // the window's start comes from START_AT, in the container's environment
  assert.ok(
    (c.env ?? []).some((e: Manifest) => e.name === 'START_AT'),
    'START_AT is in the environment',
  )
  assert.match(words(c).join(' '), /--start-at[ =]"?\$\{?START_AT\}?"?/, '--start-at "$START_AT"')

  // the results go to the claim, one file per shard
  const out = flag(ws, '--out')
  assert.ok(out?.includes('JOB_COMPLETION_INDEX'), `--out names one file per shard: ${out}`)
  const claims = docs()
    .filter((d) => d.manifest.kind === 'PersistentVolumeClaim')
    .map((d) => d.manifest)
  const vols = (spec.template.spec.volumes ?? []) as Manifest[]
  const vol = vols.find((v) => v.persistentVolumeClaim !== undefined)
  assert.ok(vol, 'the shards mount a PersistentVolumeClaim')
  const claim = claims.find((k) => k.metadata.name === vol.persistentVolumeClaim.claimName)
  assert.ok(claim, `the claim ${vol.persistentVolumeClaim.claimName} is defined in deploy/k8s/`)
  assert.ok(
    claim.spec.accessModes.includes('ReadWriteMany'),
    'shards on several nodes mount it at once: ReadWriteMany',
  )
  const mount = ((c.volumeMounts ?? []) as Manifest[]).find((v) => v.name === vol.name)
  assert.ok(mount, 'the container mounts the claim')
  assert.ok(out?.startsWith(`${mount.mountPath.replace(/\/$/, '')}/`), `--out ${out} is on the claim`)

  // one shard per node, preferred
  const anti = spec.template.spec.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution
  assert.ok(Array.isArray(anti) && anti.length > 0, 'preferred podAntiAffinity')
  const podLabels = spec.template.metadata.labels
  assert.ok(
    anti.some(
      (t: Manifest) =>
        t.podAffinityTerm.topologyKey === 'kubernetes.io/hostname' &&
        Object.entries(t.podAffinityTerm.labelSelector.matchLabels).every(([k, v]) => podLabels[k] === v),
    ),
    'the shards keep away from each other, per node',
  )

  // every pod runs the same image
  const images = new Set(
    docs().flatMap(({ manifest }) => {
      const podSpec = manifest.kind === 'Pod' ? manifest.spec : manifest.spec?.template?.spec
      return ((podSpec?.containers ?? []) as Manifest[]).map((x) => x.image)
    }),
  )
  assert.equal(images.size, 1, `one image for every pod: ${[...images].join(', ')}`)
})

test('the Dockerfile runs bin/pushbench.js as a non-root user, without downloading a browser', () => {
  const text = readFileSync(join(ROOT, 'deploy', 'Dockerfile'), 'utf8')
  const lines = text.split('\n').filter((l) => !l.trimStart().startsWith('#'))
  const directive = (name: string): string[] =>
    lines.filter((l) => l.trimStart().toUpperCase().startsWith(`${name} `)).map((l) => l.trim())

  const from = directive('FROM')
  assert.equal(from.length, 1)
  assert.match(from[0] as string, /^FROM node:20[-.\w]*bookworm-slim\b/)

  const entry = directive('ENTRYPOINT')
  assert.equal(entry.length, 1, 'one ENTRYPOINT')
  const argv = JSON.parse((entry[0] as string).slice('ENTRYPOINT'.length)) as string[]
  assert.deepEqual(argv, ['node', 'bin/pushbench.js'])

  // the files bin/pushbench.js needs at runtime are in the image, and tsx among the installed packages
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
  assert.ok(pkg.dependencies?.tsx, 'tsx is a runtime dependency (the image runs the TypeScript with it)')
  assert.ok(
    directive('RUN').some((l) => /\bnpm ci\b/.test(l)),
    'dependencies installed with npm ci',
  )
  assert.match(text, /PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1/)

  const user = directive('USER')
  assert.ok(user.length > 0, 'a USER')
  const who = (user.at(-1) as string).slice('USER'.length).trim().split(':')[0]
  assert.ok(who !== 'root' && who !== '0', `runs as non-root, not ${who}`)
  // the pods' runAsUser is that user
  for (const { manifest } of docs()) {
    const podSpec = manifest.kind === 'Pod' ? manifest.spec : manifest.spec?.template?.spec
    if (podSpec === undefined) continue
    assert.equal(podSpec.securityContext?.runAsNonRoot, true, `${manifest.kind}: runAsNonRoot`)
    assert.equal(
      String(podSpec.securityContext?.runAsUser),
      who,
      `${manifest.kind}: runAsUser is the image's`,
    )
  }

  // a .dockerignore keeps node_modules and results out of the build context
  const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n')
  for (const entry of ['node_modules', 'results', '.git']) assert.ok(ignore.includes(entry), entry)
})
