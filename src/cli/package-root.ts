import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder that holds package.json and deploy/: two levels above src/cli/ in a checkout, one
 * above dist/ in the bundle. Found by walking up, so both layouts work.
 */
export function packageRoot(from: string = fileURLToPath(import.meta.url)): string {
  let dir = dirname(from);
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'deploy', 'rbac.yaml'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`eks-spot-drainer: cannot find the package folder above ${from}`);
    dir = parent;
  }
}

/** The package's version, for --version. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: string };
  return pkg.version ?? '0.0.0';
}
