#!/usr/bin/python3
"""Generates src/analysis/data/ansible-index.jsonl from Debian's installed ansible-core and ansible packages.

Run with Debian's python (it has PyYAML and Jinja2):  /usr/bin/python3 scripts/generate-ansible-index.py
The index holds only what src/analysis needs: task keywords, ansible.builtin plugin names, the builtin
routing table, and per collection its version, requires_ansible, plugin names, redirects, action groups
and Python requirements (read the way ansible-builder reads them, plus docs' `requirements:` where the
collection declares none, or only packages ansible-builder excludes, like community.crypto's PyYAML).
"""
import ast
import json
import os
import re
import subprocess
import sys

import jinja2.filters
import jinja2.tests
import yaml

DIST = "/usr/lib/python3/dist-packages"
CORE = os.path.join(DIST, "ansible")
COLLECTIONS = os.path.join(DIST, "ansible_collections")
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "analysis", "data", "ansible-index.jsonl")

# Plugin kinds the analysis resolves; "modules" also takes action plugin names.
KINDS = ["modules", "filter", "test", "lookup", "callback", "connection", "inventory", "become"]

# ansible-builder's EXCLUDE_REQUIREMENTS (ansible_builder/_target_scripts/introspect.py).
BUILDER_EXCLUDES = {
    "ansible", "ansible-base", "python", "ansible-core",
    "tox", "pycodestyle", "yamllint", "pylint", "flake8", "pytest", "pytest-xdist", "coverage", "mock",
    "testinfra", "ansible-lint", "molecule", "galaxy-importer", "voluptuous", "yaml", "pyyaml", "json",
}

# Docs name a package by its import name or a PyPI name; these map docs/import names to what pip installs.
PIP_NAME = {
    "mysqldb": "mysqlclient", "mysql-python": "mysqlclient", "ldap": "python-ldap", "dns": "dnspython",
    "openssl": "pyOpenSSL", "dateutil": "python-dateutil", "winrm": "pywinrm", "consul": "python-consul",
    "jenkins": "python-jenkins", "bs4": "beautifulsoup4", "crypto": "pycryptodome", "yaml": "PyYAML",
    "gitlab": "python-gitlab", "keystoneclient": "python-keystoneclient", "novaclient": "python-novaclient",
    "linode": "linode-python", "pyvmomi": "pyvmomi", "xmpp": "xmpppy", "lxc": "lxc-python2",
    "redis": "redis", "ovh": "ovh", "pymongo": "pymongo", "psycopg2": "psycopg2",
}
# Import names that docs call differently.
IMPORT_ALIASES = {
    "pyopenssl": "openssl", "dnspython": "dns", "python-dateutil": "dateutil", "pywinrm": "winrm",
    "python-ldap": "ldap", "pycryptodome": "crypto", "beautifulsoup4": "bs4", "mysqlclient": "mysqldb",
    "psycopg2-binary": "psycopg2", "python-consul": "consul", "python-jenkins": "jenkins",
    "python-gitlab": "gitlab", "pyyaml": "yaml", "xmpppy": "xmpp", "pyvmomi": "pyvmomi",
}
# Docs list these as requirements, but they come from the OS, not from pip.
SYSTEM_ONLY = {"dnf", "python-xml", "rpm", "apt", "python-apt", "yum", "selinux", "libselinux-python", "dbus",
               "seobject", "portage", "pkg5", "xenapi-python"}
# Where docs offer alternatives, the one a venv should get (pure Python, no compiler or client libraries).
PREFERRED = {("community.mysql", "mysqlclient"): "PyMySQL"}
STDLIB = {m.lower() for m in sys.stdlib_module_names}
REQ_LINE = re.compile(
    r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[A-Za-z0-9_,.\s-]+\])?\s*"
    r"((?:(?:===|==|>=|<=|!=|~=|>|<)\s*[0-9][\w.*+!-]*\s*,?\s*)*)\s*(;.*)?$"
)


def pkg_version(name):
    return subprocess.check_output(["dpkg-query", "-W", "-f", "${Version}", name], text=True).strip()


def load_yaml(path):
    try:
        with open(path, encoding="utf-8") as f:
            return yaml.safe_load(f)
    except (OSError, yaml.YAMLError):
        return None


def norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_requirement(line):
    """A requirements.txt line as 'name[extras]spec; marker', or None when pip could not use it as such."""
    line = line.split(" #")[0].strip()
    if not line or line.startswith("#") or line.startswith("-") or "://" in line:
        return None
    m = REQ_LINE.match(line)
    if not m:
        word = re.match(r"^([A-Za-z][A-Za-z0-9._-]*)", line)  # e.g. "inspursmsdk 1.5.0+": keep the name
        return word.group(1) if word and word.group(1).lower() not in ("python", "python_version") else None
    name, extras, spec, marker = m.groups()
    if name.lower() in ("python_version", "sys_platform", "platform_system"):
        return None
    spec = ",".join(s.strip().replace(" ", "") for s in (spec or "").split(",") if s.strip())
    out = name + (extras.replace(" ", "") if extras else "") + spec
    return out + ("; " + marker[1:].strip() if marker else "")


def pip_file_lines(path, seen=None):
    """Lines of a pip requirements file, following -r like ansible-builder does."""
    seen = seen or set()
    if path in seen or not os.path.isfile(path):
        return []
    seen.add(path)
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for raw in f:
            line = raw.strip()
            if line.startswith("-r ") or line.startswith("--requirement "):
                out += pip_file_lines(os.path.join(os.path.dirname(path), line.split(None, 1)[1]), seen)
            elif line and not line.startswith("#"):
                out.append(line)
    return out


def declared_python(cpath):
    """The collection's own Python requirements as ansible-builder finds them (exclusions applied); None when none."""
    for ext in ("yml", "yaml"):
        meta = os.path.join(cpath, "meta", f"execution-environment.{ext}")
        if os.path.isfile(meta):
            deps = ((load_yaml(meta) or {}).get("dependencies") or {}).get("python")
            if isinstance(deps, list):
                lines = [str(x) for x in deps]
            elif isinstance(deps, str):
                lines = pip_file_lines(os.path.join(cpath, deps))
            else:
                return None
            break
    else:
        req = os.path.join(cpath, "requirements.txt")
        lines = pip_file_lines(req)
        if not lines:
            return None
    reqs = [parse_requirement(x) for x in lines]
    reqs = [r for r in reqs if r and norm(re.split(r"[\[<>=!~;]", r)[0]) not in BUILDER_EXCLUDES]
    return sorted(set(reqs), key=str.lower)


def ast_of(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return ast.parse(f.read())
    except (SyntaxError, ValueError, OSError):
        return None


def doc_string(tree, attr="DOCUMENTATION"):
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name) and t.id == attr and isinstance(node.value, ast.Constant):
                    return node.value.value
    return None


def dict_keys_returned(tree, method):
    """Keys of the dict FilterModule.filters() / TestModule.tests() returns: a literal, or a dict it names."""
    assigned = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
            for t in node.targets:
                name = t.id if isinstance(t, ast.Name) else t.attr if isinstance(t, ast.Attribute) else None
                if name:
                    assigned[name] = node.value
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == method:
            keys = []
            for sub in ast.walk(node):
                if isinstance(sub, ast.Return) and isinstance(sub.value, ast.Dict):
                    keys += [k.value for k in sub.value.keys if isinstance(k, ast.Constant)]
                elif isinstance(sub, (ast.Name, ast.Attribute)):
                    ref = assigned.get(sub.id if isinstance(sub, ast.Name) else sub.attr)
                    keys += [k.value for k in ref.keys if isinstance(k, ast.Constant)] if ref else []
            return sorted({k for k in keys if isinstance(k, str)})
    return []


class Imports:
    """Top-level names a plugin imports, through the collection's module_utils/plugin_utils it uses."""

    def __init__(self):
        self.memo = {}

    def of(self, path, depth=0):
        if path in self.memo:
            return self.memo[path]
        self.memo[path] = set()
        tree = ast_of(path)
        names = set()
        for node in ast.walk(tree) if tree else []:
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 else [])
            for mod in mods:
                parts = mod.split(".")
                if parts[0] == "ansible_collections" and len(parts) > 4 and depth < 4:
                    target = os.path.join(COLLECTIONS, *parts[1:])
                    for cand in (target + ".py", os.path.join(target, "__init__.py")):
                        if os.path.isfile(cand):
                            names |= self.of(cand, depth + 1)
                elif parts[0] not in ("ansible", "ansible_collections", "__future__"):
                    names.add(parts[0].lower())
        self.memo[path] = names
        return names


class Fragments:
    """Doc fragments' `requirements:`, keyed by 'ns.coll.fragment[.ATTR]'."""

    def __init__(self):
        self.memo = {}

    def requirements(self, ref):
        if ref in self.memo:
            return self.memo[ref]
        parts = ref.split(".")
        reqs = []
        if len(parts) >= 3:
            attr = "DOCUMENTATION"
            if len(parts) == 4:
                attr = parts[3].upper()
            path = os.path.join(COLLECTIONS, parts[0], parts[1], "plugins", "doc_fragments", parts[2] + ".py")
            tree = ast_of(path) if os.path.isfile(path) else None
            text = doc_string(tree, attr) if tree else None
            try:
                doc = yaml.safe_load(text) if text else None
            except yaml.YAMLError:
                doc = None
            reqs = list(doc.get("requirements") or []) if isinstance(doc, dict) else []
        self.memo[ref] = reqs
        return reqs


def doc_requirement(entry, imports):
    """A docs `requirements:` entry as a pip requirement, if it names a third-party package the plugin imports."""
    text = re.sub(r"[CIBLM]\(([^)]*)\)", r"\1", str(entry))
    text = re.sub(r"\([^)]*\)?", "", text).strip()
    text = re.sub(r"\s+or$", "", text).strip().strip("\"'")
    m = re.match(r"^([A-Za-z][A-Za-z0-9._-]*)(\[[\w,]+\])?\s*((?:(?:==|>=|<=|!=|~=|>|<)\s*[0-9][\w.*+-]*\s*,?\s*)*)$", text)
    if not m:
        return None
    name, extras, spec = m.group(1), m.group(2) or "", m.group(3) or ""
    low = name.lower()
    if norm(low) in BUILDER_EXCLUDES or low in STDLIB or low in SYSTEM_ONLY:
        return None
    candidates = {low, low.replace("-", "_"), norm(low).replace("-", "_"), low.split(".")[0],
                  re.sub(r"^(python3?-|py)", "", low), IMPORT_ALIASES.get(norm(low), "")}
    if not candidates & imports:
        return None
    pip = PIP_NAME.get(low, name)
    spec = ",".join(s.strip().replace(" ", "") for s in spec.split(",") if s.strip())
    return pip + extras + spec


def plugin_requirements(path, cname, imports, fragments):
    tree = ast_of(path)
    text = doc_string(tree) if tree else None
    try:
        doc = yaml.safe_load(text) if text else None
    except yaml.YAMLError:
        return []
    if not isinstance(doc, dict):
        return []
    entries = list(doc.get("requirements") or []) if isinstance(doc.get("requirements"), list) else []
    frags = doc.get("extends_documentation_fragment") or []
    for frag in [frags] if isinstance(frags, str) else frags:
        frag = str(frag)
        if frag.count(".") < 2:
            frag = f"{cname}.{frag}"
        entries += fragments.requirements(frag)
    names = imports.of(path)
    out, skip_alternatives = [], False
    for entry in entries:
        is_alt = str(entry).rstrip().endswith(" or")
        if not skip_alternatives:
            req = doc_requirement(entry, names)
            if req:
                base = re.split(r"[\[<>=!~]", req)[0]
                out.append(req.replace(base, PREFERRED.get((cname, base), base), 1))
                skip_alternatives = is_alt
        elif not is_alt:
            skip_alternatives = False
    return sorted(set(out), key=str.lower)


def plugin_files(cpath, kind):
    """(name, path) of a collection's plugins of one kind; modules include action plugins and subdirs."""
    sub = ["modules", "action"] if kind == "modules" else [kind]
    out = []
    for s in sub:
        base = os.path.join(cpath, "plugins", s)
        for root, _dirs, files in os.walk(base):
            rel = os.path.relpath(root, base)
            prefix = "" if rel == "." else rel.replace(os.sep, ".") + "."
            for fn in files:
                stem, ext = os.path.splitext(fn)
                if ext in (".py", ".ps1") and not stem.startswith("_"):
                    out.append((prefix + stem, os.path.join(root, fn)))
                elif ext in (".yml", ".yaml") and kind in ("filter", "test"):
                    out.append((prefix + stem, None))
    return out


VERSION_ADDED = re.compile(r"^version_added:[ \t]*[\"']?([0-9]+\.[0-9]+\.[0-9]+)[\"']?[ \t]*$", re.M)


def version_added(path):
    """The plugin's top-level DOCUMENTATION version_added when it is a collection (x.y.z) version, else None.

    A regex over the file rather than a YAML parse: top-level keys of DOCUMENTATION sit at column 0 while
    options' version_added are indented, and this keeps the generator fast. Two-part values ("2.9") are
    ansible's own releases from before the collection split and say nothing about the collection's version.
    """
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            m = VERSION_ADDED.search(f.read())
    except OSError:
        return None
    return m.group(1) if m else None


def added_versions(cpath, kind):
    """{version: [plugin names]} for plugins added after 1.0.0 (earlier ones need no minimum)."""
    out = {}
    sub = ["modules"] if kind == "modules" else [kind]
    for s in sub:
        base = os.path.join(cpath, "plugins", s)
        for root, _dirs, files in os.walk(base):
            rel = os.path.relpath(root, base)
            prefix = "" if rel == "." else rel.replace(os.sep, ".") + "."
            for fn in files:
                stem, ext = os.path.splitext(fn)
                # Jinja plugins document each filter/test in its own .yml (or in the .py for single-plugin files).
                if stem.startswith("_") or ext not in (".py", ".yml", ".yaml"):
                    continue
                if ext != ".py" and kind not in ("filter", "test"):
                    continue
                v = version_added(os.path.join(root, fn))
                if v and tuple(int(x) for x in v.split(".")) > (1, 0, 0):
                    out.setdefault(v, set()).add(prefix + stem)
    return {v: sorted(n) for v, n in sorted(out.items(), key=lambda kv: tuple(int(x) for x in kv[0].split(".")))}


def plugin_names(cpath, kind):
    names = set()
    for name, path in plugin_files(cpath, kind):
        if kind in ("filter", "test") and path:
            tree = ast_of(path)
            keys = dict_keys_returned(tree, "filters" if kind == "filter" else "tests") if tree else []
            names |= set(keys)
        else:
            names.add(name)
    return sorted(names)


def routing(plugin_routing, kinds=KINDS):
    """{kind: {short: 'ns.coll.name' | {'removed': msg}}} from a runtime.yml plugin_routing section."""
    out = {}
    for kind in kinds:
        entries = (plugin_routing or {}).get(kind) or {}
        table = {}
        for name, spec in entries.items():
            if not isinstance(spec, dict):
                continue
            if spec.get("tombstone"):
                t = spec["tombstone"] or {}
                table[name] = {"removed": str(t.get("warning_text") or f"removed in {t.get('removal_version') or t.get('removal_date')}")}
            elif spec.get("redirect"):
                target = str(spec["redirect"])
                # "ns.coll" alone means the same name in that collection (keeps the index small).
                table[name] = target.rsplit(".", 1)[0] if target.count(".") == 2 and target.endswith("." + name) else target
        if table:
            out[kind] = dict(sorted(table.items()))
    return out


def action_groups(groups):
    """{group: {'extends': [...], 'size': n}} with member names dropped (the analysis needs only the group)."""
    out = {}
    for gname, members in (groups or {}).items():
        extends = []
        for m in members or []:
            if isinstance(m, dict) and isinstance(m.get("metadata"), dict):
                extends += [str(x) for x in m["metadata"].get("extend_group") or []]
        out[gname] = sorted(extends)
    return dict(sorted(out.items()))


def collection_entry(ns, name, imports, fragments):
    cpath = os.path.join(COLLECTIONS, ns, name)
    cname = f"{ns}.{name}"
    manifest = {}
    try:
        with open(os.path.join(cpath, "MANIFEST.json"), encoding="utf-8") as f:
            manifest = json.load(f).get("collection_info") or {}
    except (OSError, ValueError):
        pass
    runtime = load_yaml(os.path.join(cpath, "meta", "runtime.yml")) or {}
    entry = {"version": manifest.get("version")}
    if runtime.get("requires_ansible"):
        entry["requiresAnsible"] = str(runtime["requires_ansible"]).strip()
    deps = manifest.get("dependencies") or {}
    if deps:
        entry["dependencies"] = dict(sorted(deps.items()))
    entry["plugins"] = {k: v for k in KINDS if (v := plugin_names(cpath, k))}
    # version_added grouped by version ({kind: {version: [names]}}): a name appears once, so it stays small.
    added = {k: v for k in KINDS if (v := added_versions(cpath, k))}
    if added:
        entry["added"] = added
    redirects = routing(runtime.get("plugin_routing"))
    if redirects:
        entry["redirects"] = redirects
    groups = action_groups(runtime.get("action_groups"))
    if groups:
        entry["actionGroups"] = groups
    declared = declared_python(cpath)
    if declared:
        entry["python"] = declared
    else:
        per_plugin = {}
        for kind in KINDS:
            for pname, path in plugin_files(cpath, kind):
                reqs = plugin_requirements(path, cname, imports, fragments) if path else []
                if not reqs:
                    continue
                names = [pname]
                if kind in ("filter", "test"):  # one file defines several Jinja plugins
                    tree = ast_of(path)
                    names = dict_keys_returned(tree, "filters" if kind == "filter" else "tests") or names
                for n in names:
                    per_plugin.setdefault(kind, {})[n] = reqs
        if per_plugin:
            entry["pluginPython"] = per_plugin
    return cname, entry


def builtin_entry():
    def stems(*dirs):
        out = set()
        for d in dirs:
            for fn in os.listdir(os.path.join(CORE, d)):
                stem, ext = os.path.splitext(fn)
                if ext == ".py" and not stem.startswith("_"):
                    out.add(stem)
        return out

    def jinja_plugins(d, method):
        names = set()
        for fn in os.listdir(os.path.join(CORE, d)):
            if fn.endswith(".py") and not fn.startswith("_"):
                tree = ast_of(os.path.join(CORE, d, fn))
                names |= set(dict_keys_returned(tree, method) if tree else [])
        return names

    plugins = {
        "modules": stems("modules", "plugins/action"),
        "filter": jinja_plugins("plugins/filter", "filters") | set(jinja2.filters.FILTERS),
        "test": jinja_plugins("plugins/test", "tests") | set(jinja2.tests.TESTS),
        "lookup": stems("plugins/lookup"),
        "callback": stems("plugins/callback"),
        "connection": stems("plugins/connection"),
        "inventory": stems("plugins/inventory"),
        "become": stems("plugins/become"),
    }
    return {k: sorted(v) for k, v in plugins.items()}


def main():
    keywords = load_yaml(os.path.join(CORE, "keyword_desc.yml")) or {}
    runtime = load_yaml(os.path.join(CORE, "config", "ansible_builtin_runtime.yml")) or {}
    builtin_routing = routing(runtime.get("plugin_routing"))
    for table in builtin_routing.values():  # ansible-core's own test fixtures point at testns.*
        for short in [k for k, v in table.items() if isinstance(v, str) and v.startswith("testns.")]:
            del table[short]
    imports, fragments = Imports(), Fragments()
    collections = {}
    for ns in sorted(os.listdir(COLLECTIONS)):
        if not os.path.isdir(os.path.join(COLLECTIONS, ns)) or ns.startswith("_"):
            continue
        for name in sorted(os.listdir(os.path.join(COLLECTIONS, ns))):
            if os.path.isfile(os.path.join(COLLECTIONS, ns, name, "MANIFEST.json")):
                cname, entry = collection_entry(ns, name, imports, fragments)
                collections[cname] = entry
    groups = {k: v for k, v in action_groups(runtime.get("action_groups")).items() if not k.startswith("test")}
    head = {
        "source": {
            "ansibleCore": pkg_version("ansible-core"),
            "ansible": pkg_version("ansible"),
            "generator": "scripts/generate-ansible-index.py",
        },
        "keywords": sorted(keywords),
        "builtin": builtin_entry(),
        "actionGroups": groups,
    }
    # JSON Lines: the head, then one ["routing/<kind>", table] or ["collections/<name>", entry] per line, so that
    # the analysis parses only the sections a project uses (src/analysis/ansible-index.ts reads the key before
    # the first '",' of a line: keys never hold a quote).
    sections = [(f"routing/{kind}", table) for kind, table in builtin_routing.items()]
    sections += [(f"collections/{name}", entry) for name, entry in collections.items()]
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(json.dumps(head, separators=(",", ":")) + "\n")
        for key, value in sections:
            if not re.fullmatch(r"[\w./-]+", key):
                sys.exit(f"section key {key!r} is not a plain name")
            f.write(json.dumps([key, value], separators=(",", ":")) + "\n")
    print(f"wrote {os.path.relpath(OUT)}: {len(collections)} collections, {os.path.getsize(OUT) // 1024} KiB")


if __name__ == "__main__":
    main()
