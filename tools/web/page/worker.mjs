// steps.mjs in a Web Worker (started by index.html): off the main thread a browser compiles
// and instantiates a module of any size synchronously, as wasmimport's refusal on the main
// thread says.  Posts {ok, steps, error, printed} back.
import { loadPyodide } from "/pyodide/pyodide.mjs";
import { run } from "/test/steps.mjs";

const printed = [];
const steps = {};
run({ loadPyodide, base: self.location.origin, indexURL: "/pyodide/",
      say: (line) => printed.push(line), steps }).then(
  () => postMessage({ ok: true, steps, printed }),
  (e) => postMessage({ ok: false, steps, error: String(e && e.stack || e), printed }));
