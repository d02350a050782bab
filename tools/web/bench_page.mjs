// benchmarks/bench_web.py --chromium: its inside mode in a page of headless Chromium, on the
// page's main thread, with what the page's Python prints (the table) printed here.
//
//   node tools/web/bench_page.mjs [--rounds N]
//
// After bench_web.py built .cache/bench-web/bench.wasm (and `make dist web-deps chromium`):
// starts tools/web/serve.py and Chromium (browser.mjs, as chromium_test.mjs does) and opens
// /bench/ (tools/web/bench/), which installs wasmimport's pure wheel with micropip, fetches
// bench_web.py, bench.wasm and its manifest into Pyodide's file system and runs
// bench_web.inside().  A request beyond the server is refused and fails the run.  Exit
// status 0 only if the page ran the benchmark.
import { join } from "node:path";
import { chromiumNeeded, launch, need, pyodideNeeded, results, ROOT, serve } from "./browser.mjs";

const TIMEOUT_MS = 600_000;
const at = process.argv.indexOf("--rounds");
const rounds = at === -1 ? "11" : process.argv[at + 1];
if (!/^[1-9]\d*$/.test(rounds ?? "")) {
  console.error(`bench_page: --rounds wants a positive integer, not ${rounds}`);
  process.exit(2);
}
need("bench_page", [
  pyodideNeeded, ...chromiumNeeded,
  ["benchmark guest", join(ROOT, ".cache/bench-web/bench.wasm"), "python benchmarks/bench_web.py"],
]);

const server = await serve();
let outcome;
let browser;
try {
  browser = await launch(server.base);
  const query = new URLSearchParams({ rounds, engine: `Chromium ${browser.version}` });
  const page = await browser.open(`/bench/?${query}`, { print: (line) => console.log(line) });
  outcome = await results(page, TIMEOUT_MS);
} catch (e) {
  outcome = { ok: false, error: `the harness: ${e && e.stack || e}` };
} finally {
  await browser?.close();
  server.close();
}
const failures = [];
if (!outcome.ok) failures.push(`the page: ${outcome.error}`);
if (browser?.blocked.length)
  failures.push(`requests beyond the server (refused): ${browser.blocked.join(", ")}`);
if (failures.length) {
  console.error(`bench_page: ${failures.join("\n  ")}`);
  if (browser?.consoleLines.length)
    console.error(`\nthe browser console:\n${browser.consoleLines.join("\n")}`);
  process.exit(1);
}
