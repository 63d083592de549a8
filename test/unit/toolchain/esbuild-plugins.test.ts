import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build, type Plugin } from 'esbuild';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const plugins = createRequire(import.meta.url)(
  join(root, 'deploy/serverless/esbuild-plugins.cjs'),
) as Plugin[] & {
  literalKeys(code: string): string;
  keepMembers(code: string, keep: Set<string>): string;
};

describe('literalKeys', () => {
  it("writes a computed key naming one of the file's string constants as that string", () => {
    // Prepare
    const code = [
      'const _eQN = "ec2QueryName";',
      'const _xN = "xmlName";',
      'export var A$ = [{ [_eQN]: `NextToken`, [_xN]: _xN }];',
    ].join('\n');

    // Act
    const out = plugins.literalKeys(code);

    // Assess
    expect(out).toContain('export var A$ = [{ "ec2QueryName": `NextToken`, "xmlName": _xN }];');
  });

  it('leaves any other computed key as it is', () => {
    // Prepare: not a constant of the file, a constant that is no plain string, and a `let`.
    const code = ['const n0 = 1;', 'let _m = "m";', 'export var B$ = [{ [_o]: 1, [n0]: 2, [_m]: 3 }];'].join(
      '\n',
    );

    // Act
    const out = plugins.literalKeys(code);

    // Assess
    expect(out).toBe(code);
  });
});

describe('keepMembers', () => {
  it('keeps the constructor and the operations named, each with its WithHttpInfo, and drops the rest', () => {
    // Prepare: the generator's layout (@kubernetes/client-node/dist/gen).
    const code = [
      "import { ObjectSerializer } from '../models/ObjectSerializer.js';",
      'export class CoreV1ApiResponseProcessor {',
      '    constructor(configuration) {',
      '        this.configuration = configuration;',
      '    }',
      '    /**',
      '     * read the specified Node',
      '     */',
      '    async readNodeWithHttpInfo(response) {',
      "        return ObjectSerializer.deserialize(response, 'V1Node');",
      '    }',
      '    async deleteNodeWithHttpInfo(response) {',
      '        if (response) {',
      '            return 1;',
      '        }',
      '    }',
      '    readNode(name, _options) {',
      '        return this.readNodeWithHttpInfo(name);',
      '    }',
      '}',
      '//# sourceMappingURL=CoreV1Api.js.map',
    ].join('\n');

    // Act
    const out = plugins.keepMembers(code, new Set(['readNode']));

    // Assess
    expect(out.split('\n')).toEqual([
      "import { ObjectSerializer } from '../models/ObjectSerializer.js';",
      'export class CoreV1ApiResponseProcessor {',
      '    constructor(configuration) {',
      '        this.configuration = configuration;',
      '    }',
      '    async readNodeWithHttpInfo(response) {',
      "        return ObjectSerializer.deserialize(response, 'V1Node');",
      '    }',
      '    readNode(name, _options) {',
      '        return this.readNodeWithHttpInfo(name);',
      '    }',
      '}',
    ]);
  });
});

describe('the esbuild plugins of the function', () => {
  const ec2DescribeInstances = async (withPlugins: boolean) => {
    const result = await build({
      stdin: {
        contents:
          "import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';\n" +
          'export const send = () => new EC2Client({}).send(new DescribeInstancesCommand({}));',
        resolveDir: root,
        loader: 'ts',
      },
      bundle: true,
      minify: true,
      format: 'esm',
      platform: 'node',
      mainFields: ['module', 'main'],
      write: false,
      metafile: true,
      logLevel: 'silent',
      plugins: withPlugins ? plugins : [],
    });
    return Object.entries(Object.values(result.metafile.outputs)[0]!.inputs)
      .filter(([input]) => input.includes('@aws-sdk/client-ec2/dist-es/schemas/'))
      .reduce((sum, [, { bytesInOutput }]) => sum + bytesInOutput, 0);
  };

  it('let esbuild drop the EC2 schemas DescribeInstances does not use', async () => {
    // Act
    const [without, withPlugins] = await Promise.all([
      ec2DescribeInstances(false),
      ec2DescribeInstances(true),
    ]);

    // Assess: about 0.55 MB without (aws/aws-sdk-js-v3#7607); once the SDK writes literal keys
    // itself, both are small and the plugin can go.
    expect(withPlugins).toBeLessThan(60_000);
    console.info(
      `EC2 schemas for DescribeInstances: ${without} B without the plugins, ${withPlugins} B with`,
    );
  }, 60_000);

  it('load Node built-ins with require(), so importing node:http (statically or not) does not load undici', async () => {
    // Prepare: an ES module bundle as serverless.yml builds it (banner included).
    const dir = await mkdtemp(join(tmpdir(), 'esbuild-plugins-'));
    const outfile = join(dir, 'out.mjs');
    await build({
      stdin: {
        contents:
          "import http from 'node:http';\nimport { STATUS_CODES } from 'http';\n" +
          "const { request } = await import('node:http');\n" +
          "const { Agent } = (await import('node:https')).default;\n" +
          'export const seen = [typeof http.Agent, STATUS_CODES[404], typeof request, typeof Agent];',
        resolveDir: root,
        loader: 'ts',
      },
      bundle: true,
      format: 'esm',
      platform: 'node',
      outfile,
      banner: {
        js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
      },
      logLevel: 'silent',
      plugins,
    });

    // Act
    const { stdout } = await promisify(execFile)(join(root, 'node_modules/.bin/node'), [
      '--input-type=module',
      '-e',
      `const { seen } = await import(${JSON.stringify(outfile)});
       console.log(JSON.stringify({ seen, undici: process.moduleLoadList.some((m) => m.includes('undici')) }));`,
    ]);
    await rm(dir, { recursive: true, force: true });

    // Assess
    expect(JSON.parse(stdout)).toEqual({
      seen: ['function', 'Not Found', 'function', 'function'],
      undici: false,
    });
  }, 60_000);

  it("cut client-node's API classes to the operations the function's code names", async () => {
    // Prepare: the Core group as src/kube/client-node.ts takes it.
    const dir = await mkdtemp(join(tmpdir(), 'esbuild-plugins-'));
    const outfile = join(dir, 'out.mjs');
    const result = await build({
      stdin: {
        contents:
          "export { ObjectCoreV1Api } from '@kubernetes/client-node/dist/gen/types/ObjectParamAPI.js';\n" +
          "export { ObservableCoreV1Api } from '@kubernetes/client-node/dist/gen/types/ObservableAPI.js';",
        resolveDir: root,
        loader: 'ts',
      },
      bundle: true,
      minify: true,
      format: 'esm',
      platform: 'node',
      outfile,
      metafile: true,
      banner: {
        js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
      },
      logLevel: 'silent',
      plugins,
    });

    // Act
    const { stdout } = await promisify(execFile)(join(root, 'node_modules/.bin/node'), [
      '--input-type=module',
      '-e',
      `const { ObjectCoreV1Api, ObservableCoreV1Api } = await import(${JSON.stringify(outfile)});
       const has = (c, name) => typeof c.prototype[name] === 'function';
       console.log(JSON.stringify([
         has(ObjectCoreV1Api, 'readNode'), has(ObjectCoreV1Api, 'patchNode'),
         has(ObservableCoreV1Api, 'readNodeWithHttpInfo'), has(ObjectCoreV1Api, 'connectGetNamespacedPodAttach'),
       ]));`,
    ]);
    await rm(dir, { recursive: true, force: true });

    // Assess: what src/ calls is there, at every layer; an operation it never names is not (and
    // CoreV1Api.js, about 0.38 MB whole, shrinks to what the function sends).
    expect(JSON.parse(stdout)).toEqual([true, true, true, false]);
    const coreApi = Object.entries(Object.values(result.metafile.outputs)[0]!.inputs).find(([input]) =>
      input.endsWith('dist/gen/apis/CoreV1Api.js'),
    );
    expect(coreApi?.[1].bytesInOutput).toBeLessThan(60_000);
  }, 60_000);
});
