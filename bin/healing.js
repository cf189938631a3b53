#!/usr/bin/env node
// The `healing` command as npm installs it (`npx healing ...`): registers tsx, which runs the
// TypeScript sources as they are (no build step), then hands over to cli/healing.ts.
import { register } from 'tsx/esm/api';

register();
await import('../cli/healing.ts');
