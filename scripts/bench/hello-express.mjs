// Express 5 alone (the framework's own copy), with a JSON body parser: what the Functions
// Framework costs before its own middleware.
import { createRequire } from 'node:module';

const require = createRequire(createRequire(import.meta.url).resolve('@google-cloud/functions-framework'));
const express = require('express');
const app = express();
app.use(express.json());
app.all('/{*splat}', (req, res) => res.json({ hello: 'world' }));
app.listen(Number(process.env.PORT));
