// The browser test's steps, shared by the page (index.html, in Chromium) and by
// chromium_test.mjs --node (Pyodide under Node, against the same server): Pyodide loads,
// micropip comes from its local wheel, check.py installs wasmimport's pure wheel and the
// sample wheels with micropip and checks what they compute, then the 9 MiB module is imported
// four times: by runPython (synchronous: on a browser's main thread without JSPI), by
// runPythonAsync (where the js backend can await WebAssembly.compile), by runPythonAsync
// again (the compiled module is the process's: no second compile) and by runPython again
// (compiled already, but a browser's main thread will not instantiate it synchronously).
// What each environment must do is for the caller to judge; this only records it, into
// `steps` as it goes (so that a failure leaves what came before).
export async function run({ loadPyodide, base, indexURL, say, steps }) {
  const get = async (path) => {
    const response = await fetch(base + path);
    if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${response.statusText}`);
    return response;
  };
  const clock = () => performance.now() / 1000;
  let t = clock();
  const index = await (await get("/index.json")).json();
  if (!index.micropip || !index.wasmimport)
    throw new Error(`the server has no micropip or wasmimport wheel: ${JSON.stringify(index)}`);
  const py = await loadPyodide({ indexURL, stdout: say, stderr: say });
  steps.pyodide = { version: py.version, load_s: clock() - t };
  await py.loadPackage(base + index.micropip, { messageCallback: say, errorCallback: say });
  py.FS.mkdirTree("/big");
  for (const name of ["big.wasm", "big.wasm.toml", "big.json"])
    py.FS.writeFile(`/big/${name}`,
                    new Uint8Array(await (await get(`/big/${name}`)).arrayBuffer()));
  py.runPython(await (await get("/test/check.py")).text());
  py.globals.get("INDEX").update(py.toPy({ ...index, base, big: "/big" }));
  t = clock();
  await py.runPythonAsync("await install()");
  steps.install_s = clock() - t;
  steps.samples = JSON.parse(py.runPython("samples()"));
  steps.big_sync = JSON.parse(py.runPython("big()"));
  steps.big_async = JSON.parse(await py.runPythonAsync("big()"));
  steps.big_again = JSON.parse(await py.runPythonAsync("big()"));
  steps.big_sync_again = JSON.parse(py.runPython("big()"));
  // the engine itself, for comparison: a synchronous and an asynchronous compile of the bytes
  const bytes = py.FS.readFile("/big/big.wasm");
  t = clock();
  try {
    new WebAssembly.Module(bytes);
    steps.engine_sync = { compiled: true, s: clock() - t };
  } catch (e) {
    steps.engine_sync = { compiled: false, error: `${e.name}: ${e.message}` };
  }
  t = clock();
  await WebAssembly.compile(bytes);
  steps.engine_async_s = clock() - t;
}
