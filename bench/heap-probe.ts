// Preloaded into the server under test in idle mode only (`node --expose-gc --import tsx
// --import ./bench/heap-probe.ts src/server.ts`), so the bench can read the server's heap from
// outside: over the IPC channel it answers `{probe: 'memory'}` with process.memoryUsage() taken
// right after a full GC. It changes nothing else, and the channel does not keep the process alive.

process.on('message', (msg: { probe?: string }) => {
  if (msg?.probe !== 'memory') return
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
  process.send?.({ probe: 'memory', memory: process.memoryUsage(), gc: Boolean(gc) })
})
process.channel?.unref()
