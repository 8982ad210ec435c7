// Vite plugin: serves the dataset files the Node tools use (UNMIX_DATA, ../shared/data, the fetch
// cache: see src/data/locate.ts) at /data/<dataset>/<official file name>, so `npm run dev` trains
// without asking for files. Only in `vite` and `vite preview`; a static build asks the user instead.
import { createReadStream, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Plugin } from 'vite';
import { DATASET_FILES } from '../data/datasets.ts';
import { findDataDirs, findIdxFile } from '../data/locate.ts';

const DATA_URL = '/data/';

function serveDatasets(req: IncomingMessage, res: ServerResponse, next: () => void): void {
  const path = (req.url ?? '').split('?')[0];
  if (!path.startsWith(DATA_URL)) {
    next();
    return;
  }
  // Only the eight known names, compared whole: no part of the request ever reaches the file system
  // (so /data/../x, %2e%2e and other spellings are simply not among them).
  const known = DATASET_FILES.find((f) => path === `${DATA_URL}${f.dataset}/${f.file}`);
  let found: string | null = null;
  let why = `${path}: not one of the dataset files`;
  if (known) {
    try {
      const dirs = findDataDirs();
      found = findIdxFile(known.dataset === 'mnist' ? dirs.mnist : dirs.fashion, known.file);
    } catch (e) {
      why = (e as Error).message;
    }
  }
  if (!found) {
    res.statusCode = 404;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end(why);
    return;
  }
  res.setHeader('Content-Type', 'application/octet-stream');
  res.setHeader('Content-Length', String(statSync(found).size));
  res.setHeader('Cache-Control', 'no-cache');
  createReadStream(found).pipe(res);
}

export function datasetFiles(): Plugin {
  return {
    name: 'unmix-dataset-files',
    configureServer: (server) => void server.middlewares.use(serveDatasets),
    configurePreviewServer: (server) => void server.middlewares.use(serveDatasets),
  };
}
