// The browser test (`make test-chromium`): wasmimport in Pyodide in a headless Chromium.
//
//   node tools/web/chromium_test.mjs [--node]
//
// Starts tools/web/serve.py on a free port of 127.0.0.1 (the Python of $PYTHON, default the
// venv's), drives Debian's Chromium ($CHROMIUM, default /usr/bin/chromium; see
// ensure-chromium.sh) with npm playwright-core from `make web-deps` ($WEB_CACHE), and opens
// /test/ (tools/web/page/): the page runs steps.mjs, which installs the wheels of `make dist`
// with micropip and runs check.py (the samples, then the 9 MiB module of bigmodule.py),
// leaving its findings in window.results, and the same steps in a Web Worker (worker.mjs,
// where nothing limits a synchronous compile either); then the demo page (examples/web/, `make
// demo-web`) is given a text and its table read.  Every request to anywhere but the server is
// refused and fails the test: the install is offline.  With --node the same steps run in
// Pyodide under Node instead (where nothing limits a synchronous compile), against the same
// server.  The findings are judged here; on a failure, what the page's Python printed and
// the browser console are printed too.  Exit status 0 only if every check passed.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const CACHE = resolve(process.env.WEB_CACHE ?? join(ROOT, ".cache", "web"));
const PYTHON = process.env.PYTHON ?? (existsSync(join(ROOT, ".venv/bin/python"))
  ? join(ROOT, ".venv/bin/python") : "python3");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const NODE = process.argv.includes("--node");
const TIMEOUT_MS = 300_000;

for (const [what, path, fix] of [
  ["Pyodide", join(CACHE, "node_modules/pyodide/pyodide.mjs"), "make web-deps"],
  ["playwright-core", join(CACHE, "node_modules/playwright-core/index.mjs"), "make web-deps"],
  ["the 9 MiB module", join(ROOT, "build/web/big/big.wasm"), "make web-big"],
  ...(NODE ? [] : [["Chromium", CHROMIUM, "tools/web/ensure-chromium.sh"]]),
]) {
  if (!existsSync(path)) {
    console.error(`chromium_test: no ${what} at ${path} (run \`${fix}\`)`);
    process.exit(2);
  }
}

// the server: its first line says where it is
const server = spawn(PYTHON, [join(ROOT, "tools/web/serve.py"), "--cache", CACHE],
                     { stdio: ["ignore", "pipe", "inherit"] });
const base = await new Promise((resolveUrl, reject) => {
  server.on("exit", (code) => reject(new Error(`serve.py exited (${code}) before serving`)));
  createInterface({ input: server.stdout }).once("line", (line) => {
    const match = /^serving (http:\/\/127\.0\.0\.1:\d+)\//.exec(line);
    if (match) resolveUrl(match[1]);
    else reject(new Error(`serve.py said: ${line}`));
  });
});

const failures = [];
const check = (ok, what) => { if (!ok) failures.push(what); };
const printed = [];
const consoleLines = [];
const blocked = [];
let results;
let engine;
try {
  if (NODE) {
    const { loadPyodide } = await import(
      pathToFileURL(join(CACHE, "node_modules/pyodide/pyodide.mjs")).href);
    const { run } = await import(pathToFileURL(join(ROOT, "tools/web/page/steps.mjs")).href);
    engine = `node ${process.version}`;
    const steps = {};
    try {
      await run({ loadPyodide, base, say: (l) => printed.push(l), steps,
                  indexURL: join(CACHE, "node_modules/pyodide") + "/" });
      results = { ok: true, steps };
    } catch (e) {
      results = { ok: false, steps, error: String(e && e.stack || e) };
    }
  } else {
    const { chromium } = await import(
      pathToFileURL(join(CACHE, "node_modules/playwright-core/index.mjs")).href);
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update"],
    });
    // a page may ask the server only: anything else is refused, and fails the test
    const offline = (page) => page.route("**/*", (route) => {
      const url = route.request().url();
      if (url.startsWith(base + "/")) return route.continue();
      blocked.push(url);
      return route.abort();
    });
    try {
      engine = `Chromium ${browser.version()}`;
      const page = await browser.newPage();
      await offline(page);
      page.on("console", (m) => consoleLines.push(`console.${m.type()}: ${m.text()}`));
      page.on("pageerror", (e) => consoleLines.push(`pageerror: ${e.stack || e}`));
      await page.goto(base + "/test/");
      await page.waitForFunction(() => window.results !== undefined, null,
                                 { timeout: TIMEOUT_MS, polling: 250 });
      results = await page.evaluate(() => window.results);
      printed.push(...results.printed,
                   ...(results.worker?.printed ?? []).map((line) => `worker: ${line}`));
      // the demo page of `make demo-web` (examples/web/): typed text in, textkit's answer out
      const demo = await browser.newPage();
      await offline(demo);
      await demo.goto(base + "/demo/");
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
  server.kill();
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
