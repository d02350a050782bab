// The demo page's script: Pyodide from /pyodide/, micropip from its wheel, then wasmimport
// and the sample wheels installed with micropip from the server (tools/web/serve.py).
import { loadPyodide } from "/pyodide/pyodide.mjs";

const status = document.getElementById("status");
const text = document.getElementById("text");
const out = document.getElementById("out");

// what is shown for a text: each row is the Python call and its result (repr)
const ANALYSE = `
import textkit, numkit

def analyse(s):
    data = s.encode()
    shown = [(call, repr(result)) for call, result in [
        ("textkit.upper(s)", textkit.upper(s)),
        ("textkit.swapcase(s)", textkit.swapcase(s)),
        ("textkit.reverse(s)", textkit.reverse(s)),
        ("textkit.slugify(s)", textkit.slugify(s)),
        ("textkit.char_count(s)", textkit.char_count(s)),
        ("textkit.word_count(s)", textkit.word_count(s)),
        ("textkit.count(s, 'a')", textkit.count(s, "a")),
        ("textkit.is_palindrome(s)", textkit.is_palindrome(s)),
    ]]
    shown.append(("hex(numkit.crc32(s.encode()))", hex(numkit.crc32(data))))
    shown.append(("hex(numkit.fnv1a64(s.encode()))", hex(numkit.fnv1a64(data))))
    return shown
`;

function row(cells) {
  const tr = document.createElement("tr");
  for (const cell of cells) {
    const td = document.createElement("td");
    td.textContent = cell;
    tr.append(td);
  }
  return tr;
}

try {
  const started = performance.now();
  const index = await (await fetch("/index.json")).json();
  if (!index.micropip || !index.wasmimport || !index.samples.textkit || !index.samples.numkit)
    throw new Error("the server has not got the wheels (run `make dist web-deps`): " +
                    JSON.stringify(index));
  const py = await loadPyodide({ indexURL: "/pyodide/" });
  status.textContent = "installing wasmimport, textkit and numkit with micropip…";
  await py.loadPackage(location.origin + index.micropip);
  py.globals.set("wheels", py.toPy([index.wasmimport, index.samples.textkit,
                                    index.samples.numkit].map((u) => location.origin + u)));
  await py.runPythonAsync("import micropip\nfor w in wheels:\n    await micropip.install(w)");
  py.runPython(ANALYSE);
  const analyse = py.globals.get("analyse");
  const update = () => {
    try {
      const rows = analyse(text.value).toJs();
      out.replaceChildren(...rows.map(row));
    } catch (e) {
      out.replaceChildren(row(["error", String(e.message ?? e)]));
    }
  };
  text.addEventListener("input", update);
  text.disabled = false;
  update();
  status.textContent = `ready in ${((performance.now() - started) / 1000).toFixed(1)} s ` +
    `(Pyodide ${py.version}, wasmimport on its js backend): type below.`;
} catch (e) {
  status.className = "error";
  status.textContent = `failed: ${e.stack ?? e}`;
}
