// The one entry point Cloud Functions deploys: every function target, registered by name
// with the Functions Framework (`functions-framework --target=<name>`).
import * as functions from '@google-cloud/functions-framework';
import { installFrameworkErrorHandler } from './lib/framework.js';
import { beforeServing } from './lib/startup.js';
import { FUNCTION_TARGETS } from './targets.js';

installFrameworkErrorHandler();
// The framework awaits this module's evaluation: no target is registered, so none serves, until
// the settings are checked and (MIGRATE_ON_START) the schema is current; a failure stops the instance.
await beforeServing();

for (const [name, handler] of Object.entries(FUNCTION_TARGETS)) functions.http(name, handler);

export { FUNCTION_TARGETS };
