import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { startTestBed, type TestBedInfo } from './testbed.js';

declare module 'vitest' {
  export interface ProvidedContext {
    testbed: TestBedInfo;
  }
}

/**
 * One real control plane and one moto for the integration and reliability suites. If a part cannot
 * be built or started, this throws with its name and log, and the run fails: never a silent skip.
 */
export default async function setup(project: TestProject) {
  const started = Date.now();
  const bed = await startTestBed({ log: (line) => console.log(`[testbed] ${line}`) });
  console.log(`[testbed] ready in ${Date.now() - started} ms`);
  project.provide('testbed', bed.info);
  return async () => {
    await bed.stop();
  };
}
