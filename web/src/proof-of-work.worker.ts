// The proof-of-work's worker: one challenge in, its nonce out (proof-of-work.ts), so the page's
// thread stays free while a join is being paid for.
import { solveChallenge, type Challenge } from './proof-of-work';

self.onmessage = (event: MessageEvent<Challenge>) => {
  solveChallenge(event.data, { batch: 512 }).then(
    (nonce) => self.postMessage({ nonce }),
    (err: unknown) => self.postMessage({ error: String(err) }),
  );
};
