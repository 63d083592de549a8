import type { AdminClients } from '../test/bed/kube.js';
import type { TestBed } from '../test/bed/testbed.js';
import type { AuditLog } from './audit.js';
import type { Kubectl } from './kubectl.js';

/** One line of the results table. Values are already formatted; `met` is empty where no target is set. */
export interface ResultRow {
  scenario: string;
  ours: string;
  kubectl: string;
  ratio: string;
  target: string;
  met: 'yes' | 'no' | '';
}

/** What a scenario hands back: its table rows and a Markdown section that explains them. */
export interface ScenarioReport {
  rows: ResultRow[];
  details: string[];
}

/** What every scenario gets. */
export interface RunContext {
  /** Smoke run: one or two repetitions, small sizes. */
  quick: boolean;
  /** Nodes interrupted at once in the burst scenario (`--nodes`, default 100). */
  burstNodes: number;
  /** Scratch space, removed at the end. */
  tmpDir: string;
  log(line: string): void;
}

/** What scenarios on the test bed get; the run owns the test bed and stops it. */
export interface BenchContext extends RunContext {
  bed: TestBed;
  admin: AdminClients;
  audit: AuditLog;
  kubectl: Kubectl;
  /** The API server's name for the drainer identity (ours and kubectl both drain as it). */
  drainerUser: string;
}

/** A scenario on the test bed. */
export interface Scenario {
  name: string;
  title: string;
  needsTestBed: true;
  run(context: BenchContext): Promise<ScenarioReport>;
}

/** A scenario that needs no cluster; it runs before the test bed starts, on a quiet machine. */
export interface StandaloneScenario {
  name: string;
  title: string;
  needsTestBed: false;
  run(context: RunContext): Promise<ScenarioReport>;
}

/** A table row with the verdict filled in from a comparison. */
export function row(
  scenario: string,
  values: { ours: string; kubectl?: string; ratio?: string; target?: string; met?: boolean },
): ResultRow {
  return {
    scenario,
    ours: values.ours,
    kubectl: values.kubectl ?? '—',
    ratio: values.ratio ?? '—',
    target: values.target ?? '—',
    met: values.met === undefined ? '' : values.met ? 'yes' : 'no',
  };
}
