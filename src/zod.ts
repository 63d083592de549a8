/**
 * The project's one door to zod: `zod/mini`, whose functional API tree-shakes to a few KB of the
 * Lambda bundle where classic zod costs ~450 KB. Mini loads no locale, so default issue messages
 * would read a bare "Invalid input"; the English locale keeps them as classic zod words them.
 *
 * Import it as a namespace (`import * as z from './zod.js'`). It re-exports with `export *` and
 * takes `en` from 'zod/locales' on purpose: re-exporting the namespace object (`export { z }`) or
 * calling `z.locales.en()` makes esbuild keep all of zod, every locale included (~430 KB).
 *
 * @example
 * import * as z from '../zod.js';
 * const id = z.string().check(z.maxLength(19), z.regex(/^i-/));
 */
import { en } from 'zod/locales';
import { config } from 'zod/mini';

config(en());

export * from 'zod/mini';
