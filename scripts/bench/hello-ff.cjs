// The Functions Framework's hello-world: `functions-framework --target=hello --source=<this file>`.
const functions = require('@google-cloud/functions-framework');

functions.http('hello', (req, res) => res.json({ hello: 'world' }));
