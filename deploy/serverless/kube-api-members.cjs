'use strict';
/**
 * @kubernetes/client-node's generated API classes, cut to the operations the function names. Each
 * group (CoreV1Api, AppsV1Api, PolicyV1Api) is one class per layer (request factory, response
 * processor, Observable, ObjectParam) with a method for every operation of the group: CoreV1Api
 * alone is about 0.6 MB minified, for the dozen operations a drain sends. esbuild cannot drop a
 * class's unused methods, so a cold start would parse them all. This plugin keeps, in those files,
 * the constructor and every method whose operation name appears as a word in the function's own
 * code (src/ and handlers/), `…WithHttpInfo` with its operation; any name the code mentions is kept,
 * so a kept method too many costs bytes, never a call. Local to the build: tests and tools that
 * import the package unbundled see it whole.
 */

const { readdir, readFile } = require('node:fs/promises');
const { join, resolve } = require('node:path');

const projectRoot = resolve(__dirname, '../..');
/** Where the function's code lives; the words of these files decide what is kept. */
const codeDirs = ['src', 'handlers'];

const generatedApiFile =
  /[\\/]@kubernetes[\\/]client-node[\\/]dist[\\/]gen[\\/](apis[\\/]\w+Api|types[\\/](ObservableAPI|ObjectParamAPI|PromiseAPI))\.js$/;

const kubeApiMembers = {
  name: 'kube-api-members-used',
  setup(build) {
    let words;
    build.onStart(() => {
      words = wordsOfCode(codeDirs.map((dir) => join(projectRoot, dir)));
    });
    build.onLoad({ filter: generatedApiFile }, async (args) => {
      const code = await readFile(args.path, 'utf8');
      return { contents: keepMembers(code, await words), loader: 'js' };
    });
  },
};

/** Every identifier-like word of the .ts files under `dirs`. */
async function wordsOfCode(dirs) {
  const words = new Set();
  for (const dir of dirs) {
    for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
      const text = await readFile(join(entry.parentPath, entry.name), 'utf8');
      for (const [word] of text.matchAll(/[A-Za-z_$][\w$]*/g)) words.add(word);
    }
  }
  return words;
}

/**
 * The generated file without the class methods whose operation `keep` lacks. The generator writes
 * each member at four spaces, `    [async ]name(…) {` to `    }`, its doc comment just before it;
 * doc comments go (minify drops them anyway), and so does the link to the package's source map,
 * whose lines would no longer match.
 */
function keepMembers(code, keep) {
  const out = [];
  let inClass = false;
  let skipping = false;
  let inDoc = false;
  for (const line of code.split('\n')) {
    if (line.startsWith('//# sourceMappingURL=')) continue;
    if (!inClass) {
      out.push(line);
      inClass = /^export class \w+ .*\{$/.test(line);
      continue;
    }
    if (line === '}') {
      inClass = false;
      out.push(line);
    } else if (skipping) {
      skipping = line !== '    }';
    } else if (inDoc || line === '    /**') {
      inDoc = !/^\s*\*\/$/.test(line);
    } else {
      const member = /^ {4}(?:async )?(\w+)\(.*\{$/.exec(line);
      const operation = member?.[1].replace(/WithHttpInfo$/, '');
      if (operation !== undefined && operation !== 'constructor' && !keep.has(operation)) skipping = true;
      else out.push(line);
    }
  }
  return out.join('\n');
}

module.exports = { kubeApiMembers, keepMembers };
