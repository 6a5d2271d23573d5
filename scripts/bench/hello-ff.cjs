// The Functions Framework's hello-world: `functions-framework --target=hello --source=<this file>`.
// AWAITS=n: the handler awaits n resolved promises first, to price a promise under the framework.
const functions = require('@google-cloud/functions-framework');

const awaits = Number(process.env.AWAITS ?? 0);

if (awaits === 0) {
  functions.http('hello', (req, res) => res.json({ hello: 'world' }));
} else {
  functions.http('hello', async (req, res) => {
    for (let i = 0; i < awaits; i++) await Promise.resolve(i);
    res.json({ hello: 'world' });
  });
}
