import { loadPyodide } from "pyodide";
const py = await loadPyodide();
py.FS.mkdirTree("/repo"); py.FS.mkdirTree("/tmp/h"); py.FS.writeFile("/tmp/body.py", (await import("fs")).readFileSync("/tmp/pyo/body.py"));
py.FS.mount(py.FS.filesystems.NODEFS, { root: "/work/wt-js" }, "/repo"); py.FS.mkdirTree("/maintests"); py.FS.mount(py.FS.filesystems.NODEFS, { root: "/work/main/tests" }, "/maintests");
py.runPython(`
import traceback
try:
    exec(open("/tmp/body.py").read())
except BaseException:
    traceback.print_exc()
`);
