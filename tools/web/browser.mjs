// What the drivers of pages in headless Chromium share (chromium_test.mjs, the browser test;
// bench_page.mjs, benchmarks/bench_web.py --chromium): the paths and tools of a checkout,
// tools/web/serve.py started on a free port of 127.0.0.1, Debian's Chromium ($CHROMIUM,
// default /usr/bin/chromium; see ensure-chromium.sh) launched with npm playwright-core from
// `make web-deps` ($WEB_CACHE), and pages opened in it that may ask that server only (any
// other request is refused and recorded: the drivers fail on it), whose console is recorded
// and whose Python output is forwarded: a page calls window.forwardPrint(line) for each line
// Python printed (awaiting a call with no line waits until every earlier one was handled).
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const CACHE = resolve(process.env.WEB_CACHE ?? join(ROOT, ".cache", "web"));
export const PYTHON = process.env.PYTHON ?? (existsSync(join(ROOT, ".venv/bin/python"))
  ? join(ROOT, ".venv/bin/python") : "python3");
export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
export const PYODIDE = join(CACHE, "node_modules/pyodide");
const PLAYWRIGHT = join(CACHE, "node_modules/playwright-core/index.mjs");
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update"];

// [what, path, the command making it]: exit 2 naming the first one missing
export function need(who, things) {
  for (const [what, path, fix] of things) {
    if (!existsSync(path)) {
      console.error(`${who}: no ${what} at ${path} (run \`${fix}\`)`);
      process.exit(2);
    }
  }
}
export const pyodideNeeded = ["Pyodide", join(PYODIDE, "pyodide.mjs"), "make web-deps"];
export const chromiumNeeded = [
  ["playwright-core", PLAYWRIGHT, "make web-deps"],
  ["Chromium", CHROMIUM, "tools/web/ensure-chromium.sh"],
];

// serve.py (its arguments after --cache): {base, close}; its first line says where it is
export async function serve(args = []) {
  const server = spawn(PYTHON, [join(ROOT, "tools/web/serve.py"), "--cache", CACHE, ...args],
                       { stdio: ["ignore", "pipe", "inherit"] });
  const base = await new Promise((resolveUrl, reject) => {
    server.on("exit", (code) => reject(new Error(`serve.py exited (${code}) before serving`)));
    createInterface({ input: server.stdout }).once("line", (line) => {
      const match = /^serving (http:\/\/127\.0\.0\.1:\d+)\//.exec(line);
      if (match) resolveUrl(match[1]);
      else reject(new Error(`serve.py said: ${line}`));
    });
  }).catch((e) => { server.kill(); throw e; });
  return { base, close: () => server.kill() };
}

// Chromium: {version, open(path, {print}), blocked, consoleLines, close}.  open() gives a page
// of base + path once loaded; print(line) gets each line the page forwards.
export async function launch(base) {
  const { chromium } = await import(pathToFileURL(PLAYWRIGHT).href);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  const blocked = [];
  const consoleLines = [];
  const open = async (path, { print = () => {} } = {}) => {
    const page = await browser.newPage();
    await page.route("**/*", (route) => {
      const url = route.request().url();
      if (url.startsWith(base + "/")) return route.continue();
      blocked.push(url);
      return route.abort();
    });
    await page.exposeFunction("forwardPrint", (line) => { if (line !== undefined) print(line); });
    page.on("console", (m) => consoleLines.push(`console.${m.type()}: ${m.text()}`));
    page.on("pageerror", (e) => consoleLines.push(`pageerror: ${e.stack || e}`));
    await page.goto(base + path);
    return page;
  };
  return { version: browser.version(), open, blocked, consoleLines,
           close: () => browser.close() };
}

// what a page leaves in window.results, once it is there (polled; a timeout is an error)
export async function results(page, timeout) {
  await page.waitForFunction(() => window.results !== undefined, null,
                             { timeout, polling: 250 });
  return page.evaluate(() => window.results);
}
