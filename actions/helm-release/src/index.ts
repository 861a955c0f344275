// Entry point of the bundle (dist/index.js): runs the action.
import { run } from './main.js';

void run();
