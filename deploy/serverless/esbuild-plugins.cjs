'use strict';
/**
 * esbuild plugins for the function's bundle: serverless.yml names this file as custom.esbuild.plugins
 * (serverless-esbuild requires it), and test/support/lambda-bundle.ts and bench/bundle.ts load it the
 * same way. CommonJS because serverless-esbuild loads it with require().
 */

const { readFile } = require('node:fs/promises');
const { builtinModules } = require('node:module');
const { kubeApiMembers, keepMembers } = require('./kube-api-members.cjs');

/**
 * The AWS SDK's generated schemas (@aws-sdk/client-<service>/dist-es/schemas/schemas_<n>.js) write
 * trait objects with computed keys, `{ [_xN]: _nTe }`, where `_xN` is a string constant of the same
 * file. esbuild cannot prove that a computed key has no side effects, so it keeps every schema that
 * holds one, and everything those schemas reference: 0.55 MB of EC2 shapes for a function that sends
 * DescribeInstances. Written as literal keys, `{ "xmlName": _nTe }`, the unused shapes are dropped.
 * The same object either way: only `[_name]:` whose `_name` is a `const _name = "…";` of the file is
 * rewritten. Upstream: aws/aws-sdk-js-v3#7607, fixed in the generator by smithy-typescript#1889;
 * once the SDK ships that, this plugin finds nothing to rewrite.
 */
const schemaKeysAsLiterals = {
  name: 'aws-sdk-schema-literal-keys',
  setup(build) {
    build.onLoad(
      { filter: /[\\/]@aws-sdk[\\/]client-[^\\/]+[\\/]dist-es[\\/]schemas[\\/]schemas_\d+\.js$/ },
      async (args) => {
        const code = await readFile(args.path, 'utf8');
        return { contents: literalKeys(code), loader: 'js' };
      },
    );
  },
};

/** `[_name]:` → `"value":` for each top-level `const _name = "value";` of the code. */
function literalKeys(code) {
  const strings = new Map();
  for (const [, name, literal] of code.matchAll(/^const (_\w+) = ("[^"\\\n]*");$/gm))
    strings.set(name, literal);
  return code.replace(/\[(_\w+)\]:/g, (key, name) => strings.get(name)?.concat(':') ?? key);
}

/**
 * Node's built-in modules, which the bundle imports with `import`, loaded with `require()` instead
 * (the banner's createRequire). Importing a built-in as an ES module makes Node build a module facade
 * that reads every export once, and `node:http`'s lazy WebSocket exports then load undici, Node's
 * fetch: about 20 ms of every cold start for code the function never runs (nodejs/node#59686).
 * `require()` hands over the same module object and reads nothing. The same for `import('node:http')`,
 * which @smithy/node-http-handler sends for an http: endpoint (LocalStack, the test bed's moto).
 */
const builtinsThroughRequire = {
  name: 'node-builtins-through-require',
  setup(build) {
    const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));
    build.onResolve({ filter: /^[a-z_:/]+$/ }, (args) =>
      (args.kind === 'import-statement' || args.kind === 'dynamic-import') && builtins.has(args.path)
        ? { path: args.path, namespace: 'node-builtin' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'node-builtin' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

module.exports = [schemaKeysAsLiterals, builtinsThroughRequire, kubeApiMembers];
module.exports.literalKeys = literalKeys;
module.exports.keepMembers = keepMembers;
