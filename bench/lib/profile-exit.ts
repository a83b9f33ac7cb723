/**
 * Preloaded into child processes only when BENCH_CPU_PROF is set: `--cpu-prof` writes its
 * profile on a normal exit, so a process whose shutdown hangs after SIGTERM is made to exit
 * (5 s later) instead of being killed without a profile.
 */
process.on('SIGTERM', () => {
  setTimeout(() => {
    console.error(`pid ${process.pid}: still running 5 s after SIGTERM; exiting so the CPU profile is written`);
    process.exit(0);
  }, 5_000).unref();
});
