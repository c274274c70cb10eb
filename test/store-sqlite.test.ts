import { join } from 'node:path';
import { sessionStoreConformance } from './helpers/store-conformance.js';
import { tempDir } from './helpers/server.js';
import { SqliteStore } from '../src/adapters/sqlite/sqlite-store.js';

let tmp: ReturnType<typeof tempDir> | undefined;
sessionStoreConformance({
  name: 'sqlite',
  async open() {
    tmp = tempDir();
    return new SqliteStore(join(tmp.dir, 'store.db'));
  },
  async reopen() {
    return new SqliteStore(join(tmp!.dir, 'store.db'));
  },
  async cleanup() {
    tmp?.cleanup();
  },
});
