/** The terminal summary of a results file: returns a string, writes nothing (the caller picks stdout or stderr). */
import type { ResultsFile } from '../lib/results-schema.ts'
import { scaleSweeps } from './chart-configs.ts'
import { buildFaultTables, describeFaults } from './fault-tables.ts'
import { describeEnv, describeLifecycle, describeParams } from './format.ts'
import { ONE_WAY_NUMERIC, oneWayTwoWayTables } from './one-way-two-way.ts'
import {
  autocannonRuns,
  buildBaselineTable,
  buildCapacityTable,
  buildIdleTable,
  buildLifecycleTable,
  buildMicroTable,
  buildPollModesTable,
  buildScaleTable,
  buildSummaryTable,
  describeAutocannon,
  type PlainTable,
  SCALE_NUMERIC,
  type SummaryTable,
} from './summary-table.ts'
import { verdict } from './verdict.ts'
import { collectWarnings, type ReportWarning, warningLine } from './warnings.ts'

export interface SummaryOptions {
  /** ANSI colour and bold; off by default (pass `process.stdout.isTTY && !process.env.NO_COLOR`) */
  color?: boolean
}

interface Style {
  bold: (s: string) => string
  win: (s: string) => string
  warn: (s: string) => string
  err: (s: string) => string
  dim: (s: string) => string
}

const ansi = (open: string) => (s: string) => `\x1b[${open}m${s}\x1b[0m`
const plain: Style = { bold: (s) => s, win: (s) => s, warn: (s) => s, err: (s) => s, dim: (s) => s }
const colored: Style = {
  bold: ansi('1'),
  win: ansi('1;32'),
  warn: ansi('33'),
  err: ansi('31'),
  dim: ansi('2'),
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: strips the ANSI codes this file adds
const visibleLength = (s: string): number => s.replace(/\x1b\[[0-9;]*m/g, '').length

/**
 * Formats the whole file: run and env lines, then per scenario its params, the transport table (winner
 * of each column marked `*`), warnings under it, the capacity table and the autocannon line when present.
 */
export function formatSummary(file: ResultsFile, opts: SummaryOptions = {}): string {
  const st = opts.color ? colored : plain
  const warnings = collectWarnings(file)
  const out: string[] = []
  const took = file.finishedAt
    ? ` (took ${formatDuration(Date.parse(file.finishedAt) - Date.parse(file.startedAt))})`
    : ''
  out.push(
    st.bold(`pushbench · profile ${file.profile} · run ${file.runId} · started ${file.startedAt}${took}`),
  )
  out.push(describeEnv(file.env))
  for (const w of warnings.filter((w) => w.scenario === undefined)) out.push(st.warn(`! ${w.text}`))

  for (const s of file.scenarios) {
    out.push(
      '',
      st.bold(`== ${s.name} ==`),
      st.dim(describeLifecycle(s) ?? describeFaults(s) ?? describeParams(s.params)),
      '',
    )
    const idle = buildIdleTable(s)
    const life = buildLifecycleTable(s)
    const faults = buildFaultTables(s)
    if (faults.length > 0) {
      faults.forEach((f, i) => {
        if (i > 0) out.push('')
        out.push(st.bold(`${f.kind}: ${f.heading}`), ...renderPlainTable(f.table, st, f.numeric))
      })
    } else if (life) {
      out.push(st.bold('connection lifecycle: connect to first update, and close (p50, model in brackets)'))
      out.push(
        ...renderPlainTable(
          life,
          st,
          new Set(['first', 'setup', 'close', 'closeB', 'link', 'packets', 'tw']),
        ),
      )
      const modes = buildPollModesTable(s)
      if (modes)
        out.push('', ...renderPlainTable(modes, st, new Set(['conns', 'poll', 'bytes', 'link', 'tw'])))
    } else if (idle) {
      out.push(st.bold('idle: what a held connection costs with nothing published'))
      out.push(...renderPlainTable(idle, st, new Set(['bytes', 'c2s', 's2c', 'cpu'])))
    } else if (s.results.length > 0) {
      out.push(...renderSummaryTable(buildSummaryTable(s), st))
      out.push(st.dim('* best in column (among the runs whose generator kept up)'))
    } else out.push('(no transport results)')
    const mine = warnings.filter((w) => w.scenario === s.name && w.kind !== 'errored')
    for (const w of mine) out.push(warningText(w, st))
    const said = verdict(s)
    if (said.length > 0) out.push('', st.bold('verdict:'), ...said.map((v) => wrap(`- ${v.text}`, 100, '  ')))
    if (s.capacity && s.capacity.length > 0) {
      out.push('', st.bold('capacity: the highest rate each transport sustained within the limits'))
      out.push(
        ...renderPlainTable(
          buildCapacityTable(s.capacity),
          st,
          new Set(['max', 'clients', 'steps', 'ceiling']),
        ),
      )
    }
    const held = buildBaselineTable(s)
    if (held) {
      out.push(
        '',
        st.bold('held against the bare baselines (server CPU per delivered update, same scenario)'),
      )
      out.push(
        ...renderPlainTable(held, st, new Set(['own', 'base', 'ownMax', 'baseMax', 'ratio', 'cap', 'ok'])),
      )
    }
    const ac = autocannonRuns(s)
    if (ac.length > 0) out.push('', ...ac.map(describeAutocannon))
  }
  for (const sw of scaleSweeps(file)) {
    const t = buildScaleTable(sw)
    if (!t) continue
    out.push('', st.bold(`== cost against clients: ${t.title} ==`), st.dim(t.conditions), '')
    out.push(...renderPlainTable(t, st, new Set(SCALE_NUMERIC)))
    out.push('', ...t.growth.map((g) => wrap(`- ${g}`, 100, '  ')))
  }
  for (const t of oneWayTwoWayTables(file)) {
    out.push('', st.bold(`== one-way ticker against two-way chat: ${t.ticker} vs ${t.chat} ==`))
    out.push(st.dim(wrap(t.conditions, 100, '')), '')
    out.push(...renderPlainTable(t, st, new Set(ONE_WAY_NUMERIC)))
  }
  if (file.micro && file.micro.length > 0) {
    out.push('', st.bold('== micro-benchmarks (per message) =='), '')
    out.push(
      ...renderPlainTable(buildMicroTable(file.micro), st, new Set(['payload', 'ops', 'mean', 'p99', 'rme'])),
    )
  }
  return `${out.join('\n')}\n`
}

function warningText(w: ReportWarning, st: Style): string {
  const line = `! ${warningLine({ ...w, scenario: undefined })}`
  return w.level === 'error' ? st.err(line) : st.warn(line)
}

function renderSummaryTable(t: SummaryTable, st: Style): string[] {
  const header = t.columns.map((c) => c.header)
  const body: string[][] = t.rows.map((r) => {
    if (r.error !== undefined) return [r.transport, st.err(`ERRORED: ${oneLine(r.error)}`)]
    return [
      r.transport,
      // a trailing mark slot on every cell keeps the columns aligned whether or not a cell won
      ...r.cells.map((c) => (c.winner ? st.win(`${c.text}*`) : `${c.text} `)),
      r.saturated ? st.warn('YES') : 'no',
    ]
  })
  const right = new Set(t.columns.map((_, i) => i).filter((i) => i > 0 && i < t.columns.length - 1))
  // the header of a right-aligned column leaves room for the mark slot
  const headerCells = header.map((h, i) => (right.has(i) ? `${h} ` : h))
  return layout([headerCells.map(st.bold), ...body], right)
}

function renderPlainTable(t: PlainTable, st: Style, rightKeys: Set<string>): string[] {
  const right = new Set(t.columns.map((c, i) => (rightKeys.has(c.key) ? i : -1)).filter((i) => i >= 0))
  return layout([t.columns.map((c) => st.bold(c.header)), ...t.rows], right)
}

/** Pads cells to column widths; a row with fewer cells (an errored run) lets its last cell run on. */
function layout(rows: string[][], right: Set<number>): string[] {
  const full = rows.filter((r) => r.length === rows[0]?.length)
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...full.map((r) => visibleLength(r[i] ?? ''))))
  return rows.map((r) =>
    r
      .map((cell, i) => {
        if (i === r.length - 1 && r.length < widths.length) return cell
        const pad = ' '.repeat(Math.max(0, (widths[i] ?? 0) - visibleLength(cell)))
        return right.has(i) ? pad + cell : cell + pad
      })
      .join('  ')
      .trimEnd(),
  )
}

/** Breaks a sentence at spaces to `width` columns, later lines indented. */
export function wrap(text: string, width: number, indent: string): string {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line)
      line = indent + word
    } else line = line ? `${line} ${word}` : word
  }
  if (line) lines.push(line)
  return lines.join('\n')
}

const oneLine = (s: string): string => s.replace(/\s*\n\s*/g, ' ').trim()

function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?'
  const s = Math.round(ms / 1000)
  return s >= 60 ? `${Math.floor(s / 60)}m ${s % 60}s` : `${s}s`
}
