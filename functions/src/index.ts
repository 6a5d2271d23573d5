// The one entry point Cloud Functions deploys: every function target, registered by name
// with the Functions Framework (`functions-framework --target=<name>`).
import * as functions from '@google-cloud/functions-framework';
import { installFrameworkErrorHandler } from './lib/framework.js';
import { FUNCTION_TARGETS } from './targets.js';

installFrameworkErrorHandler();

for (const [name, handler] of Object.entries(FUNCTION_TARGETS)) functions.http(name, handler);

export { FUNCTION_TARGETS };
