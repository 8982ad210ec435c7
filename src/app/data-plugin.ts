// Vite plugin: the dataset files the Node tools use (UNMIX_DATA, ../shared/data, the fetch cache: see
// src/data/locate.ts), for the page. `vite` and `vite preview` serve them at data/<dataset>/<official
// file name>; `vite build` copies them into dist/data/, each checked by SHA-256, so the built site
// trains on any static host. Both list what they have in data/datasets.json; without datasets the
// list is empty (the build still succeeds) and the page asks the visitor for the files.
import { createReadStream, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Plugin } from 'vite';
import { DATA_DIR, DATA_MANIFEST, type DataManifest, type DatasetFile, SOURCE_FILES, verifiedIdx } from '../data/datasets.ts';
import { isGzip } from '../data/idx.ts';
import { findDataDirs, findIdxFile } from '../data/locate.ts';

const DATA_URL = `/${DATA_DIR}`;

/** The files the page reads that lie on this machine, and why not all of them, if not. */
export interface LocatedFiles {
  found: { file: DatasetFile; path: string }[];
  why: string;
}

/** Where each file the page reads lies on this machine, found as the CLI finds them. */
function locateSourceFiles(): LocatedFiles {
  try {
    const dirs = findDataDirs();
    const found = SOURCE_FILES.map((file) => ({
      file,
      path: findIdxFile(file.dataset === 'mnist' ? dirs.mnist : dirs.fashion, file.file),
    }));
    return { found: found.filter((f): f is { file: DatasetFile; path: string } => f.path !== null), why: '' };
  } catch (e) {
    return { found: [], why: (e as Error).message };
  }
}

const nameOf = (f: DatasetFile) => `${f.dataset}/${f.file}`;

function serveDatasets(req: IncomingMessage, res: ServerResponse, next: () => void): void {
  const path = (req.url ?? '').split('?')[0];
  if (!path.startsWith(DATA_URL)) {
    next();
    return;
  }
  const { found, why } = locateSourceFiles();
  if (path === `${DATA_URL}${DATA_MANIFEST}`) {
    res.setHeader('Content-Type', 'application/json');
    res.setHeader('Cache-Control', 'no-cache');
    res.end(JSON.stringify({ files: found.map((f) => nameOf(f.file)) } satisfies DataManifest));
    return;
  }
  // Only the known names, compared whole: no part of the request ever reaches the file system
  // (so /data/../x, %2e%2e and other spellings are simply not among them).
  const known = found.find((f) => path === `${DATA_URL}${nameOf(f.file)}`);
  if (!known) {
    res.statusCode = 404;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end(why || `${path}: not one of the dataset files`);
    return;
  }
  res.setHeader('Content-Type', 'application/octet-stream');
  res.setHeader('Content-Length', String(statSync(known.path).size));
  res.setHeader('Cache-Control', 'no-cache');
  createReadStream(known.path).pipe(res);
}

/** Copies the datasets into outDir/data/ after checking each one's SHA-256 (gzipped, as their names
 * say, where found raw), and lists them; copies nothing, and says so, where some are missing. */
export async function copyDatasets(outDir: string, located: LocatedFiles, warn: (message: string) => void): Promise<void> {
  const { found, why } = located;
  const copied: string[] = [];
  if (found.length === SOURCE_FILES.length) {
    for (const { file, path } of found) {
      const bytes = new Uint8Array(readFileSync(path));
      await verifiedIdx(bytes, file.dataset, file.file);
      mkdirSync(join(outDir, DATA_DIR, file.dataset), { recursive: true });
      writeFileSync(join(outDir, DATA_DIR, file.dataset, file.file), isGzip(bytes) ? bytes : gzipSync(bytes));
      copied.push(nameOf(file));
    }
  } else {
    warn(
      `unmix: no datasets copied into ${join(outDir, DATA_DIR)} (${why || 'some files are missing'}); ` +
        'the site shows the shipped model and asks visitors for the files; run `npm run fetch-data` and build again to include them',
    );
  }
  mkdirSync(join(outDir, DATA_DIR), { recursive: true });
  writeFileSync(join(outDir, DATA_DIR, DATA_MANIFEST), `${JSON.stringify({ files: copied } satisfies DataManifest)}\n`);
}

export function datasetFiles(): Plugin {
  let outDir = 'dist';
  return {
    name: 'unmix-dataset-files',
    configResolved: (config) => void (outDir = resolve(config.root, config.build.outDir)),
    configureServer: (server) => void server.middlewares.use(serveDatasets),
    configurePreviewServer: (server) => void server.middlewares.use(serveDatasets),
    async writeBundle() {
      await copyDatasets(outDir, locateSourceFiles(), (message) => this.warn(message));
    },
  };
}
