// `npm run pack [-- <folder>]`: tarballs of @gatehouse/verify and @gatehouse/client that install on their own
// (`npm install ./dist-packages/gatehouse-verify-0.1.0.tgz`) until they are published.
//
// Both need @gatehouse/codes, which no registry holds. It travels inside each tarball as a bundled dependency
// (`bundleDependencies`), not compiled into the package's code with esbuild: the packages' type declarations
// import its types (`Code`, `ClientAction`) by name, and a bundled copy keeps them resolving while the
// package's JavaScript stays exactly what tsc wrote. Once @gatehouse/codes is published, the bundling goes.
//
// Each package is staged in a temporary folder and packed there. In the workspace, @gatehouse/codes is a link
// in the root node_modules, which `npm pack` leaves out of a bundle, and `bundleDependencies` in the
// workspace's package.json would change the root lockfile. The stage is compiled from src into the stage
// itself, so a tarball never carries stale output and the dist folders the tests import are not rewritten.

import { execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const PACKED = ['verify', 'client'];
const BUNDLED = 'codes';

const packageDir = (name) => join(root, 'packages', name);
const LICENSE = join(root, 'LICENSE');

/** Source maps are left out: they point at src, which a tarball does not carry. */
function compile(name, outDir) {
  const project = join(packageDir(name), 'tsconfig.json');
  execFileSync(process.execPath, [tsc, '-p', project, '--outDir', outDir, '--sourceMap', 'false'], {
    stdio: 'inherit',
  });
}

async function readManifest(name) {
  return JSON.parse(await readFile(join(packageDir(name), 'package.json'), 'utf8'));
}

async function writeManifest(folder, manifest) {
  await writeFile(join(folder, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}

/** The bundled package, compiled once and copied into every stage. */
async function stageBundled(workDir) {
  const folder = join(workDir, BUNDLED);
  compile(BUNDLED, join(folder, 'dist'));
  const manifest = await readManifest(BUNDLED);
  await writeManifest(folder, manifest);
  return { folder, name: manifest.name };
}

async function stage(name, workDir, bundled) {
  const folder = join(workDir, name);
  compile(name, join(folder, 'dist'));
  const manifest = await readManifest(name);
  await writeManifest(folder, { ...manifest, bundleDependencies: [bundled.name] });
  await cp(join(packageDir(name), 'README.md'), join(folder, 'README.md'));
  await cp(LICENSE, join(folder, 'LICENSE'));
  await cp(bundled.folder, join(folder, 'node_modules', bundled.name), { recursive: true });
  return folder;
}

function pack(folder, destination) {
  const output = execFileSync('npm', ['pack', '--json', '--pack-destination', destination], {
    cwd: folder,
    encoding: 'utf8',
  });
  return join(destination, JSON.parse(output)[0].filename);
}

const destination = resolve(root, process.argv[2] ?? 'dist-packages');
await mkdir(destination, { recursive: true });
// The folder ignores itself, so tarballs never end up in a commit wherever it is written.
await writeFile(join(destination, '.gitignore'), '*\n');
const workDir = await mkdtemp(join(tmpdir(), 'gatehouse-pack-'));
try {
  const bundled = await stageBundled(workDir);
  for (const name of PACKED) {
    console.log(pack(await stage(name, workDir, bundled), destination));
  }
} finally {
  await rm(workDir, { recursive: true, force: true });
}
