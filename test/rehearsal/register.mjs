// `node --import ./test/rehearsal/register.mjs test/rehearsal/main.ts`: installs ts-hooks.mjs.
import { register } from 'node:module';

register('./ts-hooks.mjs', import.meta.url);
