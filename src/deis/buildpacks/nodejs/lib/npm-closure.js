// Prints, one per line, "SOURCE<TAB>NAME": the package folders npm needs besides its own
// folder (the first line, NAME "npm"). The stack's npm (Debian's) finds most of its
// dependencies in node's global folders (/usr/share/nodejs, ...) rather than in its own
// node_modules: these are what a slug must carry for npm to run without them.
// Usage: node npm-closure.js [GLOBAL_DIR ...] (default: this node's global folders)
"use strict";
const fs = require("fs");
const path = require("path");
const Module = require("module");

const globals = process.argv.length > 2 ? process.argv.slice(2) : Module.globalPaths;
const isPackage = (dir) => fs.existsSync(path.join(dir, "package.json"));
const roots = new Set(globals.filter((g) => fs.existsSync(g)).map((g) => fs.realpathSync(g)));

// Where node finds package `name` when required from `from`; global: it is one of the
// global folders' own packages (Debian also reaches them as /usr/share/node_modules).
function find(name, from) {
  const holder = (candidate) => fs.realpathSync(path.join(candidate, ...name.split("/").map(() => "..")));
  const found = (candidate) => ({ dir: fs.realpathSync(candidate), global: roots.has(holder(candidate)) });
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "node_modules", name);
    if (isPackage(candidate)) return found(candidate);
    if (dir === path.dirname(dir)) break;
  }
  for (const root of globals) {
    const candidate = path.join(root, name);
    if (isPackage(candidate)) return found(candidate);
  }
  return null;
}

const npm = globals.map((g) => path.join(g, "npm")).find(isPackage);
if (!npm) {
  console.error("npm is not installed in " + globals.join(", "));
  process.exit(1);
}
const out = [[fs.realpathSync(npm), "npm"]];
const shipped = new Set(["npm"]);
const seen = new Set();
const queue = [fs.realpathSync(npm)];
while (queue.length) {
  const dir = queue.pop();
  if (seen.has(dir)) continue;
  seen.add(dir);
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
  const names = Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies });
  for (const name of names) {
    const found = find(name, dir);
    if (!found) continue; // optional, or provided by node itself
    if (found.global && !shipped.has(name)) {
      shipped.add(name);
      out.push([found.dir, name]);
    }
    queue.push(found.dir);
  }
  // Packages nested in this one's node_modules come along with it; their dependencies too.
  const nested = path.join(dir, "node_modules");
  if (fs.existsSync(nested)) {
    for (const entry of fs.readdirSync(nested)) {
      const names = entry.startsWith("@")
        ? fs.readdirSync(path.join(nested, entry)).map((n) => entry + "/" + n)
        : [entry];
      for (const n of names) if (isPackage(path.join(nested, n))) queue.push(path.join(nested, n));
    }
  }
}
// Debian links a scope's node_modules to npm's (/usr/share/nodejs/@npmcli/node_modules ->
// ../npm/node_modules): its packages find npm's bundled ones through it. Ship the links.
for (const scope of new Set(out.map(([, name]) => name.split("/")[0]).filter((n) => n.startsWith("@")))) {
  for (const root of globals) {
    const link = path.join(root, scope, "node_modules");
    if (fs.existsSync(link)) {
      out.push([link, scope + "/node_modules"]);
      break;
    }
  }
}
for (const [dir, name] of out) console.log(dir + "\t" + name);
