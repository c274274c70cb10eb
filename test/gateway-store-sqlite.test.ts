import { join } from 'node:path';
import { gatewayStoreConformance } from './helpers/gateway-store-conformance.js';
import { tempDir } from './helpers/server.js';
import { SqliteStore } from '../src/adapters/sqlite/sqlite-store.js';
import { SqliteGatewayStore } from '../src/adapters/sqlite/sqlite-gateway-store.js';

let tmp: ReturnType<typeof tempDir> | undefined;
gatewayStoreConformance({
  name: 'sqlite',
  async open() {
    tmp = tempDir();
    const base = new SqliteStore(join(tmp.dir, 'gateway.db'));
    return { base, gateway: new SqliteGatewayStore(base) };
  },
  async cleanup() {
    tmp?.cleanup();
    tmp = undefined;
  },
});
