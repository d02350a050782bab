"""Planning: check a manifest against a module's exports and decide every binding.

Everything that can be wrong with the *files* is found here, before any guest code runs, and
reported together: a ManifestError lists every problem, one a line, each naming the file and
the entry (``python -m wasmimport inspect`` prints the same list).
"""

from __future__ import annotations

import keyword

from ._compound import ResultType, walk
from ._errors import ManifestError
from ._manifest import (
    AbiOptions,
    FunctionEntry,
    ImportEntry,
    Manifest,
    Param,
    Signature,
)
from ._resource import BorrowType, HostResourceType, ResourceType
from ._typeparse import TypeSpace
from ._types import CORE_TYPES, SCALARS
from ._wasmbin import ALLOC_TYPE, FREE_TYPE, INIT_TYPE, REALLOC_TYPE, FuncType, ModuleInfo

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any



class FunctionPlan:
    """One Python function to create: its name, export, core and typed signatures."""

    __slots__ = ("name", "export", "functype", "signature", "doc", "post", "uses_guest",
                 "release_gil", "raises", "oversize")

    def __init__(self, name: str, export: str, functype: FuncType, signature: Signature,
                 doc: str | None, post: str | None, release_gil: bool = False,
                 raises: str | None = None, oversize: str | None = None):
        self.name = name
        self.oversize = oversize       # "module:function" for arguments too big for the guest
        self.raises = raises           # "module:Class" for a result's error case
        self.release_gil = release_gil   # let other threads run during the wasm call
        self.export = export
        self.functype = functype
        self.signature = signature
        self.doc = doc or f"wasm export {export!r}: {signature.text}"
        self.post = post             # the cabi_post_<export> to call after lifting, if any
        self.uses_guest = signature.needs_memory()


class ImportPlan:
    """One host function to provide: the wasm import, its typed signature, the callable."""

    __slots__ = ("module", "name", "python", "functype", "signature", "spilled")

    def __init__(self, module: str, name: str, python: str, functype: FuncType,
                 signature: Signature, spilled: bool = False):
        self.module = module
        self.name = name
        self.python = python
        self.functype = functype
        self.signature = signature
        self.spilled = spilled       # the arguments arrive in memory, behind one pointer

    @property
    def needs_memory(self) -> bool:
        """True when a call reads or writes guest memory (core values never do, however
        many there are: only a typed signature's are spilled)."""
        return self.signature.needs_memory() and (self.spilled or not self.signature.spills())


def host_core(signature: Signature, spilled: bool) -> FuncType:
    """The core type a wasm import must have to be provided with ``signature``.

    Canonical ABI lowering into the host: with more than 16 flat parameters (``spilled``)
    the guest stores them as a tuple in its memory and passes its address; a result of more
    than one flat value is written to memory at a pointer the guest passes as an extra last
    parameter.
    """
    params = ("i32",) if spilled else signature.core_params()
    result = signature.result
    if result is not None and len(result.flat) > 1:
        return FuncType((*params, "i32"), ())
    return FuncType(params, result.flat if result is not None else ())


class ModulePlan:
    """Everything needed to populate a module, validated.

    ``functions`` are the manifest's entries.  Exports the manifest does not list are kept
    as ``core_exports`` (name -> index into ``functypes``; ``posts`` names the post-return
    export of those that have one) and get their FunctionPlan on first ``lookup``: a module's
    thousands of exports cost a dictionary, not thousands of objects, and the dictionary is
    what ``to_plain`` remembers.
    """

    __slots__ = ("doc", "abi", "functions", "core_exports", "functypes", "posts", "memories",
                 "public", "needs_allocator", "needs_guest", "initialize", "command",
                 "imports", "missing", "types", "_planned")

    def __init__(self, manifest: Manifest | None, functions: tuple[FunctionPlan, ...],
                 core_exports: dict[str, int], functypes: tuple[FuncType, ...],
                 posts: dict[str, str], memories: tuple[str, ...], public: tuple[str, ...],
                 initialize: bool, command: bool, imports: tuple[ImportPlan, ...] = (),
                 missing: tuple[str, ...] = ()):
        self.doc = manifest.doc if manifest else None
        self.abi = manifest.abi if manifest else AbiOptions()
        self.types = manifest.types if manifest else TypeSpace()  # [types]: their classes
        self.imports = imports       # host functions the manifest provides
        self.missing = missing       # "module.name: type" of each import nobody provides
        self.functions = functions
        self.core_exports = core_exports
        self.functypes = functypes
        self.posts = posts
        self.memories = memories
        self.public = public         # __all__
        self.initialize = initialize     # a reactor's _initialize, run at import
        self.command = command           # a command's _start, run by main()
        self.needs_allocator = any(f.signature.needs_allocator() for f in functions) or any(
            _host_allocates(i.signature) for i in imports)
        self.needs_guest = any(f.uses_guest for f in functions) or any(
            i.needs_memory for i in imports)
        self._planned = {f.name: f for f in functions}

    def names(self) -> set[str]:
        """Every function name the module has."""
        return {*self._planned, *self.core_exports}

    def has(self, name: str) -> bool:
        """Whether the module has a function called ``name``."""
        return name in self._planned or name in self.core_exports

    def lookup(self, name: str) -> FunctionPlan | None:
        """The plan of the function called ``name`` (an export's name when unlisted)."""
        planned = self._planned.get(name)
        if planned is None and name in self.core_exports:
            functype = self.functypes[self.core_exports[name]]
            planned = self._planned[name] = FunctionPlan(
                name, name, functype, core_signature(functype), None, self.posts.get(name))
        return planned

    def abi_role(self, name: str) -> str | None:
        """What the export called ``name`` is for when the ABI, not the module's own code,
        calls it (allocators, post-return functions, WASI entry points); else None."""
        abi = self.abi
        for key, export in (("realloc", abi.realloc), ("alloc", abi.alloc), ("free", abi.free)):
            if name == export:
                return f"[abi] {key}"
        if name.startswith("cabi_post_"):
            return f"post-return of {name[len('cabi_post_'):]}"
        if name.startswith("cabi_"):
            return "Canonical ABI"
        if name == "_initialize" and self.initialize:
            return "WASI reactor initialisation, run at import"
        if name == "_start" and self.command:
            return "WASI command entry point, run by main()"
        return None

    def to_plain(self) -> tuple[Any, ...]:
        """The plan as builtins (``marshal`` can store it), without what the manifest says:
        ``from_plain`` takes the manifest again."""
        index = {functype: i for i, functype in enumerate(self.functypes)}
        return (tuple((t.params, t.results) for t in self.functypes),
                tuple((index[f.functype], f.post) for f in self.functions),
                self.core_exports, self.posts, self.memories, self.public, self.initialize,
                self.command, tuple((i.module, i.name, index[i.functype]) for i in self.imports),
                self.missing)

    @classmethod
    def from_plain(cls, form: tuple[Any, ...], manifest: Manifest | None) -> ModulePlan:
        """The plan ``to_plain`` flattened, for the same module and an equal manifest."""
        (functypes, functions, core_exports, posts, memories, public, initialize, command,
         imports, missing) = form
        types = tuple(FuncType(params, results) for params, results in functypes)
        entries = {(e.module, e.name): e for e in manifest.imports} if manifest else {}
        return cls(manifest,
                   tuple(_function_plan(entry, types[t], post) for entry, (t, post) in
                         zip(manifest.functions if manifest else (), functions)),
                   core_exports, types, posts, memories, public, initialize, command,
                   tuple(_import_plan(entries[module, name], types[t])
                         for module, name, t in imports), missing)


def _function_plan(entry: FunctionEntry, functype: FuncType, post: str | None) -> FunctionPlan:
    """The plan of a manifest entry whose export has ``functype`` (checked)."""
    return FunctionPlan(entry.name, entry.export, functype,
                        entry.signature or core_signature(functype), entry.doc, post,
                        entry.release_gil, entry.raises, entry.oversize)


def _import_plan(entry: ImportEntry, functype: FuncType) -> ImportPlan:
    """The plan of an ``[imports]`` entry whose import has ``functype`` (checked): core
    values as they are, however many; a typed signature past 16 flat values spills."""
    signature = entry.signature or core_signature(functype)
    return ImportPlan(entry.module, entry.name, entry.python, functype, signature,
                      entry.signature is not None and signature.spills())


def core_signature(functype: FuncType) -> Signature:
    """The signature of an export described only by its core type."""
    params = tuple(Param(f"p{i}", SCALARS[core]) for i, core in enumerate(functype.params))
    result = SCALARS[functype.results[0]] if len(functype.results) == 1 else None
    multi = functype.results if len(functype.results) > 1 else ()
    return Signature(params, result, str(functype), multi)


def expected_core(signature: Signature) -> FuncType:
    """The core type an export must have to be called with ``signature``."""
    params = ("i32",) if signature.spills() else signature.core_params()
    return FuncType(params, signature.core_results())


def _is_public(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("_") \
        and not name.startswith("cabi_")


def _is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def _core_callable(functype: FuncType) -> bool:
    return all(t in CORE_TYPES for t in (*functype.params, *functype.results))


def plan_module(info: ModuleInfo, manifest: Manifest | None, origin: str) -> ModulePlan:
    """Check the manifest against the module's exports; raise ManifestError listing every
    problem, or return the plan."""
    problems: list[str] = []
    source = manifest.source if manifest else origin
    abi = manifest.abi if manifest else AbiOptions()
    functions: list[FunctionPlan] = []
    for entry in manifest.functions if manifest else ():
        planned = _entry_plan(info, entry, f"{source}: [functions] {entry.name}", problems)
        if planned is not None:
            functions.append(planned)
    entries = manifest.functions if manifest else ()
    bound = {e.export for e in entries}      # exports the manifest binds (or tried to)
    if manifest:                             # and the resources' drops: never callable
        bound.update(r.drop_export for r in manifest.types.resources() if r.drop_export)
    taken = {e.name for e in entries}        # Python names the manifest claims
    if manifest:
        taken.update(manifest.types.declared)
    functypes: dict[FuncType, int] = {}      # each distinct core type once
    core_exports: dict[str, int] = {}
    posts: dict[str, str] = {}
    for export in info.exports:
        if export.functype is None or export.name in bound or export.name in taken \
                or _is_dunder(export.name) or not _core_callable(export.functype):
            continue
        core_exports[export.name] = functypes.setdefault(export.functype, len(functypes))
        post = _post(info, export.name, export.functype, origin, problems)
        if post is not None:
            posts[export.name] = post
        taken.add(export.name)
    memories = tuple(e.name for e in info.exports
                     if e.kind == "memory" and e.name not in taken and not _is_dunder(e.name))
    imports, missing = _import_plans(info, manifest.imports if manifest else (), source,
                                     problems, manifest is not None and manifest.wasi is not None,
                                     manifest.types.tables() if manifest else [])
    if manifest:
        _check_resources(info, manifest, problems)
    users = [(f"[functions] {f.name}", f.signature.needs_allocator()) for f in functions
             if f.uses_guest]
    users += [(f"[imports.{i.module}.{i.name}]", _host_allocates(i.signature)) for i in imports
              if i.needs_memory]
    if users:
        _check_abi(info, abi, users, source, problems)
    if problems:
        error = ManifestError("\n".join(problems), path=origin)
        error.problems = tuple(problems)
        raise error
    for used in [*(f.functype for f in functions), *(i.functype for i in imports)]:
        functypes.setdefault(used, len(functypes))
    public = tuple(name for name in (*(f.name for f in functions), *core_exports)
                   if _is_public(name) and name not in (abi.alloc, abi.free))
    if manifest:
        public += tuple(manifest.types.declared)
    init, start = info.export("_initialize"), info.export("_start")
    return ModulePlan(manifest, tuple(functions), core_exports, tuple(functypes), posts,
                      memories, public, init is not None and init.functype == INIT_TYPE,
                      start is not None and start.functype == INIT_TYPE, imports, missing)


def _host_allocates(signature: Signature) -> bool:
    """True when providing an import allocates its result (a str, list...) in the guest."""
    return signature.result is not None and signature.result.allocates


WASI_MODULE = "wasi_snapshot_preview1"


def _import_plans(info: ModuleInfo, entries: tuple[ImportEntry, ...], source: str,
                  problems: list[str], wasi: bool, tables: list[ResourceType | HostResourceType]
                  ) -> tuple[tuple[ImportPlan, ...], tuple[str, ...]]:
    """Match the module's imports with the manifest's [imports] (and [wasi], which provides
    every WASI preview 1 function, and the resources' handle tables, which provide their
    built-ins); list the unprovided ones."""
    declared = {(e.module, e.name): e for e in entries}
    served = {(module, name): functype for r in tables
              for module, name, functype, _ in r.builtin_functions()}
    plans: list[ImportPlan] = []
    missing: list[str] = []
    for imp in info.imports:
        if wasi and imp.module == WASI_MODULE and (imp.module, imp.name) not in declared:
            continue
        builtin = served.get((imp.module, imp.name))
        if builtin is not None:
            if imp.functype != builtin:
                problems.append(f"{source}: the module imports {imp.module}.{imp.name} with "
                                f"core type {imp.functype or imp.kind}, expected {builtin}")
            continue
        entry = declared.pop((imp.module, imp.name), None)
        if entry is None:
            missing.append(f"{imp.module}.{imp.name}: {imp.functype or imp.kind}")
            continue
        where = f"{source}: [imports.{imp.module}.{imp.name}]"
        if imp.functype is None:
            problems.append(f"{where}: the module imports a {imp.kind}; only functions can "
                            "be provided")
            continue
        if entry.signature is None and not _core_callable(imp.functype):
            problems.append(f"{where}: core type {imp.functype} uses value types "
                            "wasmimport cannot pass; give a signature")
            continue
        planned = _import_plan(entry, imp.functype)
        signature, spilled = planned.signature, planned.spilled
        if any(isinstance(inner, (ResourceType, BorrowType))
               for t in signature.types() for inner in walk(t)):
            problems.append(f"{where}: a host function cannot take or return the guest's "
                            "own resources (only the host's: a component's imported ones)")
            continue
        if signature.multi or host_core(signature, spilled) != imp.functype:
            problems.append(f"{where}: signature {signature.text!r} needs the import to have "
                            f"core type {host_core(signature, spilled)}, but its core type is "
                            f"{imp.functype}")
        else:
            plans.append(planned)
    for module, name in declared:
        problems.append(f"{source}: [imports.{module}.{name}]: the module does not import "
                        f"{module}.{name}")
    return tuple(plans), tuple(missing)


def _check_resources(info: ModuleInfo, manifest: Manifest, problems: list[str]) -> None:
    """Each resource's drop export, and the shape of its methods: ``R.__init__`` returns an
    ``R``; a method's ``self`` is a ``borrow[R]`` (or an ``R``, which it then consumes)."""
    for r in manifest.types.resources():
        if r.drop_export is None:
            continue
        export = info.export(r.drop_export)
        if export is None or export.functype != FREE_TYPE:
            found = "is missing" if export is None else \
                f"has core type {export.functype or export.kind}"
            problems.append(f"{manifest.source}: [types.{r.name}]: the drop export "
                            f"{r.drop_export!r} {found}; expected core type {FREE_TYPE}")
    for entry in manifest.functions:
        owned = manifest.types.method_of(entry.name)
        if owned is None or entry.signature is None:
            continue
        r, method = owned
        where = f"{manifest.source}: [functions] {entry.name}"
        params = entry.signature.params
        result = entry.signature.result
        if method == "__init__" and result is not r and not (
                isinstance(result, ResultType) and result.ok is r):
            problems.append(f"{where}: a constructor must return {r.name} (or "
                            f"result[{r.name}, E], whose error it raises)")
        elif params and params[0].name == "self" and params[0].type not in (r, r.borrow):
            problems.append(f"{where}: a method's self must be borrow[{r.name}] (or "
                            f"{r.name}, which the call consumes)")


def _entry_plan(info: ModuleInfo, entry: FunctionEntry, where: str,
                problems: list[str]) -> FunctionPlan | None:
    if _is_dunder(entry.name):
        problems.append(f"{where}: dunder names are reserved for the module itself")
        return None
    export = info.export(entry.export)
    if export is None:
        available = ", ".join(e.name for e in info.exports if e.kind == "func") or "none"
        problems.append(f"{where}: the module has no export {entry.export!r} "
                        f"(its function exports: {available})")
        return None
    if export.functype is None:
        problems.append(f"{where}: export {entry.export!r} is a {export.kind}, not a function")
        return None
    signature = entry.signature
    if signature is None:
        if not _core_callable(export.functype):
            problems.append(f"{where}: core type {export.functype} uses value types wasmimport "
                            "cannot pass (only i32, i64, f32, f64)")
            return None
    elif expected_core(signature) != export.functype:
        problems.append(f"{where}: signature {signature.text!r} needs the export "
                        f"{entry.export!r} to have core type {expected_core(signature)}, but "
                        f"its core type is {export.functype}")
        return None
    return _function_plan(entry, export.functype,
                          _post(info, entry.export, export.functype, where, problems))


def _post(info: ModuleInfo, export: str, functype: FuncType, where: str,
          problems: list[str]) -> str | None:
    """The name of ``cabi_post_<export>`` if the module has it (checking its type)."""
    name = f"cabi_post_{export}"
    post = info.export(name)
    if post is None:
        return None
    wanted = FuncType(functype.results, ())
    if post.functype != wanted:
        problems.append(f"{where}: export {name!r} has core type {post.functype or post.kind},"
                        f" expected {wanted}")
    return name


def _check_abi(info: ModuleInfo, abi: AbiOptions, users: list[tuple[str, bool]], source: str,
               problems: list[str]) -> None:
    """The memory and allocator exports that str/bytes/list values need.

    ``users`` are (name, allocates) of the functions and imports that pass such values.
    """
    where = f"{source}: {users[0][0]}"
    memory = info.export(abi.memory)
    if memory is None or memory.kind != "memory":
        problems.append(f"{where}: str/bytes/list values need guest memory, but the module "
                        f"exports no memory named {abi.memory!r} (set [abi] memory)")
    checks = [(abi.free, FREE_TYPE, "free")] if abi.free else []
    if any(allocates for _, allocates in users):
        checks.append((abi.alloc, ALLOC_TYPE, "alloc") if abi.alloc
                      else (abi.realloc, REALLOC_TYPE, "realloc"))
    for export, wanted, key in checks:
        found = info.export(export) if export else None
        if found is None or found.functype != wanted:
            actual = "is missing" if found is None else \
                f"has core type {found.functype or found.kind}"
            problems.append(f"{where}: needs the [abi] {key} export {export!r} with core "
                            f"type {wanted}, but it {actual}")
