/**
 * Progress on long work: a bar with scenario i/n, transport, phase and time left on a terminal;
 * one plain line per phase change when stderr is not a TTY or CI is set. Always on stderr.
 */
import { SingleBar } from 'cli-progress'

export interface Progress {
  /** a new task (a transport run, a capacity search, autocannon) with its planned seconds */
  task(label: string, plannedS: number): void
  phase(phase: string, detail?: string): void
  /** a line that stays (results of a step, warnings) */
  log(line: string): void
  stop(): void
}

function fmtS(s: number): string {
  const t = Math.max(0, Math.round(s))
  return t >= 60 ? `${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s` : `${t}s`
}

/** `totalS` is the planned seconds of the whole run; time left is planned minus what is done, re-estimated as tasks end. */
export function createProgress(totalTasks: number, totalS: number, stream = process.stderr): Progress {
  const interactive = stream.isTTY === true && !process.env.CI
  let index = 0
  let label = ''
  let doneS = 0
  let taskPlannedS = 0
  let taskStart = Date.now()
  const left = () => fmtS(totalS - doneS - Math.min(taskPlannedS, (Date.now() - taskStart) / 1000))
  const endTask = () => {
    if (index > 0) doneS += taskPlannedS
  }

  if (!interactive) {
    return {
      task(l, plannedS) {
        endTask()
        index++
        label = l
        taskPlannedS = plannedS
        taskStart = Date.now()
      },
      phase(phase, detail) {
        if (phase === 'connect' && detail?.includes('/')) return
        stream.write(
          `[${index}/${totalTasks}] ${label} · ${phase}${detail ? ` ${detail}` : ''} · ~${left()} left\n`,
        )
      },
      log(line) {
        stream.write(`${line}\n`)
      },
      stop() {},
    }
  }

  const bar = new SingleBar(
    {
      format: ' {bar} {value}/{total} | {label} | {phase} | ~{left} left',
      barsize: 24,
      hideCursor: true,
      clearOnComplete: true,
      stream,
    },
    undefined,
  )
  bar.start(totalTasks, 0, { label: '', phase: 'starting', left: fmtS(totalS) })
  const timer = setInterval(() => bar.update({ left: left() }), 1000)
  timer.unref()
  return {
    task(l, plannedS) {
      endTask()
      bar.update(index, { label: l, phase: 'starting', left: left() })
      index++
      label = l
      taskPlannedS = plannedS
      taskStart = Date.now()
    },
    phase(phase, detail) {
      bar.update({ phase: detail ? `${phase} ${detail}` : phase, left: left() })
    },
    log(line) {
      // print above the bar
      stream.write(`\r\x1b[K${line}\n`)
      bar.render()
    },
    stop() {
      clearInterval(timer)
      bar.update(totalTasks)
      bar.stop()
    },
  }
}
