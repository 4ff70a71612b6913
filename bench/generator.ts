import { type ChildProcess, fork } from 'node:child_process'
import { join } from 'node:path'
import { BENCH_DIR, ROOT } from './lib.js'
import type { FromLoadgen, ToLoadgen } from './messages.js'

/** A forked load generator, driven over IPC one command at a time. */
export class Generator {
  readonly child: ChildProcess
  private waiting: ((msg: FromLoadgen) => void) | null = null
  private failed: Error | null = null

  constructor(
    readonly index: number,
    profileDir?: string,
  ) {
    const profile = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []
    this.child = fork(join(BENCH_DIR, 'loadgen.ts'), [], {
      cwd: ROOT,
      execArgv: [...profile, '--import', 'tsx', '--max-old-space-size=2048'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    this.child.on('message', (msg: FromLoadgen) => {
      const waiter = this.waiting
      this.waiting = null
      waiter?.(msg)
    })
    this.child.on('exit', (code) => {
      this.failed = new Error(`load generator ${index} exited (${code})`)
      const waiter = this.waiting
      this.waiting = null
      waiter?.({ evt: 'fatal', error: this.failed.message })
    })
  }

  get pid(): number {
    return this.child.pid ?? 0
  }

  request<T extends FromLoadgen>(cmd: ToLoadgen, timeoutMs: number): Promise<T> {
    if (this.failed) return Promise.reject(this.failed)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = null
        reject(new Error(`load generator ${this.index}: no answer to ${cmd.cmd} within ${timeoutMs} ms`))
      }, timeoutMs)
      this.waiting = (msg) => {
        clearTimeout(timer)
        if (msg.evt === 'fatal') reject(new Error(`load generator ${this.index}: ${msg.error}`))
        else resolve(msg as T)
      }
      this.child.send(cmd)
    })
  }

  async close(): Promise<void> {
    if (this.failed || !this.child.connected) return
    const exited = new Promise((resolve) => this.child.once('exit', resolve))
    try {
      await this.request({ cmd: 'close' }, 10_000)
    } catch {
      // fall through to the kill
    }
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
  }
}
