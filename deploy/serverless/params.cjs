'use strict';
/**
 * Typed readers for serverless.yml params (`--param name=value` or the `params.default` block).
 * Variable resolvers in this folder use them to compute what YAML cannot: booleans, lists, sums and
 * blocks that exist only when a param is set. CommonJS because osls loads resolvers with require()
 * and package.json makes `.js` files ES modules.
 */

const TRUE = new Set(['true', '1', 'yes']);
const FALSE = new Set(['false', '0', 'no']);

/** The raw param as a trimmed string; every param has a default in serverless.yml, so none is missing. */
async function readString(resolveVariable, name) {
  const value = await resolveVariable(`param:${name}`);
  return value == null ? '' : String(value).trim();
}

/** A boolean param: true/false/1/0/yes/no, anything else is a mistake worth stopping the deploy for. */
async function readBool(resolveVariable, name) {
  const raw = (await readString(resolveVariable, name)).toLowerCase();
  if (TRUE.has(raw)) return true;
  if (FALSE.has(raw)) return false;
  throw new Error(`param "${name}" must be true or false, got "${raw}"`);
}

/** A whole-number param within [min, max]. */
async function readInt(resolveVariable, name, min, max) {
  const raw = await readString(resolveVariable, name);
  const value = Number(raw);
  if (raw === '' || !Number.isInteger(value) || value < min || value > max) {
    throw new Error(`param "${name}" must be a whole number in [${min}, ${max}], got "${raw}"`);
  }
  return value;
}

/** A comma-separated list param; blanks and duplicates are dropped, order is kept. */
async function readList(resolveVariable, name) {
  const raw = await readString(resolveVariable, name);
  const items = raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  return [...new Set(items)];
}

module.exports = { readString, readBool, readInt, readList };
