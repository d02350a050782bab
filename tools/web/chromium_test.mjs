// The browser test (`make test-chromium`): wasmimport in Pyodide in a headless Chromium.
//
//   node tools/web/chromium_test.mjs [--node]
//
// Starts tools/web/serve.py on a free port of 127.0.0.1 (the Python of $PYTHON, default the
// venv's), drives Debian's Chromium ($CHROMIUM, default /usr/bin/chromium; see
// ensure-chromium.sh) with npm playwright-core from `make web-deps` ($WEB_CACHE), all by
// browser.mjs (shared with bench_page.mjs, which runs benchmarks/bench_web.py), and opens
// /test/ (tools/web/page/): the page runs steps.mjs, which installs the wheels of `make dist`
// with micropip and runs check.py (the samples, then the 9 MiB module of bigmodule.py),
// leaving its findings in window.results, and the same steps in a Web Worker (worker.mjs,
// where nothing limits a synchronous compile either); then the demo page (examples/web/, `make
// demo-web`) is given a text and its table read.  Every request to anywhere but the server is
// refused and fails the test: the install is offline.  With --node the same steps run in
// Pyodide under Node instead (where nothing limits a synchronous compile), against the same
// server.  The findings are judged here; on a failure, what the page's Python printed and
// the browser console are printed too.  Exit status 0 only if every check passed.
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromiumNeeded, launch, need, PYODIDE, pyodideNeeded, results as pageResults, ROOT,
         serve } from "./browser.mjs";

const NODE = process.argv.includes("--node");
const TIMEOUT_MS = 300_000;

need("chromium_test", [
  pyodideNeeded,
  ["the 9 MiB module", join(ROOT, "build/web/big/big.wasm"), "make web-big"],
  ...(NODE ? [] : chromiumNeeded),
]);

const server = await serve();
const base = server.base;
const failures = [];
const check = (ok, what) => { if (!ok) failures.push(what); };
const printed = [];
let consoleLines = [];
let blocked = [];
let results;
let engine;
try {
  if (NODE) {
    const { loadPyodide } = await import(pathToFileURL(join(PYODIDE, "pyodide.mjs")).href);
    const { run } = await import(pathToFileURL(join(ROOT, "tools/web/page/steps.mjs")).href);
    engine = `node ${process.version}`;
    const steps = {};
    try {
      await run({ loadPyodide, base, say: (l) => printed.push(l), steps,
                  indexURL: PYODIDE + "/" });
      results = { ok: true, steps };
    } catch (e) {
      results = { ok: false, steps, error: String(e && e.stack || e) };
    }
  } else {
    const browser = await launch(base);
    ({ blocked, consoleLines } = browser);
    try {
      engine = `Chromium ${browser.version}`;
      const page = await browser.open("/test/", { print: (line) => printed.push(line) });
      results = await pageResults(page, TIMEOUT_MS);
      printed.push(...(results.worker?.printed ?? []).map((line) => `worker: ${line}`));
      // the demo page of `make demo-web` (examples/web/): typed text in, textkit's answer out
      const demo = await browser.open("/demo/");
      await demo.waitForFunction(() => !document.getElementById("text").disabled
                                 || document.getElementById("status").className === "error",
                                 null, { timeout: TIMEOUT_MS, polling: 250 });
      await demo.fill("#text", "Hello, World!");
      results.demo = await demo.evaluate(() => ({
        status: document.getElementById("status").textContent,
        rows: Object.fromEntries([...document.querySelectorAll("#out tr")].map(
          (tr) => [...tr.children].map((td) => td.textContent))),
      }));
    } finally {
      await browser.close();
    }
  }
} catch (e) {
  results = { ok: false, error: `the harness: ${e && e.stack || e}` };
  check(false, results.error);
} finally {
  server.close();
}

// the judgement: of the steps of one context (Node, the page's main thread, a Worker)
const s = (v) => (v === undefined || v === null ? "?" : `${(v * 1000).toFixed(0)} ms`);
function judge(where, run, mainThread) {
  const steps = run?.steps ?? {};
  const fail = (what) => failures.push(`${where}: ${what}`);
  const expect = (ok, what) => ok || fail(what);
  if (!run?.ok) fail(`failed: ${run?.error}`);
  console.log(`${where}: Pyodide ${steps.pyodide?.version ?? "?"} (load ` +
              `${s(steps.pyodide?.load_s)}, micropip install ${s(steps.install_s)})`);
  if (!run?.ok) return;
  const { big_sync: sync, big_async: async_, big_again: again, big_sync_again: syncAgain } = steps;
  expect(steps.samples["textkit.slugify"] === "nave-caf-in-the-browser",
         `textkit.slugify: ${steps.samples["textkit.slugify"]}`);
  expect(/numkit._numkit.div\(\): wasm trap: /.test(steps.samples.trap),
         `numkit.div(1, 0): ${steps.samples.trap}`);
  const last = JSON.stringify(steps.samples.trap_frames?.at(-1));
  expect(last === JSON.stringify(["_numkit.wasm", "div_i32"]),
         `numkit.div(1, 0)'s traceback should end in the guest's div_i32: ${last}`);
  const first = mainThread ? async_ : sync;
  expect(first.size > 9 * 2 ** 20, `the big module is only ${first.size} bytes`);
  if (mainThread) {
    // Chromium's main thread: refused synchronously (with our message), compiled under JSPI
    expect(!steps.engine_sync.compiled, "Chromium compiled 9 MiB synchronously on the main " +
           "thread: the refusal this test expects is gone");
    const refused = (what) => new RegExp("^/big/big\\.wasm: the module is \\d+ bytes .*, " +
      `more than this JavaScript engine will ${what} synchronously on the main thread ` +
      ".*runPythonAsync");
    expect(!sync.imported && !sync.can_run_sync && refused("compile").test(sync.error),
           `runPython import (no JSPI) should be refused by wasmimport: ${JSON.stringify(sync)}`);
    expect(async_.imported && async_.can_run_sync && async_.compiled_now === 1,
           `runPythonAsync import (JSPI): ${JSON.stringify(async_)}`);
    expect(!syncAgain.imported && refused("instantiate").test(syncAgain.error)
           && syncAgain.compiles.length === async_.compiles.length,
           `runPython import once compiled: ${JSON.stringify(syncAgain)}`);
  } else {
    // no limit (Node, a Worker): the first import compiles synchronously, the others reuse it
    expect(sync.imported && sync.compiled_now === 1, `runPython import: ${JSON.stringify(sync)}`);
    expect(async_.imported && async_.compiled_now === 0,
           `runPythonAsync import: ${JSON.stringify(async_)}`);
    expect(syncAgain.imported && syncAgain.compiled_now === 0,
           `runPython import again: ${JSON.stringify(syncAgain)}`);
    expect(steps.engine_sync.compiled, `new WebAssembly.Module: ${steps.engine_sync.error}`);
  }
  expect(again.imported && again.compiled_now === 0,
         `a second import compiled again: ${JSON.stringify(again)}`);
  console.log(`  samples: ${JSON.stringify(steps.samples)}`);
  if (first.imported) {
    console.log(`  9 MiB module (${(first.size / 2 ** 20).toFixed(2)} MiB), by ` +
                `${mainThread ? "runPythonAsync" : "runPython"}: first import ` +
                `${s(first.import_s)} (compile ${s(first.compile_s)}); first mix() call ` +
                `${s(first.first_call_s)}, 7 more calls ${s(first.calls_s)}; ` +
                `import again ${s(again.import_s)} (no compile)`);
    const engine = steps.engine_sync;
    console.log(`  the engine alone: WebAssembly.compile ${s(steps.engine_async_s)}, new ` +
                `WebAssembly.Module ${engine.compiled ? s(engine.s) : "refused: " + engine.error}`);
  }
  for (const [key, when] of [[sync, ""], [syncAgain, ", once compiled"]])
    if (mainThread && !key.imported)
      console.log(`  runPython (no JSPI) import${when}: ImportError: ${key.error}`);
}

console.log(engine ?? "?");
check(blocked.length === 0, `requests beyond the server (refused): ${blocked.join(", ")}`);
if (NODE) {
  judge("node", results, false);
} else {
  judge("page", results, true);
  judge("worker", results.worker, false);
  const rows = results.demo?.rows ?? {};
  check(rows["textkit.slugify(s)"] === "'hello-world'"
        && rows["hex(numkit.crc32(s.encode()))"] === "0xec4ac3d0",
        `the demo page: ${JSON.stringify(results.demo)}`);
  if (results.demo) console.log(`demo page: ${results.demo.status}`);
}
if (failures.length) {
  console.log(`\n${failures.length} check(s) failed:\n  ${failures.join("\n  ")}`);
  if (printed.length) console.log(`\nwhat Python printed:\n${printed.join("\n")}`);
  if (consoleLines.length) console.log(`\nthe browser console:\n${consoleLines.join("\n")}`);
  process.exit(1);
}
console.log(`${NODE ? "node" : "chromium"}: all checks passed`);
