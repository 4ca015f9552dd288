// The Python program that turns Debian's installed dist-packages into wheels (plus a few tiny packages of our own).
// Debian ships no ansible-core wheel or sdist, but its dist-info/egg-info say which files belong to which package.

/** Distributions to repack: Debian's name for the metadata dir prefix, and Requires-Dist Debian stripped. */
export const DEBIAN_DISTRIBUTIONS: { name: string; addRequires?: string[] }[] = [
  { name: "ansible_core" },
  { name: "Jinja2", addRequires: ["MarkupSafe>=2.0"] },
  { name: "MarkupSafe" },
  { name: "PyYAML" },
  { name: "cryptography", addRequires: ["cffi>=1.12"] },
  { name: "packaging" },
  { name: "resolvelib" },
  {
    name: "requests",
    addRequires: ["charset_normalizer<4,>=2", "idna<4,>=2.5", "urllib3<1.27,>=1.21.1", "certifi>=2017.4.17"],
  },
  // Debian's urllib3 imports the system six instead of its vendored copy.
  { name: "urllib3", addRequires: ["six>=1.12"] },
  { name: "six" },
  { name: "idna" },
  { name: "certifi" },
  { name: "charset_normalizer" },
];

/** Run with Debian's python3: argv[1] = output dir, argv[2] = JSON of DEBIAN_DISTRIBUTIONS. Prints the wheels made. */
export const REPACK_PY = String.raw`
import base64, glob, hashlib, json, os, re, subprocess, sys, sysconfig, zipfile

DIST = "/usr/lib/python3/dist-packages"
out_dir, wanted = sys.argv[1], json.loads(sys.argv[2])
py_tag = "cp%d%d" % sys.version_info[:2]
platform_tag = sysconfig.get_platform().replace("-", "_").replace(".", "_")
made = []

def norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()

def write_wheel(name, version, files, metadata, entry_points=None, binary=False):
    """files: list of (archive path, bytes). Writes simple/<name>/<wheel> with METADATA, WHEEL and RECORD."""
    under = re.sub(r"[-_.]+", "_", name)
    tag = "%s-%s-%s" % (py_tag, py_tag, platform_tag) if binary else "py3-none-any"
    info = "%s-%s.dist-info" % (under, version)
    entries = list(files)
    entries.append((info + "/METADATA", metadata.encode()))
    wheel_txt = "Wheel-Version: 1.0\nGenerator: dropship-repack\nRoot-Is-Purelib: %s\nTag: %s\n" % ("false" if binary else "true", tag)
    entries.append((info + "/WHEEL", wheel_txt.encode()))
    if entry_points:
        entries.append((info + "/entry_points.txt", entry_points.encode()))
    record = []
    for path, data in entries:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append("%s,sha256=%s,%d" % (path, digest, len(data)))
    record.append(info + "/RECORD,,")
    entries.append((info + "/RECORD", ("\n".join(record) + "\n").encode()))
    target = os.path.join(out_dir, "simple", norm(name))
    os.makedirs(target, exist_ok=True)
    wheel = os.path.join(target, "%s-%s-%s.whl" % (under, version, tag))
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as z:
        for path, data in entries:
            z.writestr(path, data)
    made.append(os.path.basename(wheel))

def read(path):
    with open(path, "rb") as f:
        return f.read()

def package_files(top_levels):
    files = []
    for top in top_levels:
        base = os.path.join(DIST, top)
        if os.path.isdir(base):
            for root, dirs, names in os.walk(base):
                dirs[:] = [d for d in dirs if d != "__pycache__"]
                for n in names:
                    if n.endswith(".pyc"):
                        continue
                    full = os.path.join(root, n)
                    files.append((os.path.relpath(full, DIST), read(full)))
        else:
            for full in glob.glob(base + ".py") + glob.glob(base + ".*.so") + glob.glob(base + ".so"):
                files.append((os.path.relpath(full, DIST), read(full)))
    return files

def top_levels_of(meta_dir):
    tl = os.path.join(meta_dir, "top_level.txt")
    if os.path.exists(tl):
        return [l.strip() for l in open(tl) if l.strip()]
    tops = set()
    for line in open(os.path.join(meta_dir, "RECORD")):
        path = line.split(",")[0]
        if path.startswith("../") or ".dist-info/" in path:
            continue
        tops.add(re.split(r"[/.]", path)[0])
    return sorted(tops)

def egg_requires(meta_dir):
    path = os.path.join(meta_dir, "requires.txt")
    reqs = []
    if os.path.exists(path):
        for line in open(path):
            line = line.strip()
            if line.startswith("["):
                break  # extras and markers: not needed here
            if line:
                reqs.append(line)
    return reqs

def repack(entry):
    found = sorted(glob.glob(os.path.join(DIST, entry["name"] + "-*.dist-info")) + glob.glob(os.path.join(DIST, entry["name"] + "-*.egg-info")))
    if not found:
        sys.exit("no installed metadata for %s under %s: install its Debian package" % (entry["name"], DIST))
    meta_dir = found[0]
    is_dist = meta_dir.endswith(".dist-info")
    text = open(os.path.join(meta_dir, "METADATA" if is_dist else "PKG-INFO"), encoding="utf-8").read()
    head, sep, body = text.partition("\n\n")
    name = re.search(r"^Name: (.+)$", head, re.M).group(1).strip()
    version = re.search(r"^Version: (.+)$", head, re.M).group(1).strip()
    requires = [] if is_dist else egg_requires(meta_dir)
    requires += entry.get("addRequires", [])
    head = head.rstrip("\n") + "".join("\nRequires-Dist: " + r for r in requires)
    files = package_files(top_levels_of(meta_dir))
    ep_path = os.path.join(meta_dir, "entry_points.txt")
    ep = open(ep_path).read() if os.path.exists(ep_path) else None
    binary = any(p.endswith(".so") for p, _ in files)
    write_wheel(name, version, files, head + "\n\n" + body if sep else head + "\n", ep, binary)

def cffi_backend():
    # Debian ships only cffi's compiled backend (python3-cffi-backend); it is all cryptography needs at run time.
    version = subprocess.run(["dpkg-query", "-W", "-f", "$" "{Version}", "python3-cffi-backend"], capture_output=True, text=True).stdout
    version = re.match(r"(?:\d+:)?([0-9.]+)", version).group(1) if version else "1.15.1"
    files = package_files(["_cffi_backend"])
    if not files:
        sys.exit("no _cffi_backend under %s: apt-get install python3-cffi-backend" % DIST)
    write_wheel("cffi", version, files, "Metadata-Version: 2.1\nName: cffi\nVersion: %s\nSummary: cffi backend repacked from Debian\n" % version, binary=True)

def tiny(name, version, requires=()):
    module = name.replace("-", "_")
    code = "VERSION = %r\n\ndef hello(who):\n    return 'hello, %%s, from %s %s' %% who\n" % (version, name, version)
    meta = "Metadata-Version: 2.1\nName: %s\nVersion: %s\nSummary: a tiny test package\n" % (name, version)
    meta += "".join("Requires-Dist: %s\n" % r for r in requires)
    write_wheel(name, version, [(module + "/__init__.py", code.encode())], meta)

for entry in wanted:
    repack(entry)
cffi_backend()
tiny("dropship-hello", "1.0.0")
tiny("dropship-hello", "1.1.0")
tiny("dropship-greeting", "0.2.0", ["dropship-hello>=1.0"])
print("\n".join(sorted(made)))
`;
