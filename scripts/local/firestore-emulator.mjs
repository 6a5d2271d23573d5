// The local stand-in for Firestore: @firestore-emulator/server (a Firestore emulator in Node,
// gRPC) on 127.0.0.1:PORT. Google's own emulator needs Java and a download; this one is an npm
// package. It has no transaction isolation, listDocuments, BulkWriter, startAfter cursors or
// `== null` filters: the live view (functions/src/lib/live-view.ts) uses none of them.
import { createRequire } from 'node:module';
import { FirestoreServer } from '@firestore-emulator/server';

const port = Number(process.env.PORT);
const emulator = new FirestoreServer();
// Its start() binds 0.0.0.0; like every local service here it listens on loopback alone.
const grpc = createRequire(import.meta.resolve('@firestore-emulator/server'))('@grpc/grpc-js');
const server = /** @type {{ server: import('@grpc/grpc-js').Server }} */ (/** @type {unknown} */ (emulator)).server;
server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) {
    console.error(`firestore emulator: ${err.message}`);
    process.exit(1);
  }
  console.log(`firestore emulator on 127.0.0.1:${port}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => (emulator.stop(), process.exit(0)));
